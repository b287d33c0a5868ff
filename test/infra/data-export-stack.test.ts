/**
 * Infra tests: the synthesized DataExport stack (aws-cdk-lib/assertions) and the cdk-nag AwsSolutions
 * checks. The app is built by the same `buildDataExportApp` as bin/app.ts, with cdk.json's context,
 * and synthesized once (esbuild bundles each function during construction).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnElement, Duration, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { readDataExportConfig } from '../../lib/config';
import { buildDataExportApp } from '../../lib/data-export-app';
import { ServiceFunction } from '../../lib/constructs/service-function';
import { DataExportStack } from '../../lib/data-export-stack';
import {
  EXPORT_RUNS,
  EXPORTS_FAILING_TRANSIENTLY,
  FAILED_EXPORT_RUNS,
  INTERNAL_EXPORT_FAILURES,
} from '../../lambdas/adapters/metrics/operator-metrics';

const ROOT = path.join(__dirname, '..', '..');
const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'),
).context;

const STAGE = 'test';
const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'data-export-api-test';
const SENDER = 'alerts@exports.test.example';
const DASHBOARD = 'https://dashboard.test.example';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

let outdir: string;
let stack: DataExportStack;
let template: Template;
let id: (construct: IConstruct) => string;

beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-export-infra-'));
  const app = new App({
    outdir,
    // The built-in CloudFormation validation is slow and not what these tests check.
    builtinCloudFormationValidation: false,
    context: {
      ...CDK_JSON_CONTEXT,
      stage: STAGE,
      jwtIssuer: ISSUER,
      jwtAudience: AUDIENCE,
      senderEmail: SENDER,
      dashboardUrl: DASHBOARD,
    },
  });
  // nag: true registers the AwsSolutions plugin exactly as `cdk synth -c nag=true`: synthesis throws
  // (with the findings in the message) if a finding is not acknowledged.
  stack = buildDataExportApp(app, { nag: true });
  template = Template.fromStack(stack);
  id = (construct) => stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
});

afterAll(() => {
  if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
});

function resourcesOfType(type: string): Record<string, Resource> {
  return template.findResources(type) as Record<string, Resource>;
}

/** Every IAM statement of the policies attached to the role with logical id `roleId` (all roles if omitted). */
function statements(roleId?: string): Statement[] {
  return Object.values(resourcesOfType('AWS::IAM::Policy'))
    .filter((p) => roleId === undefined || JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** CDK's own handler that copies the dashboard bundle into its bucket (its code and policy are CDK's). */
const dashboardDeploymentRoleId = () => id(stack.dashboard.deployment!.handlerRole);
const dashboardDeploymentFunctionId = () => id(stack.dashboard.deployment!.handlerRole.node.scope as IConstruct);

/** Every IAM statement of the service's own roles (all but the dashboard deployment handler's). */
function serviceRoleStatements(): Statement[] {
  return Object.values(resourcesOfType('AWS::IAM::Policy'))
    .filter((p) => !JSON.stringify(p.Properties.Roles).includes(`"${dashboardDeploymentRoleId()}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** The statements of the bucket policy attached to the bucket with logical id `bucketId`. */
function bucketPolicy(bucketId: string): (Statement & { Principal?: unknown; Condition?: unknown })[] {
  const policies = Object.values(resourcesOfType('AWS::S3::BucketPolicy')).filter((p) => p.Properties.Bucket.Ref === bucketId);
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement;
}

/** Every IAM statement of the role with logical id `roleId` that allows at least one action of `service` (e.g. `s3`). */
function serviceStatements(roleId: string, service: string): Statement[] {
  return statements(roleId).filter((s) => s.Effect === 'Allow' && asArray(s.Action).some((a) => a.startsWith(`${service}:`)));
}

/** `arn:<partition>:<service>:<region>:<account>:<resource>`, as synthesized by `Stack.formatArn`. */
const regionalArn = (service: string, resource: string) => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${resource}`],
  ],
});

/** The ARN pattern of the schedules in the export schedule group. */
const schedulesArn = () => regionalArn('scheduler', `schedule/${stack.scheduleGroup.scheduleGroupName}/*`);

/** The ARN of the exports bucket's objects under `manual/`, as synthesized. */
/** s3:ListBucket on the raw-data bucket, limited to keys under raw/. */
const rawPrefixListing = () => ({
  Effect: 'Allow',
  Action: 's3:ListBucket',
  Resource: { 'Fn::GetAtt': [id(stack.rawEventLog.bucket), 'Arn'] },
  Condition: { StringLike: { 's3:prefix': ['raw/*'] } },
});

const manualObjectsArn = () => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.exportsBucket), 'Arn'] }, '/manual/*']],
});

/** The ARN of the raw-data bucket's objects under `pattern`, as synthesized. */
const rawObjectsArn = (pattern: string) => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.rawEventLog.bucket), 'Arn'] }, `/${pattern}`]],
});

/** Logical ids of the tables a role may call `action` on. */
function tablesAllowed(roleId: string, action: string): string[] {
  const tableIds = [id(stack.configTable), id(stack.usageTable)];
  const granted = statements(roleId).filter((s) => s.Effect === 'Allow' && asArray(s.Action).includes(action));
  return tableIds.filter((t) => granted.some((s) => JSON.stringify(s.Resource).includes(`"${t}"`))).sort();
}

