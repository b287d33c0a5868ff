import * as path from 'path';
import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Tags } from 'aws-cdk-lib';
import { HttpApi, HttpRoute, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Rule } from 'aws-cdk-lib/aws-events';
import { Grant, Role } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { ENV } from '../contracts/function-environment';
import { dashboardBundleForDeployment } from '../dashboard/build';
import { DashboardSite } from './constructs/dashboard-site';
import { ExportJobs } from './constructs/export-jobs';
import { ExportSchedules } from './constructs/export-schedules';
import { Exports } from './constructs/exports';
import { FailureCheck } from './constructs/failure-check';
import { addHttpApi, type ApiRouteThrottles, type ApiThrottle } from './constructs/http-api';
import { Ingest } from './constructs/ingest';
import { OperatorAlarms } from './constructs/operator-alarms';
import { RawEventLog } from './constructs/raw-event-log';
import { LogLevel, ServiceFunction } from './constructs/service-function';
import { AddServiceFunctionOptions, grantDestinationSecrets, tableItems } from './constructs/service-functions';

export { DESTINATION_SECRET_CONTEXT, type AddServiceFunctionOptions } from './constructs/service-functions';
export { DEFAULT_ROUTE_THROTTLES, type ApiRouteThrottles, type ApiThrottle } from './constructs/http-api';

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

/** How often the failure check runs (design: hourly). */
export const FAILURE_CHECK_RATE = Duration.hours(1);

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

