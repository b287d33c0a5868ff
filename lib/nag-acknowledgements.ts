/**
 * cdk-nag (v3) findings this service accepts, each with the reason it is acceptable, next to the
 * infrastructure they concern.
 *
 * cdk-nag 3 runs as a CDK policy-validation plugin (`Validations.of(app).addPlugins(new AwsSolutionsChecks(app))`)
 * and is silenced with CDK's own `Validations.of(construct).acknowledge({ id, reason })`; the v2
 * `NagSuppressions` API no longer exists. Acknowledgements are matched by construct path (the closest
 * acknowledged ancestor wins) and one finding at a time (`AwsSolutions-IAM5[Resource::*]`), so each one
 * below is placed on the narrowest construct that produces the finding.
 */
import { CfnElement, DefaultStackSynthesizer, Stack, Validations } from 'aws-cdk-lib';
import { HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { IBucket } from 'aws-cdk-lib/aws-s3';
import { IQueue } from 'aws-cdk-lib/aws-sqs';
import { RAW_EVENTS_ERRORS_PREFIX, RAW_EVENTS_PREFIX, RawEventLog } from './constructs/raw-event-log';
import type { DashboardSite } from './constructs/dashboard-site';
import { ServiceFunction } from './constructs/service-function';

/** One accepted finding: the rule (with its finding id where the rule reports several) and why. */
export interface NagAcknowledgement {
  readonly id: string;
  readonly reason: string;
}

/** Accepted on every {@link ServiceFunction} (the function itself). */
export const SERVICE_FUNCTION_ACKS: readonly NagAcknowledgement[] = [
  {
    id: 'AwsSolutions-L1',
    reason:
      'The service runs on nodejs22.x (esbuild target node22), a supported LTS runtime, while L1 asks for the newest ' +
      'family version (nodejs24.x). The code is plain Node 20-compatible TypeScript and local mode and CI still run ' +
      'Node 20 (package.json engines), so the Lambda runtime moves one LTS at a time, deliberately and for all ' +
      'functions at once (SERVICE_RUNTIME in lib/constructs/service-function.ts). Node.js 22 reaches end of life on ' +
      '2027-04-30: the move to nodejs24.x is due before then.',
  },
];

/** Accepted on every {@link ServiceFunction}'s execution role. */
export const SERVICE_FUNCTION_ROLE_ACKS: readonly NagAcknowledgement[] = [
  {
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      "Only the X-Ray write actions added by active tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) use Resource '*': " +
      'X-Ray does not support resource-level permissions. Log, DynamoDB, SQS, Lambda and S3 statements are scoped to ARNs ' +
      '(the infra tests assert that no other statement uses a wildcard resource).',
  },
];

/**
 * Accepted on the roles of the functions that use manual export files (read by the management API to sign
 * download URLs, written by run-export). `objectsResource` is the finding's resource, e.g.
 * `<ExportsBucket4E1F2A3B.Arn>/manual/*`.
 */
export function manualExportObjectsAcks(objectsResource: string): NagAcknowledgement[] {
  return [
    {
      id: `AwsSolutions-IAM5[Resource::${objectsResource}]`,
      reason:
        'Object-level S3 permissions on the manual export files: their keys (manual/<environment>/<job>/<file>) are ' +
        'created per job, so the statement names the manual/ prefix of the one exports bucket. Actions are listed ' +
        'explicitly (s3:GetObject for the API; s3:PutObject and s3:AbortMultipartUpload for run-export): no list, ' +
        'delete or bucket-level action, no other bucket.',
    },
  ];
}

/**
 * Accepted on the roles of the functions that manage the automatic export schedules (the management API
 * creates, updates, reads and deletes them; check-failures deletes the schedule of an export it stops).
 * `schedulesResource` is the finding's resource, e.g.
 * `arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/<group>/*`.
 */
export function scheduleManagementAcks(schedulesResource: string): NagAcknowledgement[] {
  return [
    {
      id: `AwsSolutions-IAM5[Resource::${schedulesResource}]`,
      reason:
        'Schedule-level EventBridge Scheduler permissions on the export schedules: one schedule per environment with ' +
        'automatic export is created at run time when a customer turns it on, so no ' +
        "schedule ARN exists at deploy time. The pattern names the service's own schedule group in this account and " +
        'region; actions are listed explicitly (Create/Update/DeleteSchedule, for the API and for check-failures, ' +
        'which reconciles schedules with their saved settings): no group-level, list or tagging action, and iam:PassRole only for the scheduler execution role.',
    },
  ];
}

/** Accepted on the dead-letter queue of the automatic export schedules. */
export const SCHEDULE_DLQ_ACKS: readonly NagAcknowledgement[] = [
  {
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself a dead-letter queue: that of the EventBridge Scheduler schedules invoking run-export. ' +
      'The schedules are created at run time by the management API (DeadLetterConfig = this queue, SCHEDULE_DLQ_ARN), ' +
      'so no resource in the template references it as a DLQ and cdk-nag cannot tell. A DLQ of a DLQ would only ' +
      'move the same messages again; they are kept 14 days for investigation.',
  },
];

/** Accepted on the public OpenAPI route. */
export const OPENAPI_ROUTE_ACKS: readonly NagAcknowledgement[] = [
  {
    id: 'AwsSolutions-APIG4',
    reason:
      'GET /v1/openapi.json is the public description of the API (design: served without a token so clients and ' +
      'tooling can fetch it); it returns a static document and no tenant data. Every other /v1 route uses the JWT authorizer.',
  },
];

/** Accepted on the ingest routes. */
export const INGEST_ROUTE_ACKS: readonly NagAcknowledgement[] = [
  {
    id: 'AwsSolutions-APIG4',
    reason:
      "Ingest is authenticated by the environment's ingest key (Authorization: Bearer <ingestKey> or ?publishableKey=, " +
      "compatible with Bucket's tracking SDKs), verified by the ingest Lambda; these keys are not JWTs, so an API " +
      'Gateway JWT authorizer cannot check them. Unknown keys are rejected before any data is written.',
  },
];

/**
 * Accepted on the raw event log's Firehose role. `bucketArn` is the raw-data bucket's ARN as cdk-nag
 * names it, e.g. `<RawEventLogBucket1A2B3C4D.Arn>`.
 */
export function rawEventLogDeliveryAcks(bucketArn: string): NagAcknowledgement[] {
  return [RAW_EVENTS_PREFIX, RAW_EVENTS_ERRORS_PREFIX].map((prefix) => ({
    id: `AwsSolutions-IAM5[Resource::${bucketArn}/${prefix}*]`,
    reason:
      `Object-level S3 permissions of Amazon Data Firehose under ${prefix} of the raw-data bucket: the stream creates ` +
      'objects named at delivery time (per environment, hour and buffer), so no object ARN exists at deploy time. ' +
      "Actions are those AWS documents for Firehose's S3 destination (PutObject, GetObject, AbortMultipartUpload); " +
      'no delete, no other bucket.',
  }));
}

/**
 * Accepted on the roles of the functions that read the raw event log (run-export, for export jobs).
 * `bucketArn` is the raw-data bucket's ARN as cdk-nag names it.
 */
export function rawEventLogReadAcks(bucketArn: string): NagAcknowledgement[] {
  return [
    {
      id: `AwsSolutions-IAM5[Resource::${bucketArn}/${RAW_EVENTS_PREFIX}*]`,
      reason:
        `s3:GetObject under ${RAW_EVENTS_PREFIX} of the raw-data bucket: Firehose names the log's objects at delivery ` +
        '(per environment, hour and buffer), so no object ARN exists at deploy time; an export job reads the hours of ' +
        `its window. Read only (listing is limited to the ${RAW_EVENTS_PREFIX} prefix by condition): no write, no ` +
        'delete, nothing under errors/, no other bucket.',
    },
  ];
}

/** The parts of a stack the acknowledgements attach to. */
/** Accepted on the dashboard's CloudFront distribution. */
export const DASHBOARD_DISTRIBUTION_ACKS: readonly NagAcknowledgement[] = [
  {
    id: 'AwsSolutions-CFR1',
    reason:
      'The dashboard is a static page for customers worldwide; it holds no data (every data access is an authenticated API call).',
  },
  {
    id: 'AwsSolutions-CFR2',
    reason:
      'The distribution serves only static files (GET/HEAD, cached): there is no application behind it for WAF to protect. ' +
      'The API has its own throttling (stage and route limits).',
  },
  {
    id: 'AwsSolutions-CFR3',
    reason:
      'The distribution serves the same static files to everyone and carries no data or tokens (the token travels in the URL ' +
      'fragment, never sent to CloudFront); every data access is an API call, logged in the API access logs.',
  },
  {
    id: 'AwsSolutions-CFR4',
    reason:
      "The dashboard uses CloudFront's default *.cloudfront.net certificate until a custom domain is configured; with the " +
      'default certificate CloudFront cannot pin a minimum TLS version. HTTP is redirected to HTTPS and HSTS is sent.',
  },
];

/** The CDK asset bucket (bootstrap) objects the deployment handler reads the bundle from, as cdk-nag names them. */
const ASSETS_OBJECTS = `arn:<AWS::Partition>:s3:::${DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace('${Qualifier}', DefaultStackSynthesizer.DEFAULT_QUALIFIER).replace(/\$\{(AWS::\w+)\}/g, '<$1>')}/*`;

/**
 * Accepted on the function CDK's BucketDeployment uses to copy the dashboard bundle into its bucket
 * (a CDK-provided singleton, configured by CDK). `siteObjects` names the site bucket's objects.
 */
export function dashboardDeploymentAcks(siteObjects: string): {
  function: NagAcknowledgement[];
  role: NagAcknowledgement[];
} {
  const cdkHandler =
    "CDK's BucketDeployment handler (copies the built dashboard into its bucket at deploy time; CDK owns its code and policy)";
  return {
    function: [
      {
        id: 'AwsSolutions-L1',
        reason: `${cdkHandler}: its runtime is chosen by the aws-cdk-lib version and moves with it.`,
      },
    ],
    role: [
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: `${cdkHandler}: CDK attaches the basic execution role for its logs.`,
      },
      ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: `${cdkHandler}: CDK's read grant on the asset bucket and read/write grant on the site bucket, both scoped to those two buckets.`,
      })),
      {
        id: `AwsSolutions-IAM5[Resource::${ASSETS_OBJECTS}]`,
        reason: `${cdkHandler}: reads the bundle's zip from the CDK asset bucket.`,
      },
      {
        id: `AwsSolutions-IAM5[Resource::${siteObjects}]`,
        reason: `${cdkHandler}: writes and prunes the page's files in the site bucket.`,
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: `${cdkHandler}: cloudfront:CreateInvalidation and GetInvalidation, to refresh the page after a deployment; CloudFront invalidations have no narrower resource in CDK's grant.`,
      },
    ],
  };
}