describe('DynamoDB tables', () => {
  it.each([
    ['ConfigTable', () => stack.configTable],
    ['UsageTable', () => stack.usageTable],
    ['ProfilesTable', () => stack.profilesTable],
  ])('%s: pk/sk strings, on-demand, PITR, AWS-managed encryption, retained, no physical name', (_name, table) => {
    const resource = resourcesOfType('AWS::DynamoDB::Table')[id(table())];
    expect(resource).toBeDefined();
    expect(resource.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: expect.arrayContaining([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(resource.Properties.SSESpecification.SSEType).toBeUndefined(); // AWS-managed, no customer key
    expect(resource.Properties.TableName).toBeUndefined();
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.UpdateReplacePolicy).toBe('Retain');
  });

  it('ConfigTable expires finished manual export jobs by TTL on expiresAt; UsageTable has no TTL', () => {
    const tables = resourcesOfType('AWS::DynamoDB::Table');
    expect(tables[id(stack.configTable)].Properties.TimeToLiveSpecification).toEqual({
      AttributeName: 'expiresAt',
      Enabled: true,
    });
    expect(tables[id(stack.usageTable)].Properties.TimeToLiveSpecification).toBeUndefined();
  });

  it('are exactly the three tables', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 3);
  });

  it('ProfilesTable: GSI "updated" on pk (S) / updatedAt (N), all attributes projected', () => {
    const resource = resourcesOfType('AWS::DynamoDB::Table')[id(stack.profilesTable)];
    expect(resource.Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'updated',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'updatedAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(resource.Properties.AttributeDefinitions).toContainEqual({ AttributeName: 'updatedAt', AttributeType: 'N' });
  });

  it('ingest Lambda: only UpdateItem on the profiles table, named in PROFILES_TABLE; no other function touches it', () => {
    const profilesArn = { 'Fn::GetAtt': [id(stack.profilesTable), 'Arn'] };
    const touching = (fn: typeof stack.apiFunction) =>
      statements(id(fn.role!)).filter((s) => JSON.stringify(s.Resource).includes(`"${id(stack.profilesTable)}"`));
    expect(touching(stack.ingestFunction)).toEqual([{ Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: profilesArn }]);
    for (const fn of [stack.apiFunction, stack.runExportFunction, stack.checkFailuresFunction]) expect(touching(fn)).toEqual([]);
    const variables = resourcesOfType('AWS::Lambda::Function')[id(stack.ingestFunction)].Properties.Environment.Variables;
    expect(variables.PROFILES_TABLE).toEqual({ Ref: id(stack.profilesTable) });
  });
});

describe('Lambda functions', () => {
  it.each([
    ['ApiFunction', () => stack.apiFunction],
    ['IngestFunction', () => stack.ingestFunction],
  ])('%s: nodejs22.x on arm64, active tracing, own log group, service environment', (_name, fn) => {
    const resource = resourcesOfType('AWS::Lambda::Function')[id(fn())];
    expect(resource).toBeDefined();
    expect(resource.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      MemorySize: 512,
      Timeout: 29,
      LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      Environment: {
        Variables: {
          CONFIG_TABLE: { Ref: id(stack.configTable) },
          USAGE_TABLE: { Ref: id(stack.usageTable) },
          STAGE: STAGE,
          LOG_LEVEL: 'INFO',
          POWERTOOLS_SERVICE_NAME: 'data-export',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
    const logGroupId = resource.Properties.LoggingConfig.LogGroup.Ref;
    expect(resourcesOfType('AWS::Logs::LogGroup')[logGroupId]?.Properties.RetentionInDays).toBe(30);
  });

  it("every function runs nodejs22.x on arm64 (but CDK's dashboard deployment handler)", () => {
    const functions = Object.entries(resourcesOfType('AWS::Lambda::Function'))
      .filter(([logicalId]) => logicalId !== dashboardDeploymentFunctionId())
      .map(([, fn]) => fn);
    expect(functions.length).toBeGreaterThanOrEqual(3);
    for (const fn of functions) expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
  });

  it('management Lambda: exports bucket, run-export function name and download link lifetime in its environment', () => {
    const variables = resourcesOfType('AWS::Lambda::Function')[id(stack.apiFunction)].Properties.Environment.Variables;
    expect(variables).toMatchObject({
      EXPORTS_BUCKET: { Ref: id(stack.exportsBucket) },
      EXPORT_FUNCTION_NAME: { Ref: id(stack.runExportFunction) },
      DOWNLOAD_LINK_SECONDS: '3600',
      INGEST_KEY_GRACE_SECONDS: '86400',
    });
  });

  it('ingest Lambda: nothing about exports in its environment', () => {
    const variables = resourcesOfType('AWS::Lambda::Function')[id(stack.ingestFunction)].Properties.Environment.Variables;
    expect(Object.keys(variables).filter((k) => /EXPORT|DOWNLOAD/.test(k))).toEqual([]);
  });

  it('every log group has a retention', () => {
    const logGroups = Object.values(resourcesOfType('AWS::Logs::LogGroup'));
    expect(logGroups.length).toBeGreaterThanOrEqual(3); // one per function + API access logs
    for (const lg of logGroups) expect(lg.Properties.RetentionInDays).toBe(30);
  });

  it('roles use no managed policies (no AWSLambdaBasicExecutionRole): logs only to the own log group', () => {
    for (const fn of [stack.apiFunction, stack.ingestFunction, stack.runExportFunction, stack.checkFailuresFunction]) {
      const roleId = id(fn.role!);
      expect(resourcesOfType('AWS::IAM::Role')[roleId].Properties.ManagedPolicyArns).toBeUndefined();
      const logStatements = statements(roleId).filter((s) => asArray(s.Action).some((a) => a.startsWith('logs:')));
      expect(logStatements).toHaveLength(1);
      expect(logStatements[0].Resource).toEqual({ 'Fn::GetAtt': [id(fn.logGroup), 'Arn'] });
    }
  });
});

describe('exports bucket', () => {
  const bucket = () => resourcesOfType('AWS::S3::Bucket')[id(stack.exportsBucket)];
  const accessLogs = () => resourcesOfType('AWS::S3::Bucket')[id(stack.accessLogsBucket)];
  const denyInsecureTransport = (bucketId: string) => ({
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: 's3:*',
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    Resource: [
      { 'Fn::GetAtt': [bucketId, 'Arn'] },
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] },
    ],
  });

  it.each([
    ['ExportsBucket', () => bucket()],
    ['AccessLogsBucket', () => accessLogs()],
  ])('%s: all public access blocked, SSE-S3, ACLs disabled, unversioned, retained, no physical name', (_name, resource) => {
    expect(resource()).toBeDefined();
    expect(resource().Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(resource().Properties.BucketName).toBeUndefined();
    expect(resource().Properties.AccessControl).toBeUndefined();
    expect(resource().Properties.VersioningConfiguration?.Status).not.toBe('Enabled');
    expect(resource().DeletionPolicy).toBe('Retain');
    expect(resource().UpdateReplacePolicy).toBe('Retain');
  });

  it.each([
    ['ExportsBucket', () => id(stack.exportsBucket)],
    ['AccessLogsBucket', () => id(stack.accessLogsBucket)],
  ])('%s: the bucket policy denies every request without TLS (enforceSSL)', (_name, bucketId) => {
    expect(bucketPolicy(bucketId())).toContainEqual(denyInsecureTransport(bucketId()));
  });

  it('expires manual export files after 7 days and aborts incomplete multipart uploads after 1 day', () => {
    const rules: Record<string, unknown>[] = bucket().Properties.LifecycleConfiguration.Rules;
    expect(rules).toHaveLength(2);
    expect(rules).toContainEqual({ Id: 'ExpireManualExports', Status: 'Enabled', Prefix: 'manual/', ExpirationInDays: 7 });
    // The whole bucket: whatever prefix a failed upload had.
    expect(rules).toContainEqual({
      Id: 'AbortIncompleteMultipartUploads',
      Status: 'Enabled',
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    });
  });

  it('nothing but the manual/ files expire (the expiration rule is scoped to the prefix)', () => {
    const rules: Record<string, any>[] = bucket().Properties.LifecycleConfiguration.Rules;
    for (const rule of rules.filter((r) => r.ExpirationInDays !== undefined)) expect(rule.Prefix).toBe('manual/');
  });

  it('server access logs go to the access logs bucket, delivered under a bucket policy (no ACL)', () => {
    expect(bucket().Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: id(stack.accessLogsBucket) },
      LogFilePrefix: 'exports-bucket/',
    });
    const delivery = bucketPolicy(id(stack.accessLogsBucket)).filter((s) => s.Effect === 'Allow');
    // Each logged bucket (exports, raw events, dashboard) delivers under its own prefix, from its own ARN only.
    expect(delivery).toEqual(
      [
        [stack.exportsBucket, 'exports-bucket'],
        [stack.rawEventLog.bucket, 'raw-events-bucket'],
        [stack.dashboard.bucket, 'dashboard-bucket'],
      ].map(([source, prefix]) => ({
        Effect: 'Allow',
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.accessLogsBucket), 'Arn'] }, `/${prefix}/*`]] },
        Condition: {
          ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [id(source as typeof stack.exportsBucket), 'Arn'] } },
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        },
      })),
    );
  });

  it('access logs expire after 90 days', () => {
    expect(accessLogs().Properties.LifecycleConfiguration.Rules).toContainEqual({
      Id: 'ExpireAccessLogs',
      Status: 'Enabled',
      ExpirationInDays: 90,
    });
  });

  it('the exports bucket policy allows nothing: access only through the functions\' IAM roles', () => {
    expect(bucketPolicy(id(stack.exportsBucket)).filter((s) => s.Effect === 'Allow')).toEqual([]);
  });

  it('are exactly the four buckets (exports, access logs, raw events, dashboard)', () => {
    template.resourceCountIs('AWS::S3::Bucket', 4);
  });
});

describe('dashboard (S3 + CloudFront)', () => {
  const site = () => resourcesOfType('AWS::S3::Bucket')[id(stack.dashboard.bucket)];
  const distribution = () => resourcesOfType('AWS::CloudFront::Distribution')[id(stack.dashboard.distribution)].Properties.DistributionConfig;
  const siteUrl = () => ({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [id(stack.dashboard.distribution), 'DomainName'] }]] });

  it('a private bucket: all public access blocked, SSE-S3, ACLs disabled, TLS only, server access logs', () => {
    expect(site().Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LoggingConfiguration: { DestinationBucketName: { Ref: id(stack.accessLogsBucket) }, LogFilePrefix: 'dashboard-bucket/' },
    });
    expect(site().Properties.BucketName).toBeUndefined();
    const deny = bucketPolicy(id(stack.dashboard.bucket)).find((s) => s.Effect === 'Deny');
    expect(deny).toMatchObject({ Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
  });

  it('only this distribution may read it, through origin access control (no OAI, no website endpoint)', () => {
    const allows = bucketPolicy(id(stack.dashboard.bucket)).filter((s) => s.Effect === 'Allow');
    expect(allows).toEqual([
      expect.objectContaining({
        Action: 's3:GetObject',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Condition: { StringEquals: { 'AWS:SourceArn': expect.objectContaining({ 'Fn::Join': ['', expect.arrayContaining([{ Ref: id(stack.dashboard.distribution) }])] }) } },
      }),
    ]);
    const [origin] = distribution().Origins;
    expect(origin.OriginAccessControlId).toBeDefined();
    expect(origin.S3OriginConfig.OriginAccessIdentity).toBe('');
    expect(site().Properties.WebsiteConfiguration).toBeUndefined();
  });

  it('HTTPS only, security headers, page paths answered by index.html', () => {
    const config = distribution();
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(config.DefaultCacheBehavior.AllowedMethods).toEqual(['GET', 'HEAD']);
    expect(config.CustomErrorResponses.map((r: any) => [r.ErrorCode, r.ResponseCode, r.ResponsePagePath])).toEqual([
      [403, 200, '/index.html'],
      [404, 200, '/index.html'],
    ]);
    const [policy] = Object.values(resourcesOfType('AWS::CloudFront::ResponseHeadersPolicy'));
    expect(config.DefaultCacheBehavior.ResponseHeadersPolicyId).toEqual({ Ref: Object.keys(resourcesOfType('AWS::CloudFront::ResponseHeadersPolicy'))[0] });
    const headers = policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    expect(headers.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 31536000, Override: true });
    expect(headers.FrameOptions.FrameOption).toBe('DENY');
    expect(headers.ContentTypeOptions.Override).toBe(true);
    expect(headers.ReferrerPolicy.ReferrerPolicy).toBe('no-referrer');
    expect(JSON.stringify(headers.ContentSecurityPolicy.ContentSecurityPolicy)).toContain("default-src 'self'");
  });

  it('deploys the built bundle with config.json naming the API, and invalidates the page', () => {
    const [deployment] = Object.values(resourcesOfType('Custom::CDKBucketDeployment'));
    expect(deployment.Properties.DestinationBucketName).toEqual({ Ref: id(stack.dashboard.bucket) });
    expect(deployment.Properties.SourceObjectKeys).toHaveLength(2); // the bundle, config.json
    expect(deployment.Properties.SourceMarkers[1]).toEqual({ '<<marker:0xbaba:0>>': { 'Fn::GetAtt': [id(stack.httpApi), 'ApiEndpoint'] } });
    expect(deployment.Properties.DistributionId).toEqual({ Ref: id(stack.dashboard.distribution) });
    expect(deployment.Properties.DistributionPaths).toContain('/config.json');
  });

  it("the API's CORS configuration allows the dashboard's origin, with the headers it sends and reads", () => {
    const [api] = Object.values(resourcesOfType('AWS::ApiGatewayV2::Api'));
    expect(api.Properties.CorsConfiguration).toMatchObject({
      AllowOrigins: [siteUrl()],
      AllowHeaders: ['authorization', 'content-type'],
      ExposeHeaders: ['location', 'retry-after'],
    });
  });

  it("CDK's deployment handler may touch only the asset bucket, the site bucket and invalidations", () => {
    const handlerStatements = statements(dashboardDeploymentRoleId());
    const resources = handlerStatements.flatMap((s) => asArray(s.Resource as unknown)).map((r) => JSON.stringify(r));
    for (const resource of resources) {
      expect(resource === '"*"' || resource.includes('cdk-hnb659fds-assets') || resource.includes(id(stack.dashboard.bucket))).toBe(true);
    }
    const anyResource = handlerStatements.filter((s) => asArray(s.Resource as unknown).includes('*'));
    expect(anyResource.flatMap((s) => asArray(s.Action)).sort()).toEqual(['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation']);
  });
});

