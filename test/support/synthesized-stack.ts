/**
 * The synthesized DataExport stack for the infra tests (test/infra/*), built by the same
 * `buildDataExportApp` as bin/app.ts with cdk.json's context and the cdk-nag AwsSolutions plugin.
 * Each test file calls {@link synthesizeOnce} at its top: the stack is synthesized once per file, and
 * the bindings below (`stack`, `template`, `id`) are set before its tests run.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import { buildDataExportApp } from '../../lib/data-export-app';
import { DataExportStack } from '../../lib/data-export-stack';

export const ROOT = path.join(__dirname, '..', '..');
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'),
).context;

export const STAGE = 'test';
export const ISSUER = 'https://issuer.test/';
export const AUDIENCE = 'data-export-api-test';
export const SENDER = 'alerts@exports.test.example';
export const DASHBOARD = 'https://dashboard.test.example';
/** The required props of the stack, as the test context gives them. */
export const STACK_PROPS = {
  stage: STAGE,
  jwtIssuer: ISSUER,
  jwtAudience: AUDIENCE,
  senderEmail: SENDER,
  dashboardUrl: DASHBOARD,
};

export type Resource = {
  Type: string;
  Properties: Record<string, any>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};
export type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

export const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

export let stack: DataExportStack;
export let template: Template;

/** The logical id of a construct's resource as synthesized (overrides included). */
export const id = (construct: IConstruct): string =>
  stack.resolve(((construct.node.defaultChild ?? construct) as CfnElement).logicalId) as string;

/**
 * Synthesizes the stack before the file's tests (and removes the output after). `bundle`: esbuild
 * bundles each function, as `cdk synth` does; without it the template is the same but for the assets.
 * Either way the cdk-nag plugin runs: synthesis throws (with the findings in the message) if a finding
 * is not acknowledged.
 */
export function synthesizeOnce(options: { bundle?: boolean } = {}): void {
  let outdir: string | undefined;
  beforeAll(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-export-infra-'));
    const app = new App({
      outdir,
      // The built-in CloudFormation validation is slow and not what these tests check.
      builtinCloudFormationValidation: false,
      context: { ...CDK_JSON_CONTEXT, ...STACK_PROPS, ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
    });
    stack = buildDataExportApp(app, { nag: true });
    template = Template.fromStack(stack);
  });
  afterAll(() => {
    if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
  });
}

export function resourcesOfType(type: string): Record<string, Resource> {
  return template.findResources(type) as Record<string, Resource>;
}

/** Every IAM statement of the policies attached to the role with logical id `roleId` (all roles if omitted). */
export function statements(roleId?: string): Statement[] {
  return Object.values(resourcesOfType('AWS::IAM::Policy'))
    .filter((p) => roleId === undefined || JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** CDK's own handler that copies the dashboard bundle into its bucket (its code and policy are CDK's). */
export const dashboardDeploymentRoleId = () => id(stack.dashboard.deployment!.handlerRole);
export const dashboardDeploymentFunctionId = () => id(stack.dashboard.deployment!.handlerRole.node.scope as IConstruct);

/** Every IAM statement of the service's own roles (all but the dashboard deployment handler's). */
export function serviceRoleStatements(): Statement[] {
  return Object.values(resourcesOfType('AWS::IAM::Policy'))
    .filter((p) => !JSON.stringify(p.Properties.Roles).includes(`"${dashboardDeploymentRoleId()}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** The statements of the bucket policy attached to the bucket with logical id `bucketId`. */
export function bucketPolicy(bucketId: string): (Statement & { Principal?: unknown; Condition?: unknown })[] {
  const policies = Object.values(resourcesOfType('AWS::S3::BucketPolicy')).filter(
    (p) => p.Properties.Bucket.Ref === bucketId,
  );
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement;
}

/** Every IAM statement of the role with logical id `roleId` that allows at least one action of `service` (e.g. `s3`). */
export function serviceStatements(roleId: string, service: string): Statement[] {
  return statements(roleId).filter(
    (s) => s.Effect === 'Allow' && asArray(s.Action).some((a) => a.startsWith(`${service}:`)),
  );
}

/** `arn:<partition>:<service>:<region>:<account>:<resource>`, as synthesized by `Stack.formatArn`. */
export const regionalArn = (service: string, resource: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      `:${service}:`,
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:${resource}`,
    ],
  ],
});

/** The ARN pattern of the schedules in the export schedule group. */
export const schedulesArn = () => regionalArn('scheduler', `schedule/${stack.scheduleGroup.scheduleGroupName}/*`);

/** The ARN of the exports bucket's objects under `manual/`, as synthesized. */
export const manualObjectsArn = () => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.exportsBucket), 'Arn'] }, '/manual/*']],
});

/** The ARN of the raw-data bucket's objects under `pattern`, as synthesized. */
export const rawObjectsArn = (pattern: string) => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.rawEventLog.bucket), 'Arn'] }, `/${pattern}`]],
});

/** Logical ids of the tables a role may call `action` on. */
export function tablesAllowed(roleId: string, action: string): string[] {
  const tableIds = [id(stack.configTable), id(stack.usageTable)];
  const granted = statements(roleId).filter((s) => s.Effect === 'Allow' && asArray(s.Action).includes(action));
  return tableIds.filter((t) => granted.some((s) => JSON.stringify(s.Resource).includes(`"${t}"`))).sort();
}