export interface NagAcknowledgementTargets {
  /** The dashboard site (its deployment published). */
  readonly dashboard: DashboardSite;
  /** Routes deliberately served without authorizer: the OpenAPI document. */
  readonly openApiRoutes: readonly HttpRoute[];
  /** Routes authenticated by the ingest key inside the Lambda. */
  readonly ingestRoutes: readonly HttpRoute[];
  /** The service-owned bucket of the export files. */
  readonly exportsBucket: IBucket;
  /** Functions granted object access under the manual exports prefix of {@link exportsBucket}. */
  readonly manualExportObjectUsers: readonly ServiceFunction[];
  /** Key prefix of the manual export files, e.g. `manual/`. */
  readonly manualExportsPrefix: string;
  /** Functions granted schedule actions on {@link schedulesArnPattern}. */
  readonly scheduleManagers: readonly ServiceFunction[];
  /** ARN pattern of the schedules of the export schedule group (`arn:...:schedule/<group>/*`). */
  readonly schedulesArnPattern: string;
  /** Dead-letter queue the schedules are created with at run time. */
  readonly scheduleDeadLetterQueue: IQueue;
  /** The raw event log (Firehose stream and raw-data bucket). */
  readonly rawEventLog: RawEventLog;
  /** Functions granted reading the raw event log. */
  readonly rawEventLogReaders: readonly ServiceFunction[];
}