describe('run-export function', () => {
  const fn = () => resourcesOfType('AWS::Lambda::Function')[id(stack.runExportFunction)];

  it('nodejs22.x on arm64, 1769 MB (one vCPU), 15 minutes, active tracing, own log group', () => {
    expect(fn()).toBeDefined();
    expect(fn().Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 1769,
      Timeout: 900,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: { Ref: id(stack.runExportFunction.logGroup) } },
    });
  });

  it('environment: the tables, the exports bucket, the raw-data bucket and the secrets key; no physical name (it dispatches to itself by AWS_LAMBDA_FUNCTION_NAME)', () => {
    expect(fn().Properties.FunctionName).toBeUndefined();
    expect(fn().Properties.Environment.Variables).toEqual({
      RAW_EVENTS_BUCKET: { Ref: id(stack.rawEventLog.bucket) },
      CONFIG_TABLE: { Ref: id(stack.configTable) },
      USAGE_TABLE: { Ref: id(stack.usageTable) },
      POWERTOOLS_METRICS_NAMESPACE: `DataExport/${STAGE}`,
      EXPORTS_BUCKET: { Ref: id(stack.exportsBucket) },
      SECRETS_KEY_ID: { 'Fn::GetAtt': [id(stack.destinationSecretsKey), 'Arn'] },
      EXPORT_ROLE_ARN: { 'Fn::GetAtt': [id(stack.exportRole), 'Arn'] },
      STAGE: STAGE,
      LOG_LEVEL: 'INFO',
      POWERTOOLS_SERVICE_NAME: 'data-export',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('reserved concurrency 20: exports cannot starve the API and ingest functions', () => {
    expect(fn().Properties.ReservedConcurrentExecutions).toBe(20);
  });

  it('asynchronous invocations: 2 retries, dropped after 1 hour', () => {
    const configs = Object.values(resourcesOfType('AWS::Lambda::EventInvokeConfig')).filter(
      (c) => c.Properties.FunctionName.Ref === id(stack.runExportFunction),
    );
    expect(configs).toHaveLength(1);
    expect(configs[0].Properties).toEqual({
      FunctionName: { Ref: id(stack.runExportFunction) },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
    });
  });

  it('events that still fail go to an encrypted, TLS-only dead-letter queue', () => {
    const queueId = id(stack.runExportDeadLetterQueue);
    expect(fn().Properties.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
    const queue = resourcesOfType('AWS::SQS::Queue')[queueId];
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const policies = Object.values(resourcesOfType('AWS::SQS::QueuePolicy')).filter((p) =>
      JSON.stringify(p.Properties.Queues).includes(`"${queueId}"`),
    );
    expect(policies).toHaveLength(1);
    expect(policies[0].Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    // Only the function's role may send to it.
    expect(serviceStatements(id(stack.runExportFunction.role!), 'sqs')).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    ]);
  });
});

describe('destination secrets key', () => {
  const keyArn = () => ({ 'Fn::GetAtt': [id(stack.destinationSecretsKey), 'Arn'] });
  const sealedOnly = { StringEquals: { 'kms:EncryptionContext:purpose': 'destination-secret' } };

  it('one customer-managed key with rotation, retained, no alias (besides the operator alarm topic\'s key)', () => {
    const keys = resourcesOfType('AWS::KMS::Key');
    expect(Object.keys(keys).sort()).toEqual([id(stack.destinationSecretsKey), id(stack.operatorAlarms.topicKey)].sort());
    const key = keys[id(stack.destinationSecretsKey)];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.UpdateReplacePolicy).toBe('Retain');
    template.resourceCountIs('AWS::KMS::Alias', 0);
  });

  it('the key policy only delegates to IAM in this account (no service or other-account principal)', () => {
    const statementsOfKey = resourcesOfType('AWS::KMS::Key')[id(stack.destinationSecretsKey)].Properties.KeyPolicy.Statement;
    expect(statementsOfKey.map((s: any) => s.Principal)).toEqual([
      { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
    ]);
  });

  it('management API: encrypts (seals on save) and decrypts, only under the destination secrets context', () => {
    expect(serviceStatements(id(stack.apiFunction.role!), 'kms')).toEqual([
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt'], Resource: keyArn(), Condition: sealedOnly },
    ]);
  });

  it('run-export: only decrypts, only under the destination secrets context', () => {
    expect(serviceStatements(id(stack.runExportFunction.role!), 'kms')).toEqual([
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn(), Condition: sealedOnly },
    ]);
  });

  it('ingest, check-failures and the schedules\' role have no key access', () => {
    expect(serviceStatements(id(stack.ingestFunction.role!), 'kms')).toEqual([]);
    expect(serviceStatements(id(stack.checkFailuresFunction.role!), 'kms')).toEqual([]);
    expect(serviceStatements(id(stack.schedulerRole), 'kms')).toEqual([]);
  });

  it('SECRETS_KEY_ID (the key ARN) is given to the management API and run-export only', () => {
    const functions = resourcesOfType('AWS::Lambda::Function');
    for (const fn of [stack.apiFunction, stack.runExportFunction]) {
      expect(functions[id(fn)].Properties.Environment.Variables.SECRETS_KEY_ID).toEqual(keyArn());
    }
    for (const fn of [stack.ingestFunction, stack.checkFailuresFunction]) {
      expect(functions[id(fn)].Properties.Environment.Variables.SECRETS_KEY_ID).toBeUndefined();
    }
  });
});

describe('automatic export schedules', () => {
  const scheduleVariables = () => ({
    SCHEDULE_GROUP_NAME: stack.scheduleGroup.scheduleGroupName,
    SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': [id(stack.schedulerRole), 'Arn'] },
    RUN_EXPORT_FUNCTION_ARN: { 'Fn::GetAtt': [id(stack.runExportFunction), 'Arn'] },
    SCHEDULE_DLQ_ARN: { 'Fn::GetAtt': [id(stack.scheduleDeadLetterQueue), 'Arn'] },
    // Runs spread over the hour after 00:00 UTC; the snapshot still comes from the scheduled time.
    SCHEDULE_FLEXIBLE_WINDOW_MINUTES: '60',
  });

  it('one schedule group, its name derived from the stack name (not hard-coded), deleted with the stack', () => {
    const groups = resourcesOfType('AWS::Scheduler::ScheduleGroup');
    expect(Object.keys(groups)).toEqual([id(stack.scheduleGroup)]);
    const name: string = groups[id(stack.scheduleGroup)].Properties.Name;
    expect(name).toBe(stack.scheduleGroup.scheduleGroupName);
    expect(name).toMatch(new RegExp(`^${stack.stackName.replace(/-/g, '')}-ExportSchedules-[A-F0-9]{8}$`));
    expect(name.length).toBeLessThanOrEqual(64);
    expect(groups[id(stack.scheduleGroup)].DeletionPolicy).toBe('Delete');
  });

  it('no schedule in the template: the API creates one per environment at run time', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
  });

  it('execution role: assumable only by EventBridge Scheduler for the export schedule group of this account', () => {
    const role = resourcesOfType('AWS::IAM::Role')[id(stack.schedulerRole)];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: {
            'aws:SourceAccount': { Ref: 'AWS::AccountId' },
            'aws:SourceArn': { 'Fn::GetAtt': [id(stack.scheduleGroup), 'Arn'] },
          },
        },
      },
    ]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
  });

  it('execution role: only invokes run-export (unqualified) and sends to the schedules\' dead-letter queue', () => {
    expect(statements(id(stack.schedulerRole))).toEqual([
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [id(stack.runExportFunction), 'Arn'] } },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [id(stack.scheduleDeadLetterQueue), 'Arn'] } },
    ]);
  });

  it('dead-letter queue: SQS-managed encryption, TLS only, kept 14 days, no resource-policy grant', () => {
    const queueId = id(stack.scheduleDeadLetterQueue);
    expect(resourcesOfType('AWS::SQS::Queue')[queueId].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const policies = Object.values(resourcesOfType('AWS::SQS::QueuePolicy')).filter((p) =>
      JSON.stringify(p.Properties.Queues).includes(`"${queueId}"`),
    );
    expect(policies).toHaveLength(1);
    const queueStatements = policies[0].Properties.PolicyDocument.Statement;
    expect(queueStatements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(queueStatements.filter((st: Statement) => st.Effect === 'Allow')).toEqual([]);
  });

  it('management API: create, update and delete schedules, only in the export schedule group', () => {
    expect(serviceStatements(id(stack.apiFunction.role!), 'scheduler')).toEqual([
      {
        Effect: 'Allow',
        Action: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:UpdateSchedule'],
        Resource: schedulesArn(),
      },
    ]);
  });

  it('management API: passes only the execution role, only to EventBridge Scheduler', () => {
    expect(serviceStatements(id(stack.apiFunction.role!), 'iam')).toEqual([
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [id(stack.schedulerRole), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      },
    ]);
  });

  it('check-failures: reconciles schedules of the export schedule group, passing only the execution role to EventBridge Scheduler', () => {
    const roleId = id(stack.checkFailuresFunction.role!);
    expect(serviceStatements(roleId, 'scheduler')).toEqual([
      {
        Effect: 'Allow',
        Action: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:UpdateSchedule'],
        Resource: schedulesArn(),
      },
    ]);
    expect(serviceStatements(roleId, 'iam')).toEqual([
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [id(stack.schedulerRole), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      },
    ]);
  });

  it('no other role has scheduler or iam permissions', () => {
    for (const roleId of [id(stack.ingestFunction.role!), id(stack.runExportFunction.role!), id(stack.schedulerRole)]) {
      expect(serviceStatements(roleId, 'scheduler')).toEqual([]);
      expect(serviceStatements(roleId, 'iam')).toEqual([]);
    }
  });

  it.each([
    ['management API', () => stack.apiFunction],
    ['check-failures', () => stack.checkFailuresFunction],
  ])('%s: the schedule group, execution role, run-export ARN and dead-letter queue in its environment', (_name, fn) => {
    const variables = resourcesOfType('AWS::Lambda::Function')[id(fn())].Properties.Environment.Variables;
    expect(variables).toMatchObject(scheduleVariables());
  });

  it('ingest and run-export: no schedule settings in their environment', () => {
    for (const fn of [stack.ingestFunction, stack.runExportFunction]) {
      const variables = resourcesOfType('AWS::Lambda::Function')[id(fn)].Properties.Environment.Variables;
      expect(Object.keys(variables).filter((k) => k.startsWith('SCHEDULE') || k === 'RUN_EXPORT_FUNCTION_ARN')).toEqual([]);
    }
  });

  it('run-export stays outside any VPC (it writes into customers\' buckets over the internet)', () => {
    expect(resourcesOfType('AWS::Lambda::Function')[id(stack.runExportFunction)].Properties.VpcConfig).toBeUndefined();
  });
});

