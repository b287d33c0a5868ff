import * as path from 'path';
import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Tags } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
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
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { LogLevel, ServiceFunction, ServiceFunctionProps } from './constructs/service-function';

/** Default directory of the Lambda entry points (a path, never an import: lib/ does not import lambdas/). */
const DEFAULT_HANDLERS_DIR = path.join(__dirname, '..', 'lambdas', 'handlers');

/** Key prefix of the manual export files in the exports bucket (`manual/<envId>/<jobId>/<file>`). */
export const MANUAL_EXPORTS_PREFIX = 'manual/';
/** How long a manual export file stays in the exports bucket. */
export const MANUAL_EXPORTS_EXPIRATION = Duration.days(7);
/** Lifetime of a pre-signed download URL (`DOWNLOAD_LINK_SECONDS` of the management API). */
export const DOWNLOAD_LINK_LIFETIME = Duration.hours(1);

export interface ApiThrottle {
  /** Steady-state requests per second for the whole stage. */
  readonly rateLimit: number;
  /** Burst bucket size. */
  readonly burstLimit: number;
}

export interface DataExportStackProps extends StackProps {
  /** Stage name (`dev`, `prod`, ...): passed to the functions as `STAGE` and used in tags. */
  readonly stage: string;
  /** Issuer (`iss`) of the dashboard's JWT bearer tokens (https URL). */
  readonly jwtIssuer: string;
  /** Accepted audience(s) (`aud`) of those tokens. */
  readonly jwtAudience: string | string[];
  /** `LOG_LEVEL` of every function. @default 'INFO' */
  readonly logLevel?: LogLevel;
  /** Default throttling of the API stage. @default 100 rps, burst 200 */
  readonly apiThrottle?: ApiThrottle;
  /** Browser origins allowed to call the API (CORS); preflights then bypass the JWT authorizer. @default CORS disabled */
  readonly corsAllowedOrigins?: string[];
  /** Directory holding the Lambda entry files. @default `<repo>/lambdas/handlers` */
  readonly handlersDir?: string;
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
 * Later parts (the scheduler, check-failures) add their functions with {@link addServiceFunction},
 * which wires the shared environment, and grant them table access.
 */
export class DataExportStack extends Stack {
  public readonly stage: string;
  /** Settings, destinations, jobs, run status and history, email-sequence state. */
  public readonly configTable: Table;
  /** Companies, users, features, segments, per company x feature usage, feedback, raw events. */
  public readonly usageTable: Table;
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
  public readonly httpApi: HttpApi;
  /** The `$default` stage (access logs, throttling); its URL is the API's base URL. */
  public readonly apiStage: HttpStage;
  public readonly jwtAuthorizer: HttpJwtAuthorizer;
  /** Management API (`/v1/...`, including the public OpenAPI document). */
  public readonly apiFunction: ServiceFunction;
  /** Tracking ingest (`/ingest/...`). */
  public readonly ingestFunction: ServiceFunction;
  /** `GET /v1/openapi.json`: public by design, no authorizer. */
  public readonly openApiRoutes: HttpRoute[];
  /** `ANY /ingest/{proxy+}`: no JWT; the ingest Lambda authenticates the environment's ingest key. */
  public readonly ingestRoutes: HttpRoute[];
  /** `ANY /v1/{proxy+}`: JWT authorizer. */
  public readonly managementRoutes: HttpRoute[];

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
    this.usageTable = this.createTable('UsageTable');

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
    this.apiFunction = this.addServiceFunction('ApiFunction', {
      entryFile: 'api.ts',
      description: 'Data export management API (settings, destinations, exports, jobs)',
    });
    this.configTable.grantReadWriteData(this.apiFunction);
    this.usageTable.grantReadData(this.apiFunction);

    this.ingestFunction = this.addServiceFunction('IngestFunction', {
      entryFile: 'ingest.ts',
      description: 'Tracking data ingest (Bucket-compatible HTTP API)',
    });
    this.configTable.grantReadData(this.ingestFunction);
    this.usageTable.grantReadWriteData(this.ingestFunction);

    // ---- Manual exports -----------------------------------------------------------------------
    this.runExportDeadLetterQueue = new Queue(this, 'RunExportDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.runExportFunction = this.addServiceFunction('RunExportFunction', {
      entryFile: 'run-export.ts',
      description: 'Runs export jobs (manual exports) into the exports bucket',
      memorySize: 1024,
      timeout: Duration.minutes(15),
      environment: {
        EXPORTS_BUCKET: this.exportsBucket.bucketName,
      },
      // A job record is claimed with a conditional write, so a redelivered event never runs it twice.
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      deadLetterQueue: this.runExportDeadLetterQueue,
    });
    this.configTable.grantReadWriteData(this.runExportFunction);
    this.usageTable.grantReadData(this.runExportFunction);
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
    // Asynchronous invocation (InvocationType Event) of the unqualified function only.
    this.runExportFunction.grantInvokeLatestVersion(this.apiFunction);
    // Pre-signed download URLs are signed with the API's role: S3 checks its s3:GetObject when used.
    Grant.addToPrincipal({
      grantee: this.apiFunction,
      actions: ['s3:GetObject'],
      resourceArns: [this.exportsBucket.arnForObjects(`${MANUAL_EXPORTS_PREFIX}*`)],
    });
    this.manualExportObjectUsers = [this.apiFunction, this.runExportFunction];

    // ---- HTTP API -----------------------------------------------------------------------------
    const audience = Array.isArray(props.jwtAudience) ? props.jwtAudience : [props.jwtAudience];
    this.jwtAuthorizer = new HttpJwtAuthorizer('JwtAuthorizer', props.jwtIssuer, {
      jwtAudience: audience,
      identitySource: ['$request.header.Authorization'],
    });

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: `Data export service API (${props.stage})`,
      // Secure by default: any route added later needs a JWT unless it opts out explicitly.
      defaultAuthorizer: this.jwtAuthorizer,
      // The $default stage is created below, with access logs and throttling.
      createDefaultStage: false,
      corsPreflight: props.corsAllowedOrigins?.length
        ? {
            allowOrigins: props.corsAllowedOrigins,
            allowMethods: [CorsHttpMethod.ANY],
            allowHeaders: ['authorization', 'content-type'],
            maxAge: Duration.hours(1),
          }
        : undefined,
    });

    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const throttle = props.apiThrottle ?? { rateLimit: 100, burstLimit: 200 };
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

    this.managementRoutes = this.httpApi.addRoutes({
      path: '/v1/{proxy+}',
      methods: [HttpMethod.ANY],
      integration: apiIntegration,
      authorizer: this.jwtAuthorizer,
    });
    this.openApiRoutes = this.httpApi.addRoutes({
      path: '/v1/openapi.json',
      methods: [HttpMethod.GET],
      integration: apiIntegration,
      authorizer: new HttpNoneAuthorizer(),
    });
    this.ingestRoutes = this.httpApi.addRoutes({
      path: '/ingest/{proxy+}',
      methods: [HttpMethod.ANY],
      integration: ingestIntegration,
      authorizer: new HttpNoneAuthorizer(),
    });

    // ---- Outputs ------------------------------------------------------------------------------
    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the HTTP API (management under /v1, ingest under /ingest)',
      value: this.apiStage.url,
    });
    new CfnOutput(this, 'ConfigTableName', { value: this.configTable.tableName });
    new CfnOutput(this, 'UsageTableName', { value: this.usageTable.tableName });
    new CfnOutput(this, 'ExportsBucketName', { value: this.exportsBucket.bucketName });
    new CfnOutput(this, 'RunExportFunctionName', { value: this.runExportFunction.functionName });
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