/**
 * A (possibly tokenized) string as cdk-nag names it in a finding: references become `<AWS::Region>`,
 * attributes `<LogicalId.Arn>`, e.g. `arn:<AWS::Partition>:scheduler:<AWS::Region>:...`.
 */
function nagName(stack: Stack, value: string): string {
  const render = (part: unknown): string => {
    if (typeof part === 'string') return part;
    const p = part as Record<string, unknown>;
    if (typeof p.Ref === 'string') return `<${p.Ref}>`;
    if (Array.isArray(p['Fn::GetAtt'])) return `<${(p['Fn::GetAtt'] as string[]).join('.')}>`;
    if (Array.isArray(p['Fn::Join'])) {
      const [separator, parts] = p['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
    throw new Error(`Cannot name ${JSON.stringify(part)} as cdk-nag does.`);
  };
  return render(stack.resolve(value));
}

function acknowledge(scope: Parameters<typeof Validations.of>[0], acks: readonly NagAcknowledgement[]): void {
  Validations.of(scope).acknowledge(...acks);
}

/**
 * Records the accepted cdk-nag findings on `stack`. Call it after every resource has been added (it
 * finds all {@link ServiceFunction}s in the stack, including ones added by later features), whether or
 * not the nag plugin runs: acknowledgements are construct metadata and do not change the template.
 */
export function acknowledgeNagFindings(stack: Stack & NagAcknowledgementTargets): void {
  for (const construct of stack.node.findAll()) {
    if (construct instanceof ServiceFunction) {
      acknowledge(construct, SERVICE_FUNCTION_ACKS);
      if (construct.role) {
        acknowledge(construct.role, SERVICE_FUNCTION_ROLE_ACKS);
      }
    }
  }
  for (const route of stack.openApiRoutes) {
    acknowledge(route, OPENAPI_ROUTE_ACKS);
  }
  for (const route of stack.ingestRoutes) {
    acknowledge(route, INGEST_ROUTE_ACKS);
  }
  // cdk-nag names a Fn::GetAtt by the resource's logical id: `<ExportsBucket4E1F2A3B.Arn>/manual/*`.
  const bucketLogicalId = stack.resolve((stack.exportsBucket.node.defaultChild as CfnElement).logicalId) as string;
  const objectsAcks = manualExportObjectsAcks(`<${bucketLogicalId}.Arn>/${stack.manualExportsPrefix}*`);
  for (const fn of stack.manualExportObjectUsers) {
    if (fn.role) acknowledge(fn.role, objectsAcks);
  }
  const schedulesAcks = scheduleManagementAcks(nagName(stack, stack.schedulesArnPattern));
  for (const fn of stack.scheduleManagers) {
    if (fn.role) acknowledge(fn.role, schedulesAcks);
  }
  acknowledge(stack.scheduleDeadLetterQueue, SCHEDULE_DLQ_ACKS);
  const rawBucketArn = nagName(stack, stack.rawEventLog.bucket.bucketArn);
  acknowledge(stack.rawEventLog.deliveryRole, rawEventLogDeliveryAcks(rawBucketArn));
  for (const fn of stack.rawEventLogReaders) {
    if (fn.role) acknowledge(fn.role, rawEventLogReadAcks(rawBucketArn));
  }
  acknowledge(stack.dashboard.distribution, DASHBOARD_DISTRIBUTION_ACKS);
  const deploymentRole = stack.dashboard.deployment?.handlerRole;
  if (deploymentRole) {
    const siteBucket = stack.resolve((stack.dashboard.bucket.node.defaultChild as CfnElement).logicalId) as string;
    const acks = dashboardDeploymentAcks(`<${siteBucket}.Arn>/*`);
    acknowledge(deploymentRole, acks.role);
    // The role's scope is the singleton handler function.
    if (deploymentRole.node.scope) acknowledge(deploymentRole.node.scope, acks.function);
  }
}