describe('config table: failing and unreconciled indexes', () => {
  const table = () => resourcesOfType('AWS::DynamoDB::Table')[id(stack.configTable)];

  it('sparse GSIs "failing" (all attributes), "unreconciled" and "transient" (keys only)', () => {
    expect(table().Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'failing',
        KeySchema: [
          { AttributeName: 'failingPk', KeyType: 'HASH' },
          { AttributeName: 'failingSince', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: 'unreconciled',
        KeySchema: [{ AttributeName: 'unreconciledPk', KeyType: 'HASH' }],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        IndexName: 'transient',
        KeySchema: [
          { AttributeName: 'transientPk', KeyType: 'HASH' },
          { AttributeName: 'transientSince', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ]);
    expect(table().Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'failingPk', AttributeType: 'S' },
        { AttributeName: 'failingSince', AttributeType: 'N' },
        { AttributeName: 'unreconciledPk', AttributeType: 'S' },
        { AttributeName: 'transientPk', AttributeType: 'S' },
        { AttributeName: 'transientSince', AttributeType: 'N' },
      ]),
    );
  });

  it('the usage table has no index', () => {
    expect(resourcesOfType('AWS::DynamoDB::Table')[id(stack.usageTable)].Properties.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('only check-failures may query them, by name', () => {
    const indexArn = (name: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.configTable), 'Arn'] }, `/index/${name}`]] });
    const users = Object.values(resourcesOfType('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('/index/'),
    );
    expect(users.map((p) => p.Properties.Roles)).toEqual([[{ Ref: id(stack.checkFailuresFunction.role!) }]]);
    expect(statements(id(stack.checkFailuresFunction.role!)).filter((st) => JSON.stringify(st.Resource).includes('/index/'))).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: [indexArn('failing'), indexArn('transient'), indexArn('unreconciled')] },
    ]);
  });
});

describe('check-failures function', () => {
  const fn = () => resourcesOfType('AWS::Lambda::Function')[id(stack.checkFailuresFunction)];
  const fnArn = () => ({ 'Fn::GetAtt': [id(stack.checkFailuresFunction), 'Arn'] });

  it('nodejs22.x on arm64, 512 MB, 5 minutes, reserved concurrency 1, active tracing, own log group', () => {
    expect(fn()).toBeDefined();
    expect(fn().Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 300,
      ReservedConcurrentExecutions: 1,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: { Ref: id(stack.checkFailuresFunction.logGroup) } },
    });
    expect(fn().Properties.FunctionName).toBeUndefined();
  });

  it('environment: tables, sender, dashboard URL and the schedule settings; no secrets key, no bucket', () => {
    expect(fn().Properties.Environment.Variables).toEqual({
      CONFIG_TABLE: { Ref: id(stack.configTable) },
      USAGE_TABLE: { Ref: id(stack.usageTable) },
      POWERTOOLS_METRICS_NAMESPACE: `DataExport/${STAGE}`,
      STAGE: STAGE,
      SENDER_EMAIL: SENDER,
      DASHBOARD_URL: DASHBOARD,
      SCHEDULE_GROUP_NAME: stack.scheduleGroup.scheduleGroupName,
      SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': [id(stack.schedulerRole), 'Arn'] },
      RUN_EXPORT_FUNCTION_ARN: { 'Fn::GetAtt': [id(stack.runExportFunction), 'Arn'] },
      SCHEDULE_DLQ_ARN: { 'Fn::GetAtt': [id(stack.scheduleDeadLetterQueue), 'Arn'] },
      SCHEDULE_FLEXIBLE_WINDOW_MINUTES: '60',
      LOG_LEVEL: 'INFO',
      POWERTOOLS_SERVICE_NAME: 'data-export',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('an hourly EventBridge rule invokes it: 2 retries, events older than an hour dropped, then the DLQ', () => {
    const rules = resourcesOfType('AWS::Events::Rule');
    expect(Object.keys(rules)).toEqual([id(stack.checkFailuresRule)]);
    expect(rules[id(stack.checkFailuresRule)].Properties).toMatchObject({ ScheduleExpression: 'rate(1 hour)', State: 'ENABLED' });
    expect(rules[id(stack.checkFailuresRule)].Properties.Targets).toEqual([
      {
        Id: expect.any(String),
        Arn: fnArn(),
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(stack.checkFailuresDeadLetterQueue), 'Arn'] } },
      },
    ]);
  });

  it('only that rule may invoke it (resource-based permission with the rule as source)', () => {
    const permissions = Object.values(resourcesOfType('AWS::Lambda::Permission')).filter(
      (p) => JSON.stringify(p.Properties.FunctionName).includes(`"${id(stack.checkFailuresFunction)}"`),
    );
    expect(permissions.map((p) => p.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: fnArn(),
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [id(stack.checkFailuresRule), 'Arn'] },
      },
    ]);
  });

  it('failed checks: 2 Lambda retries within the hour, then the same encrypted, TLS-only dead-letter queue', () => {
    const queueId = id(stack.checkFailuresDeadLetterQueue);
    expect(fn().Properties.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
    const configs = Object.values(resourcesOfType('AWS::Lambda::EventInvokeConfig')).filter(
      (c) => c.Properties.FunctionName.Ref === id(stack.checkFailuresFunction),
    );
    expect(configs.map((c) => c.Properties)).toEqual([
      { FunctionName: { Ref: id(stack.checkFailuresFunction) }, Qualifier: '$LATEST', MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
    ]);
    expect(resourcesOfType('AWS::SQS::Queue')[queueId].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const queueStatements = Object.values(resourcesOfType('AWS::SQS::QueuePolicy'))
      .filter((p) => JSON.stringify(p.Properties.Queues).includes(`"${queueId}"`))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(queueStatements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    // EventBridge may send to it for this rule only; the function's role sends its own failures.
    expect(queueStatements.filter((st: Statement) => st.Effect === 'Allow')).toEqual([
      expect.objectContaining({
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [id(stack.checkFailuresRule), 'Arn'] } } },
      }),
    ]);
    expect(serviceStatements(id(stack.checkFailuresFunction.role!), 'sqs')).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    ]);
  });

  it('reads and writes the config table (emails sent, stopped exports); no usage table, no bucket', () => {
    const roleId = id(stack.checkFailuresFunction.role!);
    const config = id(stack.configTable);
    for (const action of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
      expect(tablesAllowed(roleId, action)).toEqual([config]);
    }
    expect(serviceStatements(roleId, 's3')).toEqual([]);
  });

  it('sends email only as the sender identity (address or its domain), only From the sender address', () => {
    const ses = serviceStatements(id(stack.checkFailuresFunction.role!), 'ses');
    expect(ses).toEqual([
      {
        Effect: 'Allow',
        Action: ['ses:SendEmail', 'ses:SendRawEmail'],
        Resource: expect.any(Array),
        Condition: { StringEquals: { 'ses:FromAddress': SENDER } },
      },
    ]);
    const identities = [regionalArn('ses', `identity/${SENDER}`), regionalArn('ses', 'identity/exports.test.example')];
    expect(ses[0].Resource).toHaveLength(identities.length);
    expect(ses[0].Resource).toEqual(expect.arrayContaining(identities));
  });

  it('no role may use SES otherwise: no ses:* action, no SES statement on Resource "*", no other sender', () => {
    const ses = statements().filter((st) => asArray(st.Action).some((a) => a.startsWith('ses:')));
    expect(ses).toHaveLength(1);
    for (const st of ses) {
      expect(asArray(st.Action)).not.toContain('ses:*');
      expect(asArray(st.Resource)).not.toContain('*');
      expect(JSON.stringify(st.Resource)).not.toMatch(/identity\/\*/);
    }
    for (const fn of [stack.apiFunction, stack.ingestFunction, stack.runExportFunction]) {
      expect(serviceStatements(id(fn.role!), 'ses')).toEqual([]);
    }
  });
});

