/**
 * The environment variables the synthesized CDK template gives each Lambda function, with
 * CloudFormation references replaced by stand-in values (a `Ref` becomes the logical id, an ARN an ARN
 * naming it), so a handler can be loaded in a test exactly as configured on AWS. The functions are not
 * bundled: only their configuration is read.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildDataExportApp } from '../../lib/data-export-app';
import type { DataExportStack } from '../../lib/data-export-stack';

export const TEST_REGION = 'us-east-1';
export const TEST_ACCOUNT = '123456789012';
export const TEST_CONTEXT = {
  stage: 'test',
  jwtIssuer: 'https://issuer.test/',
  jwtAudience: 'data-export-api-test',
  senderEmail: 'alerts@exports.test.example',
  dashboardUrl: 'https://dashboard.test.example',
};

export type FunctionName = 'api' | 'ingest' | 'runExport' | 'checkFailures';
export type FunctionEnvironments = Record<FunctionName, Record<string, string>>;

/** A CloudFormation value of an environment variable, resolved to a stand-in string; `roles`: the IAM roles' logical ids. */
function resolve(value: unknown, roles: ReadonlySet<string> = new Set()): string {
  if (typeof value === 'string') return value;
  const intrinsic = value as Record<string, unknown>;
  if ('Ref' in intrinsic) {
    const ref = intrinsic.Ref as string;
    return (
      {
        'AWS::Region': TEST_REGION,
        'AWS::AccountId': TEST_ACCOUNT,
        'AWS::Partition': 'aws',
        'AWS::URLSuffix': 'amazonaws.com',
      }[ref] ?? ref
    );
  }
  if ('Fn::GetAtt' in intrinsic) {
    const [logicalId, attribute] = intrinsic['Fn::GetAtt'] as [string, string];
    if (attribute === 'Arn' && roles.has(logicalId)) return `arn:aws:iam::${TEST_ACCOUNT}:role/${logicalId}`;
    return attribute === 'Arn'
      ? `arn:aws:test:${TEST_REGION}:${TEST_ACCOUNT}:${logicalId}`
      : `${logicalId}.${attribute}`;
  }
  if ('Fn::Join' in intrinsic) {
    const [separator, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolve(part, roles)).join(separator);
  }
  throw new Error(`Unexpected CloudFormation value in a function environment: ${JSON.stringify(value)}`);
}

/** Synthesizes the stack (without bundling) and reads each function's environment from the template. */
export function synthesizeFunctionEnvironments(): FunctionEnvironments {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const previousValidation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  try {
    const app = new App({
      outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'function-environments-')),
      builtinCloudFormationValidation: false,
      // No stack is bundled: the functions' code is not what is read here.
      context: { ...cdkJson.context, ...TEST_CONTEXT, 'aws:cdk:bundling-stacks': [] },
    });
    const stack: DataExportStack = buildDataExportApp(app);
    const template = Template.fromStack(stack);
    const functions = template.findResources('AWS::Lambda::Function');
    const roles = new Set(Object.keys(template.findResources('AWS::IAM::Role')));
    const environmentOf = (fn: { node: { defaultChild?: unknown } }): Record<string, string> => {
      const logicalId = stack.resolve((fn.node.defaultChild as CfnElement).logicalId) as string;
      const variables = (functions[logicalId]?.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, resolve(value, roles)]));
    };
    fs.rmSync(app.outdir, { recursive: true, force: true });
    return {
      api: environmentOf(stack.apiFunction),
      ingest: environmentOf(stack.ingestFunction),
      runExport: environmentOf(stack.runExportFunction),
      checkFailures: environmentOf(stack.checkFailuresFunction),
    };
  } finally {
    if (previousValidation === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = previousValidation;
  }
}