/**
 * The data export service, composed of one construct per concern:
 * - the state, at the stack's root (so it keeps its logical ids): the config, usage and profiles tables,
 *   the destination secrets key, the exports and access-log buckets, the raw event log (Firehose into its
 *   bucket) and the schedule group;
 * - {@link Ingest}: the tracking ingest function;
 * - {@link Exports}: run-export (manual exports into the exports bucket, downloaded by pre-signed URL;
 *   scheduled exports and export jobs into customers' buckets), invoked asynchronously by the API;
 * - {@link ExportSchedules}: the schedules created at run time (one per environment with automatic
 *   export, one per recurring export job), their execution role and dead-letter queue;
 * - {@link ExportJobs}: what job runs read (raw event log, profiles) and the export role bucket-policy
 *   destinations grant;
 * - {@link FailureCheck}: the hourly check emailing the owners of failing exports;
 * - {@link OperatorAlarms} and {@link DashboardSite};
 * - the HTTP API (management routes behind a JWT authorizer, the public OpenAPI document, the ingest
 *   routes authenticated by the environment's key).
 *
 * Functions are created by {@link addServiceFunction}'s factory, which wires the shared environment;
 * each construct then grants its functions exactly what they need.
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
  /** Seals customer secret access keys (encryption context `purpose=destination-secret`). */
  public readonly destinationSecretsKey: Key;
  /** Every accepted ingest item: Firehose into the raw-data bucket, by environment and receive hour. */
  public readonly rawEventLog: RawEventLog;
  /** Holds the schedules created at run time by the API. */
  public readonly scheduleGroup: ScheduleGroup;
  /** Key prefix of the manual export files in {@link exportsBucket}. */
  public readonly manualExportsPrefix = MANUAL_EXPORTS_PREFIX;

  /** Management API (`/v1/...`, including the public OpenAPI document). */
  public readonly apiFunction: ServiceFunction;
  public readonly ingest: Ingest;
  public readonly exports: Exports;
  public readonly schedules: ExportSchedules;
  public readonly exportJobs: ExportJobs;
  public readonly failureCheck: FailureCheck;
  /** Alarms for the operators (internal export failures, exports failing transiently past 24 h) and their SNS topic. */
  public readonly operatorAlarms: OperatorAlarms;
  /** The dashboard: S3 + CloudFront, allowed by the API's CORS configuration. */
  public readonly dashboard: DashboardSite;

  public readonly httpApi: HttpApi;
  /** The `$default` stage (access logs, throttling); its URL is the API's base URL. */
  public readonly apiStage: HttpStage;
  public readonly jwtAuthorizer: HttpJwtAuthorizer;
  /** `GET /v1/openapi.json`: public by design, no authorizer. */
  public readonly openApiRoutes: HttpRoute[];
  /** `ANY /ingest/{proxy+}`: no JWT; the ingest Lambda authenticates the environment's ingest key. */
  public readonly ingestRoutes: HttpRoute[];
  /** `ANY /v1/{proxy+}`: JWT authorizer. */
  public readonly managementRoutes: HttpRoute[];
  /** `POST /v1/environments/{envId}/exports/manual`: JWT authorizer, its own throttling. */
  public readonly manualExportStartRoutes: HttpRoute[];

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

    // ---- State ----------------------------------------------------------------------------------
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
    this.destinationSecretsKey = new Key(this, 'DestinationSecretsKey', {
      description: `Seals the secret access keys of customer export destinations (data export, ${props.stage})`,
      enableKeyRotation: true,
      // Deleting the key would make every saved destination unreadable.
      removalPolicy: RemovalPolicy.RETAIN,
    });
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
    this.rawEventLog = new RawEventLog(this, 'RawEventLog', { accessLogsBucket: this.accessLogsBucket });
    this.scheduleGroup = new ScheduleGroup(this, 'ExportSchedules', {
      // No name given: CDK derives a unique one from the stack name and construct path.
      // Destroyed with the stack: its schedules invoke this stack's run-export with this stack's role,
      // which go with it; the (retained) config table stays the record of what was scheduled.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // ---- Functions, by concern ------------------------------------------------------------------
    const newFunction = this.serviceFunctionFactory();
    const tables = { configTable: this.configTable, usageTable: this.usageTable };
    // API Gateway waits 30 s: saving settings lists the customer's bucket, which may be slow to answer.
    this.apiFunction = this.addServiceFunction('ApiFunction', {
      entryFile: 'api.ts',
      description: 'Data export management API (settings, destinations, exports, jobs)',
      timeout: Duration.seconds(29),
      environment: {
        [ENV.INGEST_KEY_GRACE_SECONDS]: String((props.ingestKeyGracePeriod ?? Duration.hours(24)).toSeconds()),
        [ENV.SECRETS_KEY_ID]: this.destinationSecretsKey.keyArn,
      },
    });
    tableItems(this.configTable).readWriteData(this.apiFunction);
    // GET .../events reads the event catalog (one Query) from the usage table.
    Grant.addToPrincipal({
      grantee: this.apiFunction,
      actions: ['dynamodb:Query'],
      resourceArns: [this.usageTable.tableArn],
    });
    // Destination secrets: the API seals on save and unseals to re-validate a saved destination when the
    // secret is omitted (run-export only unseals). Only under the secrets' context.
    grantDestinationSecrets(this.destinationSecretsKey, this.apiFunction, 'kms:Encrypt', 'kms:Decrypt');

    this.ingest = new Ingest(this, 'Ingest', {
      newFunction,
      ...tables,
      profilesTable: this.profilesTable,
      rawEventLog: this.rawEventLog,
    });
    this.exports = new Exports(this, 'Exports', {
      newFunction,
      ...tables,
      exportsBucket: this.exportsBucket,
      manualExportsPrefix: MANUAL_EXPORTS_PREFIX,
      destinationSecretsKey: this.destinationSecretsKey,
      reservedConcurrency: positiveInteger(
        'runExportReservedConcurrency',
        props.runExportReservedConcurrency ?? DEFAULT_RUN_EXPORT_RESERVED_CONCURRENCY,
      ),
      api: this.apiFunction,
      downloadLinkLifetime: DOWNLOAD_LINK_LIFETIME,
    });
    this.schedules = new ExportSchedules(this, 'Schedules', {
      scheduleGroup: this.scheduleGroup,
      target: this.exports.runExportFunction,
      flexibleWindow: props.scheduleFlexibleWindow ?? DEFAULT_SCHEDULE_FLEXIBLE_WINDOW,
    });
    // The API creates, updates and deletes the schedules of automatic exports and recurring jobs.
    this.schedules.grantManagement(this.apiFunction);
    this.exportJobs = new ExportJobs(this, 'ExportJobs', {
      api: this.apiFunction,
      runExport: this.exports.runExportFunction,
      rawEventLog: this.rawEventLog,
      profilesTable: this.profilesTable,
      profilesUpdatedIndexName: PROFILES_UPDATED_INDEX.indexName,
    });
    this.failureCheck = new FailureCheck(this, 'FailureCheck', {
      newFunction,
      configTable: this.configTable,
      indexNames: [FAILING_INDEX, UNRECONCILED_INDEX, TRANSIENT_INDEX].map((index) => index.indexName),
      schedules: this.schedules,
      rate: FAILURE_CHECK_RATE,
      senderEmail: props.senderEmail,
      dashboardUrl: props.dashboardUrl,
      runExport: this.exports.runExportFunction,
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

    // ---- Dashboard and HTTP API -------------------------------------------------------------------
    this.dashboard = new DashboardSite(this, 'Dashboard', {
      bundleDir: props.dashboardBundleDir ?? dashboardBundleForDeployment(),
      accessLogsBucket: this.accessLogsBucket,
    });
    const api = addHttpApi(this, {
      stage: props.stage,
      jwtIssuer: props.jwtIssuer,
      jwtAudience: props.jwtAudience,
      corsAllowedOrigins: [this.dashboard.url, ...(props.corsAllowedOrigins ?? [])],
      apiThrottle: props.apiThrottle,
      apiRouteThrottles: props.apiRouteThrottles,
      apiFunction: this.apiFunction,
      ingestFunction: this.ingestFunction,
    });
    this.dashboard.publish(api.httpApi.apiEndpoint);
    this.httpApi = api.httpApi;
    this.apiStage = api.stage;
    this.jwtAuthorizer = api.jwtAuthorizer;
    this.managementRoutes = api.routes.management;
    this.manualExportStartRoutes = api.routes.manualExportStart;
    this.openApiRoutes = api.routes.openApi;
    this.ingestRoutes = api.routes.ingest;

    this.addOutputs();
  }

  // ---- The concerns' parts, under the names the tests, alarms and nag acknowledgements use ----------
  public get ingestFunction(): ServiceFunction {
    return this.ingest.ingestFunction;
  }

  /** Runs exports: manual exports, scheduled exports, export jobs' runs. */
  public get runExportFunction(): ServiceFunction {
    return this.exports.runExportFunction;
  }

  public get runExportDeadLetterQueue(): Queue {
    return this.exports.runExportDeadLetterQueue;
  }

  /** Functions with object access under {@link manualExportsPrefix} (API: read; run-export: write). */
  public get manualExportObjectUsers(): ServiceFunction[] {
    return this.exports.manualExportObjectUsers;
  }

  /** Functions that read the raw event log (run-export, for export jobs). */
  public get rawEventLogReaders(): ServiceFunction[] {
    return this.exportJobs.rawEventLogReaders;
  }

  /** The role customers' bucket policies grant s3:PutObject (bucket-policy destinations). */
  public get exportRole(): Role {
    return this.exportJobs.exportRole;
  }

  /** ARN pattern of the schedules in {@link scheduleGroup}: `arn:...:schedule/<group>/*`. */
  public get schedulesArnPattern(): string {
    return this.schedules.schedulesArnPattern;
  }

  /** Execution role of the schedules: may only invoke run-export and send to {@link scheduleDeadLetterQueue}. */
  public get schedulerRole(): Role {
    return this.schedules.schedulerRole;
  }

  public get scheduleDeadLetterQueue(): Queue {
    return this.schedules.deadLetterQueue;
  }

  /** Functions granted schedule actions on {@link schedulesArnPattern}: the API and check-failures (reconcile). */
  public get scheduleManagers(): ServiceFunction[] {
    return this.schedules.managers;
  }

  public get checkFailuresFunction(): ServiceFunction {
    return this.failureCheck.checkFailuresFunction;
  }

  public get checkFailuresRule(): Rule {
    return this.failureCheck.rule;
  }

  public get checkFailuresDeadLetterQueue(): Queue {
    return this.failureCheck.deadLetterQueue;
  }

  /**
   * Creates a {@link ServiceFunction} for `<handlersDir>/<entryFile>` in the stack, with the environment
   * every function shares (`CONFIG_TABLE`, `USAGE_TABLE`, `STAGE`, `LOG_LEVEL`, `POWERTOOLS_SERVICE_NAME`)
   * merged under `options.environment`. Grants nothing: callers grant exactly what the function needs.
   */
  public addServiceFunction(id: string, options: AddServiceFunctionOptions): ServiceFunction {
    return this.serviceFunctionFactory()(this, id, options);
  }

  private serviceFunctionFactory() {
    return (scope: Construct, id: string, options: AddServiceFunctionOptions): ServiceFunction => {
      const { entryFile, environment, ...rest } = options;
      return new ServiceFunction(scope, id, {
        ...rest,
        entry: path.join(this.handlersDir, entryFile),
        serviceName: 'data-export',
        logLevel: this.logLevel,
        environment: {
          [ENV.CONFIG_TABLE]: this.configTable.tableName,
          [ENV.USAGE_TABLE]: this.usageTable.tableName,
          [ENV.STAGE]: this.stage,
          ...environment,
        },
      });
    };
  }

  private addOutputs(): void {
    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the HTTP API (management under /v1, ingest under /ingest)',
      value: this.apiStage.url,
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: this.dashboard.url,
      description: 'The dashboard (sign in with a member token)',
    });
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
      description: 'EventBridge Scheduler group of the automatic export and export job schedules',
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