describe('export role (bucket-policy destinations)', () => {
  const roleOf = (fn: { role?: unknown }) => id(fn.role as never);

  it('trusted only by the management API and run-export roles, for sessions of at most an hour', () => {
    const role = resourcesOfType('AWS::IAM::Role')[id(stack.exportRole)];
    expect(role.Properties.MaxSessionDuration).toBe(3600);
    const trusted = (role.Properties.AssumeRolePolicyDocument.Statement as Statement[]).flatMap((statement) => {
      expect(statement).toMatchObject({ Effect: 'Allow', Action: 'sts:AssumeRole' });
      return asArray((statement as unknown as { Principal: { AWS: unknown } }).Principal.AWS);
    });
    expect(trusted).toEqual(
      expect.arrayContaining([
        { 'Fn::GetAtt': [roleOf(stack.apiFunction), 'Arn'] },
        { 'Fn::GetAtt': [roleOf(stack.runExportFunction), 'Arn'] },
      ]),
    );
    expect(trusted).toHaveLength(2);
  });

  it('has no permissions of its own: what it may write is what each customer bucket policy grants', () => {
    expect(statements(id(stack.exportRole))).toEqual([]);
    expect(resourcesOfType('AWS::IAM::Role')[id(stack.exportRole)].Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('only the management API and run-export may assume it, and only it; both get its ARN', () => {
    const assumers = Object.entries(resourcesOfType('AWS::IAM::Role'))
      .filter(([roleId]) => statements(roleId).some((s) => asArray(s.Action).includes('sts:AssumeRole')))
      .map(([roleId]) => roleId)
      .sort();
    expect(assumers).toEqual([roleOf(stack.apiFunction), roleOf(stack.runExportFunction)].sort());
    for (const roleId of assumers) {
      const assume = statements(roleId).filter((s) => asArray(s.Action).includes('sts:AssumeRole'));
      expect(assume.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [id(stack.exportRole), 'Arn'] }]);
    }
    const functions = resourcesOfType('AWS::Lambda::Function');
    expect(functions[id(stack.apiFunction)].Properties.Environment.Variables.EXPORT_ROLE_ARN).toEqual({ 'Fn::GetAtt': [id(stack.exportRole), 'Arn'] });
  });

  it('is a stack output, for operators and the docs', () => {
    expect(template.findOutputs('ExportRoleArn').ExportRoleArn.Value).toEqual({ 'Fn::GetAtt': [id(stack.exportRole), 'Arn'] });
  });
});

describe('IAM least privilege', () => {
  it('no wildcard actions anywhere (but in CDK\'s dashboard deployment handler, tested with the dashboard)', () => {
    const actions = serviceRoleStatements().flatMap((s) => asArray(s.Action));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  });

  it("Resource '*' only for the X-Ray write actions (X-Ray has no resource-level permissions)", () => {
    const wildcard = serviceRoleStatements().filter((s) => asArray(s.Resource as unknown).includes('*'));
    expect(wildcard.flatMap((s) => asArray(s.Action)).filter((a) => !a.startsWith('xray:'))).toEqual([]);
  });

  it("no other wildcard in a resource than the exports bucket's manual/* objects, the export schedules and Firehose's raw-data objects", () => {
    const resources = serviceRoleStatements()
      .filter((s) => !asArray(s.Resource as unknown).includes('*'))
      .flatMap((s) => asArray(s.Resource as unknown));
    const wildcards = resources.filter((r) => JSON.stringify(r).includes('*'));
    expect(wildcards.length).toBeGreaterThan(0);
    for (const r of wildcards) expect([manualObjectsArn(), schedulesArn(), rawObjectsArn('raw/*'), rawObjectsArn('errors/*')]).toContainEqual(r);
  });

  it('table grants name the table only: no role may use every index (<table>/index/*)', () => {
    const resources = statements().flatMap((s) => asArray(s.Resource as unknown));
    expect(resources.filter((r) => JSON.stringify(r).includes('/index/*'))).toEqual([]);
  });

  it('run-export Lambda: reads and writes the config table (job records), only reads the usage table', () => {
    const roleId = id(stack.runExportFunction.role!);
    const [config, usage] = [id(stack.configTable), id(stack.usageTable)];
    for (const write of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
      expect(tablesAllowed(roleId, write)).toEqual([config]);
    }
    for (const read of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem']) {
      expect(tablesAllowed(roleId, read)).toEqual([config, usage].sort());
    }
  });

  it('run-export Lambda: puts (multipart included) and aborts uploads of manual/ files, lists and reads raw/ of the raw-data bucket; never deletes', () => {
    const s3 = serviceStatements(id(stack.runExportFunction.role!), 's3');
    expect(s3).toEqual([
      { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:PutObject'], Resource: manualObjectsArn() },
      rawPrefixListing(),
      { Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.rawEventLog.bucket), 'Arn'] }, '/raw/*']] } },
    ]);
    const actions = s3.flatMap((s) => asArray(s.Action));
    for (const denied of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectAcl']) {
      expect(actions).not.toContain(denied);
    }
  });

  it('management Lambda: only reads manual/ files of the exports bucket (to pre-sign download URLs) and lists raw/ of the raw-data bucket (the raw export status)', () => {
    expect(serviceStatements(id(stack.apiFunction.role!), 's3')).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: manualObjectsArn() },
      rawPrefixListing(),
    ]);
  });

  it('management Lambda and the schedules\' role may invoke the run-export function (unqualified), and nothing else may', () => {
    const runExportArn = { 'Fn::GetAtt': [id(stack.runExportFunction), 'Arn'] };
    expect(serviceStatements(id(stack.apiFunction.role!), 'lambda')).toEqual([
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: [runExportArn, { 'Fn::Join': ['', [runExportArn, ':$LATEST']] }],
      },
    ]);
    expect(serviceStatements(id(stack.schedulerRole), 'lambda')).toEqual([
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: runExportArn },
    ]);
    for (const fn of [stack.ingestFunction, stack.runExportFunction, stack.checkFailuresFunction]) {
      expect(serviceStatements(id(fn.role!), 'lambda')).toEqual([]);
    }
    // No resource-based permission lets anyone else (e.g. a service principal) invoke it either.
    const permissions = Object.values(resourcesOfType('AWS::Lambda::Permission')).filter(
      (p) => JSON.stringify(p.Properties.FunctionName).includes(`"${id(stack.runExportFunction)}"`),
    );
    expect(permissions).toEqual([]);
  });

  it('ingest Lambda: no access to the exports bucket', () => {
    expect(serviceStatements(id(stack.ingestFunction.role!), 's3')).toEqual([]);
  });

  it('DynamoDB statements name table ARNs, never *', () => {
    const dynamo = statements().filter((s) => asArray(s.Action).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.length).toBeGreaterThan(0);
    for (const s of dynamo) {
      expect(asArray(s.Resource as unknown)).not.toContain('*');
      expect(JSON.stringify(s.Resource)).toMatch(/(ConfigTable|UsageTable|ProfilesTable)[A-F0-9]{8}/);
    }
  });

  it('management Lambda: reads and writes the config table; only queries the usage table (the event catalog)', () => {
    const roleId = id(stack.apiFunction.role!);
    const config = id(stack.configTable);
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:BatchGetItem']) {
      expect(tablesAllowed(roleId, action)).toEqual([config]);
    }
    expect(tablesAllowed(roleId, 'dynamodb:Query')).toEqual([config, id(stack.usageTable)].sort());
  });

  it('ingest Lambda: only reads the config table, reads and writes the usage table', () => {
    const roleId = id(stack.ingestFunction.role!);
    const [config, usage] = [id(stack.configTable), id(stack.usageTable)];
    for (const write of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
      expect(tablesAllowed(roleId, write)).toEqual([usage]);
    }
    for (const read of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem']) {
      expect(tablesAllowed(roleId, read)).toEqual([config, usage].sort());
    }
  });
});

