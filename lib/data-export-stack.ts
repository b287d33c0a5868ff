import * as path from 'path';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Tags } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type AddRoutesOptions,
  CfnStage,
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption, TableGrants } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { ArnPrincipal, CompositePrincipal, Grant, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { dashboardBundleForDeployment } from '../dashboard/build';
import { DashboardSite } from './constructs/dashboard-site';
import { OperatorAlarms } from './constructs/operator-alarms';
import { RawEventLog } from './constructs/raw-event-log';
import { RawRevisionsExport } from './constructs/raw-revisions';
import { LogLevel, ServiceFunction, ServiceFunctionProps } from './constructs/service-function';

/** Default directory of the Lambda entry points (a path, never an import: lib/ does not import lambdas/). */
const DEFAULT_HANDLERS_DIR = path.join(__dirname, '..', 'lambdas', 'handlers');

/** Key prefix of the manual export files in the exports bucket (`manual/<envId>/<jobId>/<file>`). */
export const MANUAL_EXPORTS_PREFIX = 'manual/';
/** How long a manual export file stays in the exports bucket. */
export const MANUAL_EXPORTS_EXPIRATION = Duration.days(7);
/** Lifetime of a pre-signed download URL (`DOWNLOAD_LINK_SECONDS` of the management API). */
export const DOWNLOAD_LINK_LIFETIME = Duration.hours(1);

/**
 * Sparse index of the config table holding only the failing exports (items carrying `failingPk`),
 * sorted by `failingSince` (epoch): the hourly failure check queries it instead of scanning the table.
 */
export const FAILING_INDEX = {
  indexName: 'failing',
  partitionKey: { name: 'failingPk', type: AttributeType.STRING },
  sortKey: { name: 'failingSince', type: AttributeType.NUMBER },
} as const;

/** Index of the profiles table by shard and time of change: a profile export reads only what changed since T. */
export const PROFILES_UPDATED_INDEX = {
  indexName: 'updated',
  partitionKey: { name: 'pk', type: AttributeType.STRING },
  sortKey: { name: 'updatedAt', type: AttributeType.NUMBER },
} as const;

/**
 * Sparse index of the config table holding only the automatic export settings whose schedule is not
 * reconciled yet (items carrying `unreconciledPk`: set by every change, removed once the schedule
 * matches). Normally empty; the hourly check queries it to finish reconciles a crash or an outage cut.
 */
export const UNRECONCILED_INDEX = {
  indexName: 'unreconciled',
  partitionKey: { name: 'unreconciledPk', type: AttributeType.STRING },
} as const;

/**
 * Sparse index of the config table holding only the exports whose runs fail transiently (status items
 * carrying `transientPk`), sorted by when that began: the hourly check finds those failing for more
 * than 24 h for the operators' alarm.
 */
export const TRANSIENT_INDEX = {
  indexName: 'transient',
  partitionKey: { name: 'transientPk', type: AttributeType.STRING },
  sortKey: { name: 'transientSince', type: AttributeType.NUMBER },
} as const;

/**
 * Encryption context every sealed destination secret carries (`purpose`, next to its `environmentId`):
 * the functions may use the key only under it, so the key cannot seal or unseal anything else for them.
 */
export const DESTINATION_SECRET_CONTEXT = { key: 'purpose', value: 'destination-secret' } as const;

/** How often the failure check runs (design: hourly). */
export const FAILURE_CHECK_RATE = Duration.hours(1);

export interface ApiThrottle {
  /** Steady-state requests per second for the whole stage. */
  readonly rateLimit: number;
  /** Burst bucket size. */
  readonly burstLimit: number;
}

/**
 * Per-route limits of the HTTP API (API Gateway route settings). They cap the whole service, across
 * tenants: what one tenant may run at once is limited by the service itself (manual export slots).
 */
export interface ApiRouteThrottles {
  /** `ANY /v1/{proxy+}`: the management API. @default 50 rps, burst 100 */
  readonly management?: ApiThrottle;
  /** `POST /v1/environments/{envId}/exports/manual`: each call starts an export of up to 15 minutes. @default 5 rps, burst 10 */
  readonly manualExportStart?: ApiThrottle;
  /** `GET /v1/openapi.json`: public, without a token. @default 10 rps, burst 20 */
  readonly openApi?: ApiThrottle;
  /** `ANY /ingest/{proxy+}`: the tracking SDKs of every tenant. @default 500 rps, burst 1000 */
  readonly ingest?: ApiThrottle;
}

export const DEFAULT_ROUTE_THROTTLES: Required<ApiRouteThrottles> = {
  management: { rateLimit: 50, burstLimit: 100 },
  manualExportStart: { rateLimit: 5, burstLimit: 10 },
  openApi: { rateLimit: 10, burstLimit: 20 },
  ingest: { rateLimit: 500, burstLimit: 1000 },
};

/** Default reserved concurrency of run-export; the account must keep 100 unreserved executions besides. */
export const DEFAULT_RUN_EXPORT_RESERVED_CONCURRENCY = 20;
/** Default flexible window of the export schedules: runs spread over the hour after 00:00 UTC. */
export const DEFAULT_SCHEDULE_FLEXIBLE_WINDOW = Duration.minutes(60);

export interface DataExportStackProps extends StackProps {
  /** Stage name (`dev`, `prod`, ...): passed to the functions as `STAGE` and used in tags. */
  readonly stage: string;
  /** Issuer (`iss`) of the dashboard's JWT bearer tokens (https URL). */
  readonly jwtIssuer: string;
  /** Accepted audience(s) (`aud`) of those tokens. */
  readonly jwtAudience: string | string[];
  /** `LOG_LEVEL` of every function. @default 'INFO' */
  readonly logLevel?: LogLevel;
  /** Default throttling of the API stage, for routes without their own. @default 100 rps, burst 200 */
  readonly apiThrottle?: ApiThrottle;
  /** Throttling of each route, over the stage's default. @default {@link DEFAULT_ROUTE_THROTTLES} */
  readonly apiRouteThrottles?: ApiRouteThrottles;
  /**
   * Reserved concurrency of run-export: caps exports running at once (and what they cost), and keeps
   * them from starving the API and ingest functions. Asynchronous invocations over it wait in Lambda's
   * queue (up to the event's maximum age, 1 hour) instead of failing.
   * @default {@link DEFAULT_RUN_EXPORT_RESERVED_CONCURRENCY}
   */
  readonly runExportReservedConcurrency?: number;
  /**
   * Flexible time window of the export schedules (`SCHEDULE_FLEXIBLE_WINDOW_MINUTES`, 1 minute to
   * 24 hours): EventBridge Scheduler invokes each within this window after 00:00 UTC, spreading tenants.
   * The snapshot instant still is 00:00 UTC: the run reads `<aws.scheduler.scheduled-time>`, the
   * schedule's nominal time, not the invocation's.
   * @default {@link DEFAULT_SCHEDULE_FLEXIBLE_WINDOW}
   */
  readonly scheduleFlexibleWindow?: Duration;
  /** Browser origins allowed to call the API (CORS) besides the dashboard's; preflights bypass the JWT authorizer. @default the dashboard only */
  readonly corsAllowedOrigins?: string[];
  /** Folder of the built dashboard (without config.json). @default built in-process by esbuild at synth */
  readonly dashboardBundleDir?: string;
  /** Directory holding the Lambda entry files. @default `<repo>/lambdas/handlers` */
  readonly handlersDir?: string;
  /**
   * From address of the failure emails (`SENDER_EMAIL`). The address, or its domain, must be a verified
   * SES identity in the stack's account and region; check-failures may send only as this address.
   */
  readonly senderEmail: string;
  /** Dashboard base URL the failure emails link to (`DASHBOARD_URL`), an https URL. */
  readonly dashboardUrl: string;
  /** How long a replaced ingest key keeps working after a rotation (`INGEST_KEY_GRACE_SECONDS`). @default 24 hours */
  readonly ingestKeyGracePeriod?: Duration;
  /** Subscribed by email to the operators' alarm topic (internal export failures, long transient failures). @default no subscription */
  readonly operatorEmail?: string;
}

/** Options of {@link DataExportStack.addServiceFunction}. */
export interface AddServiceFunctionOptions
  extends Omit<ServiceFunctionProps, 'entry' | 'serviceName' | 'logLevel'> {
  /** Entry file name inside the handlers directory, e.g. `run-export.ts`. */
  readonly entryFile: string;
}

/**
 * The data export service: configuration and usage tables, the HTTP API (management routes behind a
 * JWT authorizer, the public OpenAPI document, the ingest routes authenticated by the environment's
 * key) and their Lambdas, and the manual exports: the run-export Lambda (invoked asynchronously by the
 * management API) writing into the service-owned exports bucket, downloaded by pre-signed URL.
 *
 * Automatic exports: one EventBridge Scheduler schedule per environment, created, updated and deleted at
 * run time by the management API in one schedule group, invoking run-export with a dedicated execution
 * role (failed invocations go to a dead-letter queue); customers' secret access keys are sealed with a
 * KMS key; the hourly check-failures Lambda emails the owners of failing exports (SES) and stops them.
 *
 * Functions are added with {@link addServiceFunction}, which wires the shared environment; each one is
 * then granted exactly what it needs.
 */
export class DataExportStack extends Stack {
  public readonly stage: string;
  /** Settings, destinations, jobs, run status and history, email-sequence state. */
  public readonly configTable: Table;
  /** Companies, users, features, segments, per company x feature usage, feedback, raw events. */
  public readonly usageTable: Table;
  /** User profiles: latest attributes per user, indexed by time of change ({@link PROFILES_UPDATED_INDEX}). */
  public readonly profilesTable: Table;
  /** Service-owned bucket of the manual export files (`manual/`, expired after 7 days). */
  public readonly exportsBucket: Bucket;
  /** Server access logs of the exports bucket (who downloaded what, from where). */
  public readonly accessLogsBucket: Bucket;
  /** Runs manual export jobs (asynchronous invocations from the management API). */
  public readonly runExportFunction: ServiceFunction;
  /** Asynchronous run-export invocations that still failed after Lambda's retries, or got too old. */
  public readonly runExportDeadLetterQueue: Queue;
  /** Key prefix of the manual export files in {@link exportsBucket}. */
  public readonly manualExportsPrefix = MANUAL_EXPORTS_PREFIX;
  /** Functions with object access under {@link manualExportsPrefix} (API: read; run-export: write). */
  public readonly manualExportObjectUsers: ServiceFunction[];
  /**
   * The role customers' bucket policies grant s3:PutObject (bucket-policy destinations). Its own policy
   * grants nothing: what it may write is what each customer's bucket policy allows.
   */
  public readonly exportRole: Role;
  public readonly httpApi: HttpApi;
  /** The dashboard: S3 + CloudFront, allowed by the API's CORS configuration. */
  public readonly dashboard: DashboardSite;
  /** The `$default` stage (access logs, throttling); its URL is the API's base URL. */
  public readonly apiStage: HttpStage;
  public readonly jwtAuthorizer: HttpJwtAuthorizer;
  /** Management API (`/v1/...`, including the public OpenAPI document). */
  public readonly apiFunction: ServiceFunction;
  /** Tracking ingest (`/ingest/...`). */
  public readonly ingestFunction: ServiceFunction;
  /** Every accepted ingest item: Firehose into the raw-data bucket, by environment and receive hour. */
  public readonly rawEventLog: RawEventLog;
  /** Functions that read the raw event log's objects (the raw revisions export's runs). */
  public readonly rawLogReaders: ServiceFunction[];
  /** `GET /v1/openapi.json`: public by design, no authorizer. */
  public readonly openApiRoutes: HttpRoute[];
  /** `ANY /ingest/{proxy+}`: no JWT; the ingest Lambda authenticates the environment's ingest key. */
  public readonly ingestRoutes: HttpRoute[];
  /** `ANY /v1/{proxy+}`: JWT authorizer. */
  public readonly managementRoutes: HttpRoute[];
  /** `POST /v1/environments/{envId}/exports/manual`: JWT authorizer, its own throttling. */
  public readonly manualExportStartRoutes: HttpRoute[];
  /** Seals customer secret access keys (encryption context `purpose=destination-secret`). */
  public readonly destinationSecretsKey: Key;
  /** Holds the one schedule per environment with automatic export (created at run time by the API). */
  public readonly scheduleGroup: ScheduleGroup;
  /** ARN pattern of the schedules in {@link scheduleGroup}: `arn:...:schedule/<group>/*`. */
  public readonly schedulesArnPattern: string;
  /** Execution role of the schedules: may only invoke run-export and send to {@link scheduleDeadLetterQueue}. */
  public readonly schedulerRole: Role;
  /** Scheduled invocations of run-export that still failed after the schedule's retry policy. */
  public readonly scheduleDeadLetterQueue: Queue;
  /** Hourly failure check: the three-email sequence, then stopping the export. */
  public readonly checkFailuresFunction: ServiceFunction;
  /** `rate(1 hour)` rule invoking {@link checkFailuresFunction}. */
  public readonly checkFailuresRule: Rule;
  /** Failure checks that could not be delivered by EventBridge, or still failed after Lambda's retries. */
  public readonly checkFailuresDeadLetterQueue: Queue;
  /** Alarms for the operators (internal export failures, exports failing transiently past 24 h) and their SNS topic. */
  public readonly operatorAlarms: OperatorAlarms;
  /** Functions granted schedule actions on {@link schedulesArnPattern}: the API and check-failures (reconcile). */
  public readonly scheduleManagers: ServiceFunction[];

  private readonly handlersDir: string;
  private readonly logLevel: LogLevel;

  constructor(scope: Construct, id: string, props: DataExportStackProps) {
    super(scope, id, props);
    // Server access logs are delivered under a bucket policy (AWS's recommendation; ACLs stay disabled)
    // rather than the LogDeliveryWrite ACL CDK uses without this flag. Set on the stack, so it holds
    // whichever app builds it; cdk.json may set it too.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    this.stage = props.stage;
    this.handlersDir = props.handlersDir ?? DEFAULT_HANDLERS_DIR;
    this.logLevel = props.logLevel ?? 'INFO';

    Tags.of(this).add('service', 'data-export');
    Tags.of(this).add('stage', props.stage);

    // ---- Tables -------------------------------------------------------------------------------
    // Finished manual export jobs carry `expiresAt` (epoch seconds) and are removed by TTL.
    this.configTable = this.createTable('ConfigTable', { timeToLiveAttribute: 'expiresAt' });
    // Sparse: only failing exports carry `failingPk`; a successful run removes it (and ends the sequence).
    this.configTable.addGlobalSecondaryIndex({ ...FAILING_INDEX, projectionType: ProjectionType.ALL });
    // Sparse too: only settings changed since their schedule was last reconciled; keys are all it needs.
    this.configTable.addGlobalSecondaryIndex({ ...UNRECONCILED_INDEX, projectionType: ProjectionType.KEYS_ONLY });
    this.configTable.addGlobalSecondaryIndex({ ...TRANSIENT_INDEX, projectionType: ProjectionType.KEYS_ONLY });
    this.usageTable = this.createTable('UsageTable');
    this.profilesTable = this.createTable('ProfilesTable');
    this.profilesTable.addGlobalSecondaryIndex({ ...PROFILES_UPDATED_INDEX, projectionType: ProjectionType.ALL });

    // ---- Destination secrets ------------------------------------------------------------------
    this.destinationSecretsKey = new Key(this, 'DestinationSecretsKey', {
      description: `Seals the secret access keys of customer export destinations (data export, ${props.stage})`,
      enableKeyRotation: true,
      // Deleting the key would make every saved destination unreadable.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // ---- Exports bucket -----------------------------------------------------------------------
    this.accessLogsBucket = new Bucket(this, 'AccessLogsBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // Log delivery only writes to SSE-S3 buckets.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'ExpireAccessLogs', expiration: Duration.days(90) },
        { id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.exportsBucket = new Bucket(this, 'ExportsBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // Deterministic keys: a re-run overwrites its file; old versions would only add cost.
      versioned: false,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'exports-bucket/',
      lifecycleRules: [
        { id: 'ExpireManualExports', prefix: MANUAL_EXPORTS_PREFIX, expiration: MANUAL_EXPORTS_EXPIRATION },
        // Parts a failed export could not abort (the sink aborts on failure, best effort).
        { id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // ---- Functions ----------------------------------------------------------------------------
    // API Gateway waits 30 s: saving settings lists the customer's bucket, which may be slow to answer.
    this.apiFunction = this.addServiceFunction('ApiFunction', {
      entryFile: 'api.ts',
      description: 'Data export management API (settings, destinations, exports, jobs)',
      timeout: Duration.seconds(29),
    });
    this.tableData(this.configTable).readWriteData(this.apiFunction);
    // GET .../events reads the event catalog (one Query) from the usage table.
    Grant.addToPrincipal({ grantee: this.apiFunction, actions: ['dynamodb:Query'], resourceArns: [this.usageTable.tableArn] });

    // A 1,000-item bulk is a few thousand conditional writes.
    this.ingestFunction = this.addServiceFunction('IngestFunction', {
      entryFile: 'ingest.ts',
      description: 'Tracking data ingest (Bucket-compatible HTTP API)',
      timeout: Duration.seconds(29),
    });
    this.tableData(this.configTable).readData(this.ingestFunction);
    this.tableData(this.usageTable).readWriteData(this.ingestFunction);

    // ---- Raw event log --------------------------------------------------------------------------
    this.rawEventLog = new RawEventLog(this, 'RawEventLog', { accessLogsBucket: this.accessLogsBucket });
    this.ingestFunction.addEnvironment('RAW_EVENTS_STREAM', this.rawEventLog.streamName);
    this.rawEventLog.grantPutRecords(this.ingestFunction);
    // Ingest updates profiles (one UpdateItem per user item) and nothing else of that table.
    this.ingestFunction.addEnvironment('PROFILES_TABLE', this.profilesTable.tableName);
    Grant.addToPrincipal({ grantee: this.ingestFunction, actions: ['dynamodb:UpdateItem'], resourceArns: [this.profilesTable.tableArn] });

    // ---- Manual exports -----------------------------------------------------------------------
    this.runExportDeadLetterQueue = new Queue(this, 'RunExportDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.runExportFunction = this.addServiceFunction('RunExportFunction', {
      entryFile: 'run-export.ts',
      description: 'Runs export jobs: manual exports into the exports bucket, scheduled exports into customer buckets',
      // An export is CPU-bound on one thread (reading, rows, CSV): 1,769 MB is one full vCPU, and the
      // export finishes in proportion sooner, for the same GB-seconds as less memory.
      memorySize: 1769,
      timeout: Duration.minutes(15),
      environment: {
        EXPORTS_BUCKET: this.exportsBucket.bucketName,
        SECRETS_KEY_ID: this.destinationSecretsKey.keyArn,
      },
      // Scheduled exports write into customers' buckets (AWS, GCS, R2, ...) over the internet: no VPC.
      // A job record is claimed with a conditional write, so a redelivered event never runs it twice.
      retryAttempts: 2,
      // Also how long a throttled invocation waits for a free execution; a manual export's slot lease
      // (lambdas/core/manual-export.ts) counts on a job starting within this hour or never.
      maxEventAge: Duration.hours(1),
      reservedConcurrentExecutions: positiveInteger(
        'runExportReservedConcurrency',
        props.runExportReservedConcurrency ?? DEFAULT_RUN_EXPORT_RESERVED_CONCURRENCY,
      ),
      deadLetterQueue: this.runExportDeadLetterQueue,
    });
    this.tableData(this.configTable).readWriteData(this.runExportFunction);
    this.tableData(this.usageTable).readData(this.runExportFunction);
    // Streams each file as a multipart upload (lib-storage): Create/UploadPart/Complete are s3:PutObject;
    // a failed upload is aborted. No read, list or delete (files expire by the lifecycle rule).
    Grant.addToPrincipal({
      grantee: this.runExportFunction,
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resourceArns: [this.exportsBucket.arnForObjects(`${MANUAL_EXPORTS_PREFIX}*`)],
    });

    this.apiFunction.addEnvironment('EXPORTS_BUCKET', this.exportsBucket.bucketName);
    this.apiFunction.addEnvironment('EXPORT_FUNCTION_NAME', this.runExportFunction.functionName);
    this.apiFunction.addEnvironment('DOWNLOAD_LINK_SECONDS', String(DOWNLOAD_LINK_LIFETIME.toSeconds()));
    this.apiFunction.addEnvironment('INGEST_KEY_GRACE_SECONDS', String((props.ingestKeyGracePeriod ?? Duration.hours(24)).toSeconds()));
    // Asynchronous invocation (InvocationType Event) of the unqualified function only.
    this.runExportFunction.grantInvokeLatestVersion(this.apiFunction);
    // Pre-signed download URLs are signed with the API's role: S3 checks its s3:GetObject when used.
    Grant.addToPrincipal({
      grantee: this.apiFunction,
      actions: ['s3:GetObject'],
      resourceArns: [this.exportsBucket.arnForObjects(`${MANUAL_EXPORTS_PREFIX}*`)],
    });
    this.manualExportObjectUsers = [this.apiFunction, this.runExportFunction];

    // ---- Raw revisions export (lib/constructs/raw-revisions.ts) ----------------------------------
    this.rawLogReaders = [this.runExportFunction];
    new RawRevisionsExport(this, 'RawRevisionsExport', { rawEventLog: this.rawEventLog, readers: this.rawLogReaders, listers: [this.apiFunction] });

    // ---- Automatic exports ----------------------------------------------------------------------
    this.scheduleGroup = new ScheduleGroup(this, 'ExportSchedules', {
      // No name given: CDK derives a unique one from the stack name and construct path.
      // Destroyed with the stack: its schedules invoke this stack's run-export with this stack's role,
      // which go with it; the (retained) config table stays the record of what was scheduled.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.schedulesArnPattern = this.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.scheduleGroup.scheduleGroupName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.scheduleDeadLetterQueue = new Queue(this, 'ScheduleDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.schedulerRole = new Role(this, 'SchedulerRole', {
      description: 'Execution role of the automatic export schedules: invokes run-export',
      // Confused deputy: only schedules of this account's export schedule group may assume it.
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': this.account,
            'aws:SourceArn': this.scheduleGroup.scheduleGroupArn,
          },
        },
      }),
    });
    // Schedules target the unqualified function ARN; no version or alias.
    Grant.addToPrincipal({
      grantee: this.schedulerRole,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [this.runExportFunction.functionArn],
    });
    Grant.addToPrincipal({
      grantee: this.schedulerRole,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.scheduleDeadLetterQueue.queueArn],
    });

    // The API creates, updates and deletes an environment's schedule; it reads one back for its status
    // (next run). It passes the execution role to EventBridge Scheduler only.
    const flexibleWindow = props.scheduleFlexibleWindow ?? DEFAULT_SCHEDULE_FLEXIBLE_WINDOW;
    const flexibleWindowMinutes = flexibleWindow.toSeconds() / 60;
    if (!Number.isInteger(flexibleWindowMinutes) || flexibleWindowMinutes < 1 || flexibleWindowMinutes > 1440) {
      throw new Error(
        `scheduleFlexibleWindow must be whole minutes from 1 to 1440 (EventBridge Scheduler's limits); got ${flexibleWindow.toHumanString()}.`,
      );
    }
    const scheduleEnvironment = {
      SCHEDULE_GROUP_NAME: this.scheduleGroup.scheduleGroupName,
      SCHEDULE_FLEXIBLE_WINDOW_MINUTES: String(flexibleWindowMinutes),
      SCHEDULER_ROLE_ARN: this.schedulerRole.roleArn,
      RUN_EXPORT_FUNCTION_ARN: this.runExportFunction.functionArn,
      SCHEDULE_DLQ_ARN: this.scheduleDeadLetterQueue.queueArn,
    };
    for (const [name, value] of Object.entries(scheduleEnvironment)) this.apiFunction.addEnvironment(name, value);
    this.grantScheduleManagement(this.apiFunction);

    // Destination secrets: the API seals on save and unseals to re-validate a saved destination when the
    // secret is omitted; run-export only unseals. Only under the secrets' context.
    this.apiFunction.addEnvironment('SECRETS_KEY_ID', this.destinationSecretsKey.keyArn);
    this.grantDestinationSecrets(this.apiFunction, 'kms:Encrypt', 'kms:Decrypt');
    this.grantDestinationSecrets(this.runExportFunction, 'kms:Decrypt');

    // ---- Bucket-policy destinations -------------------------------------------------------------
    // One role for the customers' bucket policies to name, whichever function writes: the API assumes
    // it for the zero-byte probe write that validates a destination on save, run-export for the runs.
    // (Naming run-export's own role would leave the API unable to probe, and would grant the customer's
    // bucket to a role that also holds the service's data.) It is trusted by those two roles only.
    this.exportRole = new Role(this, 'ExportRole', {
      description: "Writes into customer buckets whose bucket policy grants it s3:PutObject; no permissions of its own",
      assumedBy: new CompositePrincipal(new ArnPrincipal(this.apiFunction.role!.roleArn), new ArnPrincipal(this.runExportFunction.role!.roleArn)),
      maxSessionDuration: Duration.hours(1),
    });
    for (const fn of [this.apiFunction, this.runExportFunction]) {
      Grant.addToPrincipal({ grantee: fn, actions: ['sts:AssumeRole'], resourceArns: [this.exportRole.roleArn] });
      fn.addEnvironment('EXPORT_ROLE_ARN', this.exportRole.roleArn);
    }

    // ---- Failure check ------------------------------------------------------------------------
    this.checkFailuresDeadLetterQueue = new Queue(this, 'CheckFailuresDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.checkFailuresFunction = this.addServiceFunction('CheckFailuresFunction', {
      entryFile: 'check-failures.ts',
      description: 'Hourly failure check: warns the owners of failing exports by email, stops them after 72 h',
      memorySize: 512,
      timeout: Duration.minutes(5),
      // One check at a time: overlapping checks only repeat work (each email is sent once by conditional writes).
      reservedConcurrentExecutions: 1,
      environment: {
        SENDER_EMAIL: props.senderEmail,
        DASHBOARD_URL: props.dashboardUrl,
        ...scheduleEnvironment,
      },
      // A failed check is retried; one older than the next hourly check is superseded by it.
      retryAttempts: 2,
      maxEventAge: FAILURE_CHECK_RATE,
      deadLetterQueue: this.checkFailuresDeadLetterQueue,
    });
    // Records the emails sent and stops exports (config table); reads the failing exports by index.
    this.tableData(this.configTable).readWriteData(this.checkFailuresFunction);
    Grant.addToPrincipal({
      grantee: this.checkFailuresFunction,
      actions: ['dynamodb:Query'],
      resourceArns: [FAILING_INDEX, UNRECONCILED_INDEX, TRANSIENT_INDEX].map((index) => `${this.configTable.tableArn}/index/${index.indexName}`),
    });
    // Reconciles schedules with their saved settings (a save whose own reconcile did not finish), which
    // creates, updates or deletes them; stopping a failing export deletes its schedule.
    this.grantScheduleManagement(this.checkFailuresFunction);
    this.scheduleManagers = [this.apiFunction, this.checkFailuresFunction];
    // SES authorizes sending against the identity used: the address itself, or its domain when only the
    // domain is verified. ses:FromAddress keeps the domain identity to this one sender address.
    const senderDomain = props.senderEmail.slice(props.senderEmail.lastIndexOf('@') + 1);
    Grant.addToPrincipal({
      grantee: this.checkFailuresFunction,
      actions: ['ses:SendEmail', 'ses:SendRawEmail'],
      resourceArns: [props.senderEmail, senderDomain].map((identity) =>
        this.formatArn({ service: 'ses', resource: 'identity', resourceName: identity }),
      ),
      conditions: { StringEquals: { 'ses:FromAddress': props.senderEmail } },
    });
    this.checkFailuresRule = new Rule(this, 'CheckFailuresSchedule', {
      description: 'Runs the hourly failure check of the automatic exports',
      schedule: Schedule.rate(FAILURE_CHECK_RATE),
      targets: [
        new LambdaFunction(this.checkFailuresFunction, {
          retryAttempts: 2,
          maxEventAge: FAILURE_CHECK_RATE,
          deadLetterQueue: this.checkFailuresDeadLetterQueue,
        }),
      ],
    });

    // ---- Operator alarms ------------------------------------------------------------------------
    this.operatorAlarms = new OperatorAlarms(this, 'OperatorAlarms', {
      namespace: `DataExport/${props.stage}`,
      serviceName: 'data-export',
      publishers: [this.runExportFunction, this.checkFailuresFunction, this.ingestFunction],
      operatorEmail: props.operatorEmail,
      functions: {
        Api: this.apiFunction,
        Ingest: this.ingestFunction,
        RunExport: this.runExportFunction,
        CheckFailures: this.checkFailuresFunction,
      },
      deadLetterQueues: {
        RunExport: this.runExportDeadLetterQueue,
        Schedule: this.scheduleDeadLetterQueue,
        CheckFailures: this.checkFailuresDeadLetterQueue,
      },
      hourlyCheck: this.checkFailuresFunction,
      rawEventsDeliveryStreamName: this.rawEventLog.streamName,
    });

    // ---- HTTP API -----------------------------------------------------------------------------
    const audience = Array.isArray(props.jwtAudience) ? props.jwtAudience : [props.jwtAudience];
    this.jwtAuthorizer = new HttpJwtAuthorizer('JwtAuthorizer', props.jwtIssuer, {
      jwtAudience: audience,
      identitySource: ['$request.header.Authorization'],
    });

    this.dashboard = new DashboardSite(this, 'Dashboard', {
      bundleDir: props.dashboardBundleDir ?? dashboardBundleForDeployment(),
      accessLogsBucket: this.accessLogsBucket,
    });
    const corsAllowedOrigins = [this.dashboard.url, ...(props.corsAllowedOrigins ?? [])];
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: `Data export service API (${props.stage})`,
      // Secure by default: any route added later needs a JWT unless it opts out explicitly.
      defaultAuthorizer: this.jwtAuthorizer,
      // The $default stage is created below, with access logs and throttling.
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: corsAllowedOrigins,
        allowMethods: [CorsHttpMethod.ANY],
        allowHeaders: ['authorization', 'content-type'],
        // Read by the dashboard: where a started export is, and when to start another (429).
        exposeHeaders: ['location', 'retry-after'],
        maxAge: Duration.hours(1),
      },
    });
    this.dashboard.publish(this.httpApi.apiEndpoint);

    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const throttle = throttleOf('apiThrottle', props.apiThrottle ?? { rateLimit: 100, burstLimit: 200 });
    this.apiStage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // JSON, HTTP API context variables only. $context.path has no query string, so an ingest key
        // passed as ?publishableKey= never reaches the logs; no header or claim is logged either.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            httpMethod: '$context.httpMethod',
            routeKey: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });

    const apiIntegration = new HttpLambdaIntegration('ApiIntegration', this.apiFunction);
    const ingestIntegration = new HttpLambdaIntegration('IngestIntegration', this.ingestFunction);

    // Each route with its throttling (route settings of the stage, keyed by route key).
    const routeThrottles = { ...DEFAULT_ROUTE_THROTTLES, ...definedOnly(props.apiRouteThrottles) };
    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    const addRoute = (options: AddRoutesOptions & { methods: [HttpMethod] }, limit: ApiThrottle): HttpRoute[] => {
      const routeKey = `${options.methods[0]} ${options.path}`;
      routeSettings[routeKey] = throttleSettings(throttleOf(`apiRouteThrottles of ${routeKey}`, limit));
      return this.httpApi.addRoutes(options);
    };
    this.managementRoutes = addRoute(
      { path: '/v1/{proxy+}', methods: [HttpMethod.ANY], integration: apiIntegration, authorizer: this.jwtAuthorizer },
      routeThrottles.management,
    );
    // Its own route (the most specific route wins) only to get its own, lower, limit.
    this.manualExportStartRoutes = addRoute(
      {
        path: '/v1/environments/{envId}/exports/manual',
        methods: [HttpMethod.POST],
        integration: apiIntegration,
        authorizer: this.jwtAuthorizer,
      },
      routeThrottles.manualExportStart,
    );
    this.openApiRoutes = addRoute(
      { path: '/v1/openapi.json', methods: [HttpMethod.GET], integration: apiIntegration, authorizer: new HttpNoneAuthorizer() },
      routeThrottles.openApi,
    );
    this.ingestRoutes = addRoute(
      { path: '/ingest/{proxy+}', methods: [HttpMethod.ANY], integration: ingestIntegration, authorizer: new HttpNoneAuthorizer() },
      routeThrottles.ingest,
    );
    // No L2 property for route settings. The stage must be deployed after the routes it names.
    const cfnStage = this.apiStage.node.defaultChild as CfnStage;
    cfnStage.routeSettings = routeSettings;
    for (const route of [...this.managementRoutes, ...this.manualExportStartRoutes, ...this.openApiRoutes, ...this.ingestRoutes]) {
      cfnStage.node.addDependency(route);
    }

    // ---- Outputs ------------------------------------------------------------------------------
    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the HTTP API (management under /v1, ingest under /ingest)',
      value: this.apiStage.url,
    });
    new CfnOutput(this, 'DashboardUrl', { value: this.dashboard.url, description: 'The dashboard (sign in with a member token)' });
    new CfnOutput(this, 'ConfigTableName', { value: this.configTable.tableName });
    new CfnOutput(this, 'UsageTableName', { value: this.usageTable.tableName });
    new CfnOutput(this, 'ProfilesTableName', { value: this.profilesTable.tableName });
    new CfnOutput(this, 'ExportsBucketName', { value: this.exportsBucket.bucketName });
    new CfnOutput(this, 'RawEventsBucketName', {
      description: 'Raw event log: raw/<envId>/<yyyy>/<mm>/<dd>/<hh>/*.jsonl.gz',
      value: this.rawEventLog.bucket.bucketName,
    });
    new CfnOutput(this, 'RawEventsStreamName', { value: this.rawEventLog.streamName });
    new CfnOutput(this, 'RunExportFunctionName', { value: this.runExportFunction.functionName });
    new CfnOutput(this, 'ScheduleGroupName', {
      description: 'EventBridge Scheduler group of the automatic export schedules',
      value: this.scheduleGroup.scheduleGroupName,
    });
    new CfnOutput(this, 'CheckFailuresFunctionName', { value: this.checkFailuresFunction.functionName });
    new CfnOutput(this, 'OperatorAlarmTopicArn', {
      description: 'SNS topic of the operator alarms (subscribe to it, or set -c operatorEmail=...)',
      value: this.operatorAlarms.topic.topicArn,
    });
    new CfnOutput(this, 'ExportRoleArn', {
      description: "The service's export role: bucket policies of bucket-policy destinations grant it s3:PutObject",
      value: this.exportRole.roleArn,
    });
    new CfnOutput(this, 'DestinationSecretsKeyArn', {
      description: 'KMS key sealing the secret access keys of customer destinations',
      value: this.destinationSecretsKey.keyArn,
    });
  }

  /**
   * Creates a {@link ServiceFunction} for `<handlersDir>/<entryFile>` with the environment every
   * function shares (`CONFIG_TABLE`, `USAGE_TABLE`, `STAGE`, `LOG_LEVEL`, `POWERTOOLS_SERVICE_NAME`)
   * merged under `options.environment`. Grants nothing: callers grant exactly what the function needs.
   */
  public addServiceFunction(id: string, options: AddServiceFunctionOptions): ServiceFunction {
    const { entryFile, environment, ...rest } = options;
    return new ServiceFunction(this, id, {
      ...rest,
      entry: path.join(this.handlersDir, entryFile),
      serviceName: 'data-export',
      logLevel: this.logLevel,
      environment: {
        CONFIG_TABLE: this.configTable.tableName,
        USAGE_TABLE: this.usageTable.tableName,
        STAGE: this.stage,
        ...environment,
      },
    });
  }

  /**
   * Item-level grants on `table` itself. `table.grant*Data` would also grant `<table>/index/*` once the
   * table has an index; indexes are granted by name, to the functions that query them.
   */
  private tableData(table: Table): TableGrants {
    return TableGrants.fromTable(table, [], false);
  }

  /** Create, update and delete the export schedules, passing the execution role to EventBridge Scheduler only. */
  private grantScheduleManagement(fn: ServiceFunction): void {
    Grant.addToPrincipal({
      grantee: fn,
      actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
      resourceArns: [this.schedulesArnPattern],
    });
    Grant.addToPrincipal({
      grantee: fn,
      actions: ['iam:PassRole'],
      resourceArns: [this.schedulerRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    });
  }

  /** `actions` on the destination secrets key, only under the destination secrets' encryption context. */
  private grantDestinationSecrets(fn: ServiceFunction, ...actions: string[]): Grant {
    return Grant.addToPrincipal({
      grantee: fn,
      actions,
      resourceArns: [this.destinationSecretsKey.keyArn],
      conditions: {
        StringEquals: { [`kms:EncryptionContext:${DESTINATION_SECRET_CONTEXT.key}`]: DESTINATION_SECRET_CONTEXT.value },
      },
    });
  }

  private createTable(id: string, options: { timeToLiveAttribute?: string } = {}): Table {
    return new Table(this, id, {
      ...options,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer; got ${value}.`);
  return value;
}

/** A throttle API Gateway accepts: a rate of at least 0 requests per second, a whole burst of at least 0. */
function throttleOf(name: string, throttle: ApiThrottle): ApiThrottle {
  if (!(throttle.rateLimit >= 0) || !Number.isInteger(throttle.burstLimit) || throttle.burstLimit < 0) {
    throw new Error(`${name} must have a rateLimit >= 0 and a whole burstLimit >= 0; got ${JSON.stringify(throttle)}.`);
  }
  return throttle;
}

const throttleSettings = (throttle: ApiThrottle) => ({
  ThrottlingRateLimit: throttle.rateLimit,
  ThrottlingBurstLimit: throttle.burstLimit,
});

/** The properties that are set, so an explicit `undefined` does not replace a default. */
const definedOnly = <T extends object>(value: T | undefined): Partial<T> =>
  Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