describe('HTTP API', () => {
  const routes = () =>
    Object.fromEntries(
      Object.values(resourcesOfType('AWS::ApiGatewayV2::Route')).map((r) => [r.Properties.RouteKey, r.Properties]),
    );
  /** Logical id of the function a route's integration invokes. */
  const functionOfRoute = (routeKey: string): string => {
    const target = routes()[routeKey].Target;
    const integrationId = target['Fn::Join'][1][1].Ref;
    const integration = resourcesOfType('AWS::ApiGatewayV2::Integration')[integrationId];
    expect(integration.Properties.IntegrationType).toBe('AWS_PROXY');
    return integration.Properties.IntegrationUri['Fn::GetAtt'][0];
  };

  it('JWT authorizer with the issuer and audience from the props', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: ISSUER, Audience: [AUDIENCE] },
    });
  });

  it('has exactly the four routes', () => {
    expect(Object.keys(routes()).sort()).toEqual([
      'ANY /ingest/{proxy+}',
      'ANY /v1/{proxy+}',
      'GET /v1/openapi.json',
      'POST /v1/environments/{envId}/exports/manual',
    ]);
  });

  it('POST /v1/environments/{envId}/exports/manual: its own route (for its limit), JWT authorizer -> management Lambda', () => {
    const authorizerId = Object.keys(resourcesOfType('AWS::ApiGatewayV2::Authorizer'))[0];
    const route = routes()['POST /v1/environments/{envId}/exports/manual'];
    expect(route).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
    expect(functionOfRoute('POST /v1/environments/{envId}/exports/manual')).toBe(id(stack.apiFunction));
  });

  it('throttles each route on its own, the stage default for any other', () => {
    const [stageId, stage] = Object.entries(resourcesOfType('AWS::ApiGatewayV2::Stage'))[0];
    expect(stage.Properties.RouteSettings).toEqual({
      'ANY /v1/{proxy+}': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      'POST /v1/environments/{envId}/exports/manual': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'GET /v1/openapi.json': { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      'ANY /ingest/{proxy+}': { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
    });
    // Route settings name routes that must exist first.
    const routeIds = Object.keys(resourcesOfType('AWS::ApiGatewayV2::Route'));
    expect(template.toJSON().Resources[stageId].DependsOn).toEqual(expect.arrayContaining(routeIds));
  });

  it('management routes: JWT authorizer -> management Lambda', () => {
    const authorizerId = Object.keys(resourcesOfType('AWS::ApiGatewayV2::Authorizer'))[0];
    expect(routes()['ANY /v1/{proxy+}']).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
    expect(functionOfRoute('ANY /v1/{proxy+}')).toBe(id(stack.apiFunction));
  });

  it('GET /v1/openapi.json: public -> management Lambda', () => {
    const route = routes()['GET /v1/openapi.json'];
    expect(route.AuthorizationType).toBe('NONE');
    expect(route.AuthorizerId).toBeUndefined();
    expect(functionOfRoute('GET /v1/openapi.json')).toBe(id(stack.apiFunction));
  });

  it('ANY /ingest/{proxy+}: no JWT (ingest key checked by the Lambda) -> ingest Lambda', () => {
    const route = routes()['ANY /ingest/{proxy+}'];
    expect(route.AuthorizationType).toBe('NONE');
    expect(route.AuthorizerId).toBeUndefined();
    expect(functionOfRoute('ANY /ingest/{proxy+}')).toBe(id(stack.ingestFunction));
  });

  it('$default stage: auto-deployed, throttled, JSON access logs to a retained log group', () => {
    const stages = Object.values(resourcesOfType('AWS::ApiGatewayV2::Stage'));
    expect(stages).toHaveLength(1);
    const stage = stages[0].Properties;
    expect(stage).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [expect.stringMatching(/^ApiAccessLogs/), 'Arn'] } },
    });
    const format = JSON.parse(stage.AccessLogSettings.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', routeKey: '$context.routeKey' });
    // Never the query string (?publishableKey=) or headers.
    expect(stage.AccessLogSettings.Format).not.toMatch(/querystring|header|authorizer\.claims/i);
  });

  it('outputs the API URL, the table names, the exports bucket and the run-export function', () => {
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['ApiUrl', 'ConfigTableName', 'UsageTableName', 'ExportsBucketName', 'RunExportFunctionName']),
    );
    expect(outputs.ConfigTableName.Value).toEqual({ Ref: id(stack.configTable) });
    expect(outputs.UsageTableName.Value).toEqual({ Ref: id(stack.usageTable) });
    expect(outputs.ExportsBucketName.Value).toEqual({ Ref: id(stack.exportsBucket) });
    expect(outputs.RunExportFunctionName.Value).toEqual({ Ref: id(stack.runExportFunction) });
  });

  it('outputs the schedule group, the check-failures function and the secrets key', () => {
    const outputs = template.findOutputs('*');
    expect(outputs.ScheduleGroupName.Value).toBe(stack.scheduleGroup.scheduleGroupName);
    expect(outputs.CheckFailuresFunctionName.Value).toEqual({ Ref: id(stack.checkFailuresFunction) });
    expect(outputs.DestinationSecretsKeyArn.Value).toEqual({ 'Fn::GetAtt': [id(stack.destinationSecretsKey), 'Arn'] });
  });
});

describe('operator alarms', () => {
  const topicId = () => id(stack.operatorAlarms.topic);
  const alarmFor = (metricName: string) => {
    const alarms = Object.values(resourcesOfType('AWS::CloudWatch::Alarm')).filter((a) => a.Properties.MetricName === metricName);
    expect(alarms).toHaveLength(1);
    return alarms[0].Properties;
  };

  it.each([
    [INTERNAL_EXPORT_FAILURES, 'Sum', 300],
    [EXPORTS_FAILING_TRANSIENTLY, 'Maximum', 3600],
  ])('alarms on %s (the name the functions publish) at 1 or more, notifying the operator topic', (metricName, statistic, period) => {
    expect(alarmFor(metricName)).toMatchObject({
      Namespace: `DataExport/${STAGE}`,
      Dimensions: [{ Name: 'service', Value: 'data-export' }],
      Statistic: statistic,
      Period: period,
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topicId() }],
      OKActions: [{ Ref: topicId() }],
    });
  });

  it('the publishing functions (run-export, check-failures, ingest) get the namespace; powertools names the service dimension', () => {
    for (const fn of [stack.runExportFunction, stack.checkFailuresFunction, stack.ingestFunction]) {
      expect(resourcesOfType('AWS::Lambda::Function')[id(fn)].Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: `DataExport/${STAGE}`,
        POWERTOOLS_SERVICE_NAME: 'data-export',
      });
    }
  });

  it('the topic is encrypted with its own rotated key that CloudWatch may use, and refuses plain HTTP', () => {
    const topic = resourcesOfType('AWS::SNS::Topic')[topicId()];
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [id(stack.operatorAlarms.topicKey), 'Arn'] });
    const key = resourcesOfType('AWS::KMS::Key')[id(stack.operatorAlarms.topicKey)];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
    );
    const policies = Object.values(resourcesOfType('AWS::SNS::TopicPolicy')).filter((p) => JSON.stringify(p.Properties.Topics).includes(topicId()));
    expect(policies[0].Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('subscribes no one without operatorEmail, and that address by email with it', () => {
    expect(Object.keys(resourcesOfType('AWS::SNS::Subscription'))).toEqual([]);
    const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const withEmail = new DataExportStack(app, 'WithOperatorEmail', {
      stage: STAGE,
      jwtIssuer: ISSUER,
      jwtAudience: AUDIENCE,
      senderEmail: SENDER,
      dashboardUrl: DASHBOARD,
      operatorEmail: 'oncall@exports.test.example',
    });
    Template.fromStack(withEmail).resourceCountIs('AWS::SNS::Subscription', 1);
    Template.fromStack(withEmail).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@exports.test.example',
    });
  });

  const alarms = () => Object.values(resourcesOfType('AWS::CloudWatch::Alarm')).map((a) => a.Properties);

  it('every alarm of the stack notifies the operator topic, on alarm and back to OK', () => {
    expect(alarms().length).toBe(stack.operatorAlarms.alarms().length);
    for (const alarm of alarms()) expect(alarm).toMatchObject({ AlarmActions: [{ Ref: topicId() }], OKActions: [{ Ref: topicId() }] });
  });

  it('every queue of the stack (all dead-letter queues) alarms at one visible message', () => {
    const queueIds = Object.keys(resourcesOfType('AWS::SQS::Queue'));
    expect(queueIds.length).toBeGreaterThanOrEqual(3);
    for (const queueId of queueIds) {
      const onQueue = alarms().filter((a) => JSON.stringify(a.Dimensions ?? []).includes(`"${queueId}"`));
      expect(onQueue).toEqual([
        expect.objectContaining({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
          Statistic: 'Maximum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        }),
      ]);
    }
  });

  it('every service function alarms on its errors and its throttles', () => {
    const functions = stack.node.findAll().filter((c): c is ServiceFunction => c instanceof ServiceFunction);
    expect(functions.length).toBeGreaterThanOrEqual(4);
    for (const fn of functions) {
      const onFunction = alarms().filter((a) => a.Namespace === 'AWS/Lambda' && JSON.stringify(a.Dimensions).includes(`"${id(fn)}"`));
      expect(onFunction.map((a) => a.MetricName).sort()).toEqual(expect.arrayContaining(['Errors', 'Throttles']));
      for (const alarm of onFunction.filter((a) => a.MetricName !== 'Invocations')) {
        expect(alarm).toMatchObject({ Statistic: 'Sum', Period: 300, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      }
    }
  });

  it('alarms when the hourly check has not been invoked for 2 hours, missing data breaching', () => {
    const invocations = alarms().filter((a) => a.MetricName === 'Invocations');
    expect(invocations).toEqual([
      expect.objectContaining({
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(stack.checkFailuresFunction) } }],
        Statistic: 'Sum',
        Period: 7200,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      }),
    ]);
  });

  it('alarms when more than 20% of an hour\'s scheduled runs fail, from the runs the functions publish', () => {
    const [rate] = alarms().filter((a) => a.Metrics);
    expect(rate).toMatchObject({ Threshold: 20, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    const byId = Object.fromEntries(rate.Metrics.map((m: any) => [m.Id, m]));
    expect(byId.expr_1.Expression).toBe('IF(runs >= 5, 100 * FILL(failed, 0) / runs, 0)');
    for (const [metricId, metricName] of [['runs', EXPORT_RUNS], ['failed', FAILED_EXPORT_RUNS]]) {
      expect(byId[metricId].MetricStat).toEqual({
        Metric: { Namespace: `DataExport/${STAGE}`, MetricName: metricName, Dimensions: [{ Name: 'service', Value: 'data-export' }] },
        Period: 3600,
        Stat: 'Sum',
      });
    }
  });

  it.each([
    ['DeliveryToS3.Success', 'Minimum', 1, 'LessThanThreshold'],
    ['DeliveryToS3.DataFreshness', 'Maximum', 900, 'GreaterThanThreshold'],
  ])('alarms on the raw event log stream\'s %s', (metricName, statistic, threshold, comparison) => {
    expect(alarmFor(metricName)).toMatchObject({
      Namespace: 'AWS/Firehose',
      Dimensions: [{ Name: 'DeliveryStreamName', Value: { Ref: id(stack.rawEventLog.deliveryStream) } }],
      Statistic: statistic,
      Threshold: threshold,
      ComparisonOperator: comparison,
      TreatMissingData: 'notBreaching',
    });
  });

  it('a dashboard (no physical name) shows every alarm and the metrics behind them', () => {
    const dashboards = Object.values(resourcesOfType('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0].Properties.DashboardName).toBeUndefined();
    const body = JSON.stringify(dashboards[0].Properties.DashboardBody);
    for (const metricName of [EXPORT_RUNS, FAILED_EXPORT_RUNS, INTERNAL_EXPORT_FAILURES, EXPORTS_FAILING_TRANSIENTLY, 'Errors', 'Throttles',
      'Invocations', 'ApproximateNumberOfMessagesVisible', 'DeliveryToS3.Success', 'DeliveryToS3.DataFreshness']) {
      expect(body).toContain(`"${metricName}"`.replace(/"/g, '\\"'));
    }
    for (const alarm of stack.operatorAlarms.alarms()) expect(body).toContain(id(alarm));
  });
});

describe('raw event log', () => {
  const streams = () => Object.entries(resourcesOfType('AWS::KinesisFirehose::DeliveryStream'));
  const destination = () => streams()[0][1].Properties.ExtendedS3DestinationConfiguration;
  const rawBucketPolicy = (): (Statement & { Condition?: unknown })[] =>
    Object.values(resourcesOfType('AWS::S3::BucketPolicy'))
      .filter((p) => p.Properties.Bucket.Ref === id(stack.rawEventLog.bucket))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);

  it('one direct-put Firehose stream, encrypted, no physical name', () => {
    expect(streams()).toHaveLength(1);
    const [logicalId, stream] = streams()[0];
    expect(logicalId).toBe(id(stack.rawEventLog.deliveryStream));
    expect(stream.Properties).toMatchObject({
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
    });
    expect(stream.Properties.DeliveryStreamName).toBeUndefined();
  });

  it('partitions by environment and receive hour (from the record, JQ), as raw/<envId>/<yyyy>/<mm>/<dd>/<hh>/', () => {
    expect(destination()).toMatchObject({
      BucketARN: { 'Fn::GetAtt': [id(stack.rawEventLog.bucket), 'Arn'] },
      Prefix:
        'raw/!{partitionKeyFromQuery:environmentId}/!{partitionKeyFromQuery:year}/!{partitionKeyFromQuery:month}/' +
        '!{partitionKeyFromQuery:day}/!{partitionKeyFromQuery:hour}/',
      DynamicPartitioningConfiguration: { Enabled: true },
    });
    const [processor] = destination().ProcessingConfiguration.Processors;
    expect(destination().ProcessingConfiguration.Enabled).toBe(true);
    expect(processor.Type).toBe('MetadataExtraction');
    const parameters = Object.fromEntries(processor.Parameters.map((p: { ParameterName: string; ParameterValue: string }) => [p.ParameterName, p.ParameterValue]));
    expect(parameters.JsonParsingEngine).toBe('JQ-1.6');
    expect(parameters.MetadataExtractionQuery).toContain('environmentId: .environmentId');
    for (const [key, format] of [['year', '%Y'], ['month', '%m'], ['day', '%d'], ['hour', '%H']]) {
      expect(parameters.MetadataExtractionQuery).toContain(`${key}: (.receivedAt / 1000 | floor | strftime("${format}"))`);
    }
  });

  it('gzip JSON-lines objects (.jsonl.gz), buffered at most 5 minutes and 64-128 MiB, failures under errors/', () => {
    expect(destination()).toMatchObject({ CompressionFormat: 'GZIP', FileExtension: '.jsonl.gz' });
    expect(destination().BufferingHints.IntervalInSeconds).toBeLessThanOrEqual(300);
    expect(destination().BufferingHints.SizeInMBs).toBeGreaterThanOrEqual(64);
    expect(destination().BufferingHints.SizeInMBs).toBeLessThanOrEqual(128);
    expect(destination().ErrorOutputPrefix).toMatch(/^errors\/!\{firehose:error-output-type\}\//);
    expect(destination().CloudWatchLoggingOptions.Enabled).toBe(true);
  });

  it('raw-data bucket: private, SSE, TLS only, access logged, retained; raw/ to Intelligent-Tiering, errors/ expire', () => {
    const bucket = resourcesOfType('AWS::S3::Bucket')[id(stack.rawEventLog.bucket)];
    expect(bucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LoggingConfiguration: { DestinationBucketName: { Ref: id(stack.accessLogsBucket) } },
    });
    expect(bucket.Properties.BucketName).toBeUndefined();
    expect(bucket.DeletionPolicy).toBe('Retain');
    const rules = bucket.Properties.LifecycleConfiguration.Rules;
    expect(rules).toContainEqual(expect.objectContaining({ Prefix: 'raw/', Transitions: [{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 30 }] }));
    expect(rules).toContainEqual(expect.objectContaining({ Prefix: 'errors/', ExpirationInDays: 90 }));
    expect(rules.filter((r: { ExpirationInDays?: number; Prefix?: string }) => r.ExpirationInDays && r.Prefix !== 'errors/')).toEqual([]);
    expect(rawBucketPolicy().filter((s) => s.Effect === 'Allow')).toEqual([]);
    expect(rawBucketPolicy()).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it("Firehose's role: assumable by Firehose for this account only; writes the bucket's raw/ and errors/ objects and its log stream", () => {
    const roleId = id(stack.rawEventLog.deliveryRole);
    const role = resourcesOfType('AWS::IAM::Role')[roleId];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { Service: 'firehose.amazonaws.com' },
        Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    const bucketArn = { 'Fn::GetAtt': [id(stack.rawEventLog.bucket), 'Arn'] };
    expect(statements(roleId)).toEqual([
      { Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: bucketArn },
      { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'], Resource: [rawObjectsArn('errors/*'), rawObjectsArn('raw/*')] },
      { Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: expect.anything() },
    ]);
  });

  it('ingest Lambda: PutRecordBatch on this stream only, its name in RAW_EVENTS_STREAM; no other role may write it', () => {
    const streamArn = { 'Fn::GetAtt': [id(stack.rawEventLog.deliveryStream), 'Arn'] };
    expect(serviceStatements(id(stack.ingestFunction.role!), 'firehose')).toEqual([{ Effect: 'Allow', Action: 'firehose:PutRecordBatch', Resource: streamArn }]);
    for (const fn of [stack.apiFunction, stack.runExportFunction, stack.checkFailuresFunction]) {
      expect(serviceStatements(id(fn.role!), 'firehose')).toEqual([]);
    }
    const variables = resourcesOfType('AWS::Lambda::Function')[id(stack.ingestFunction)].Properties.Environment.Variables;
    expect(variables.RAW_EVENTS_STREAM).toEqual({ Ref: id(stack.rawEventLog.deliveryStream) });
  });

  it('outputs the raw-data bucket and the stream', () => {
    const outputs = template.findOutputs('*');
    expect(outputs.RawEventsBucketName.Value).toEqual({ Ref: id(stack.rawEventLog.bucket) });
    expect(outputs.RawEventsStreamName.Value).toEqual({ Ref: id(stack.rawEventLog.deliveryStream) });
  });
});

describe('cdk-nag AwsSolutions', () => {
  const describeViolations = (report: ReturnType<AwsSolutionsChecks['validateScope']>) =>
    report.violations.flatMap((v) =>
      v.violatingResources.map((r) => ({ rule: v.ruleName, severity: v.severity, path: r.constructPath ?? '' })),
    );

  it('no unacknowledged errors or warnings', () => {
    const findings = describeViolations(new AwsSolutionsChecks().validateScope(stack)).filter(
      (f) => f.severity === 'error' || f.severity === 'warning',
    );
    expect(findings).toEqual([]);
  });

  it('every acknowledgement has a reason and matches a real finding (no stale or misplaced suppressions)', () => {
    const acks: { path: string; rule: string; reason: string }[] = [];
    for (const c of stack.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [key, reason] of Object.entries(m.data as Record<string, string>)) {
          acks.push({ path: c.node.path, rule: key.replace(/^[^:]+::(?=AwsSolutions-)/, ''), reason });
        }
      }
    }
    expect(acks.length).toBeGreaterThan(0);

    // The same stack without acknowledgements (bundling skipped: the code is irrelevant to nag).
    const bare = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const unacknowledged = new DataExportStack(bare, stack.stackName, {
      stage: STAGE,
      jwtIssuer: ISSUER,
      jwtAudience: AUDIENCE,
      senderEmail: SENDER,
      dashboardUrl: DASHBOARD,
    });
    const findings = describeViolations(new AwsSolutionsChecks().validateScope(unacknowledged));

    for (const ack of acks) {
      expect(ack.reason.length).toBeGreaterThan(40);
      const matched = findings.some((f) => f.rule === ack.rule && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)));
      expect({ ...ack, matched }).toEqual({ ...ack, matched: true });
    }
  });
});

describe('configuration from CDK context', () => {
  const config = (context: Record<string, unknown>) => readDataExportConfig(new App({ context }).node);
  const valid = {
    stage: 'dev',
    jwtIssuer: 'https://auth.example.com/',
    jwtAudience: 'data-export-api',
    senderEmail: 'exports@example.com',
    dashboardUrl: 'https://app.example.com',
  };

  it('reads stage, issuer, audience (comma-separated or array), sender email and dashboard URL', () => {
    expect(config(valid)).toEqual({
      stage: 'dev',
      jwtIssuer: valid.jwtIssuer,
      jwtAudience: ['data-export-api'],
      senderEmail: 'exports@example.com',
      dashboardUrl: 'https://app.example.com',
    });
    expect(config({ ...valid, jwtAudience: 'a, b' }).jwtAudience).toEqual(['a', 'b']);
    expect(config({ ...valid, jwtAudience: ['a', 'b'] }).jwtAudience).toEqual(['a', 'b']);
  });

  it.each(['stage', 'jwtIssuer', 'jwtAudience', 'senderEmail', 'dashboardUrl'])('fails loudly when %s is missing', (key) => {
    const context: Record<string, unknown> = { ...valid };
    delete context[key];
    expect(() => config(context)).toThrow(new RegExp(`Missing CDK context "${key}".*-c ${key}=`));
  });

  it('rejects a malformed stage or a non-https issuer', () => {
    expect(() => config({ ...valid, stage: 'Prod_1' })).toThrow(/"stage" must be lowercase/);
    expect(() => config({ ...valid, jwtIssuer: 'http://auth.example.com/' })).toThrow(/"jwtIssuer" must be an https URL/);
  });

  it.each(['exports', 'exports@localhost', 'Exports <exports@example.com>', '*@example.com', 'a b@example.com', 'exports@example.com,x@y.com'])(
    'rejects senderEmail %j (not a plain address, or one that would be a wildcard in the SES identity ARN)',
    (senderEmail) => {
      expect(() => config({ ...valid, senderEmail })).toThrow(/"senderEmail" must be a plain email address/);
    },
  );

  it('rejects a dashboardUrl that is not an https URL', () => {
    expect(() => config({ ...valid, dashboardUrl: 'http://app.example.com' })).toThrow(/"dashboardUrl" must be an https URL/);
    expect(() => config({ ...valid, dashboardUrl: 'app.example.com' })).toThrow(/"dashboardUrl" must be an https URL/);
  });

  it('reads an optional operatorEmail, refusing one that is not a plain address', () => {
    expect(config(valid).operatorEmail).toBeUndefined();
    expect(config({ ...valid, operatorEmail: ' oncall@example.com ' }).operatorEmail).toBe('oncall@example.com');
    expect(() => config({ ...valid, operatorEmail: 'oncall' })).toThrow(/"operatorEmail" must be a plain email address/);
    expect(() => config({ ...valid, operatorEmail: 42 })).toThrow(/"operatorEmail" must be a plain email address/);
  });

  it('cdk.json has defaults for every required key, so `cdk synth` works offline', () => {
    expect(config(CDK_JSON_CONTEXT)).toMatchObject({ senderEmail: 'exports@example.com', dashboardUrl: 'https://app.example.com' });
  });
});

describe('code layout', () => {
  it('lib/ never imports from lambdas/', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(path.join(ROOT, 'lib'));
    const offenders = files.filter((f) =>
      /(from\s+|require\(|import\()\s*['"][^'"]*lambdas\//.test(fs.readFileSync(f, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});

describe('limits as construct props', () => {
  // Bundling skipped: only the template's limits matter here.
  const synth = (props: Partial<ConstructorParameters<typeof DataExportStack>[2]>) => {
    const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const built = new DataExportStack(app, 'Limits', {
      stage: STAGE,
      jwtIssuer: ISSUER,
      jwtAudience: AUDIENCE,
      senderEmail: SENDER,
      dashboardUrl: DASHBOARD,
      ...props,
    });
    return { built, limits: Template.fromStack(built) };
  };

  it('route throttles, reserved concurrency, schedule window and ingest key grace come from the props', () => {
    const { built, limits } = synth({
      apiThrottle: { rateLimit: 20, burstLimit: 40 },
      apiRouteThrottles: { manualExportStart: { rateLimit: 1, burstLimit: 2 }, ingest: undefined },
      runExportReservedConcurrency: 7,
      scheduleFlexibleWindow: Duration.minutes(15),
      ingestKeyGracePeriod: Duration.hours(2),
    });
    limits.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      RouteSettings: {
        'POST /v1/environments/{envId}/exports/manual': { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2 },
        'ANY /ingest/{proxy+}': { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
        'ANY /v1/{proxy+}': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      },
    });
    const functions = limits.findResources('AWS::Lambda::Function');
    const logicalId = (fn: ServiceFunction) => built.getLogicalId(fn.node.defaultChild as CfnElement);
    expect(functions[logicalId(built.runExportFunction)].Properties.ReservedConcurrentExecutions).toBe(7);
    for (const fn of [built.apiFunction, built.checkFailuresFunction]) {
      expect(functions[logicalId(fn)].Properties.Environment.Variables.SCHEDULE_FLEXIBLE_WINDOW_MINUTES).toBe('15');
    }
    expect(functions[logicalId(built.apiFunction)].Properties.Environment.Variables.INGEST_KEY_GRACE_SECONDS).toBe('7200');
  });

  it.each([
    [{ scheduleFlexibleWindow: Duration.hours(25) }, /scheduleFlexibleWindow must be whole minutes from 1 to 1440/],
    [{ scheduleFlexibleWindow: Duration.seconds(90) }, /scheduleFlexibleWindow must be whole minutes/],
    [{ runExportReservedConcurrency: 0 }, /runExportReservedConcurrency must be a positive integer/],
    [{ apiRouteThrottles: { ingest: { rateLimit: 10, burstLimit: 1.5 } } }, /apiRouteThrottles of ANY \/ingest\/\{proxy\+\} must have/],
    [{ apiThrottle: { rateLimit: -1, burstLimit: 10 } }, /apiThrottle must have a rateLimit >= 0/],
  ])('refuses %j', (props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});
