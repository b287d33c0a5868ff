/** The AWS wiring: real AWS clients, configuration from each Lambda's environment, read once at start. */
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { ENV } from '../../contracts/function-environment';
import { ConfigurationError, optionalInteger, requiredString, type Environment } from '../config';
import { EventCatalogRecorder } from '../core/event-catalog';
import type { FailureCheckService } from '../core/failure-check';
import { IngestService } from '../core/ingest';
import type {
  ExportJobScheduler,
  ExportScheduler,
  ProfileStore,
  RawEventLog,
  RawExportScheduler,
  TenantStore,
  UsageStore,
} from '../ports';
import {
  buildFailureCheck,
  buildServices,
  DEFAULT_EVENT_COUNT_FLUSH_MS,
  readIngestKeyGraceSeconds,
  systemClock,
  type Services,
} from '../services';
import {
  DynamoDbAutomaticExportSettingsStore,
  DynamoDbExportRunStore,
  DynamoDbFailingExportsStore,
} from './dynamodb/automatic-export-stores';
import { createDocumentClient, createDynamoDbClient } from './dynamodb/document-client';
import { DynamoDbDestinationStore, DynamoDbExportJobStore } from './dynamodb/export-job-stores';
import { exportRoleCredentials } from './s3/export-role';
import { DynamoDbEventCatalogStore } from './dynamodb/event-catalog-store';
import { DynamoDbProfileStore } from './dynamodb/profile-store';
import { FirehoseRawEventLog } from './firehose/firehose-raw-event-log';
import { DynamoDbManualExportStore } from './dynamodb/manual-export-store';
import { DynamoDbTenantStore } from './dynamodb/tenant-store';
import { DynamoDbUsageStore } from './dynamodb/usage-store';
import { KmsSecretSealer } from './kms/kms-sealer';
import { LambdaExportDispatcher } from './lambda/export-dispatcher';
import { S3DestinationGateway } from './s3/destination-gateway';
import { S3DownloadLinks } from './s3/download-links';
import { S3ObjectSink } from './s3/object-sink';
import { EventBridgeExportScheduler } from './scheduler/eventbridge-scheduler';
import { DynamoDbRawExportStore, rawExportFailingStore } from './dynamodb/raw-export-store';
import { S3RawEventReader } from './s3/raw-event-reader';
import { SesMailer } from './ses/ses-mailer';
import { operationalMetrics, traced } from './observability';

export interface StoreConfig {
  configTable: string;
  usageTable: string;
}

export interface ScheduleConfig {
  groupName: string;
  roleArn: string;
  targetArn: string;
  deadLetterArn: string;
  /** Spreads each schedule's runs over this many minutes; exact times when absent. */
  flexibleWindowMinutes?: number;
}

export interface AwsConfig extends StoreConfig {
  exportsBucket: string;
  exportFunctionName: string;
  downloadLinkSeconds: number;
  ingestKeyGraceSeconds: number;
  secretsKeyId: string;
  /** The service's export role: bucket policies grant it writes, and bucket-policy destinations are written as it. */
  exportRoleArn: string;
  /** Only the API manages schedules; run-export has none (its own ARN would be a circular reference). */
  schedule?: ScheduleConfig;
  /** The raw event log's bucket: export-job runs and the raw revisions export read it, the API counts its objects. */
  rawEventsBucket: string;
  /** Only run-export runs profile export jobs: it reads the profiles table. */
  profilesTable?: string;
}

export interface FailureCheckConfig {
  configTable: string;
  schedule: ScheduleConfig;
  /** run-export, invoked to run a failing one-time export job again. */
  exportFunctionName: string;
  senderEmail: string;
  dashboardUrl: string;
}

/** An IAM role ARN: it goes into customers' bucket policies, so a wrong one must fail at start, not there. */
function requiredRoleArn(env: Environment, name: string): string {
  const value = requiredString(env, name);
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(value)) {
    throw new ConfigurationError(
      `Invalid configuration: ${name} must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got "${value}".`,
    );
  }
  return value;
}

export function readStoreConfig(env: Environment = process.env): StoreConfig {
  return { configTable: requiredString(env, ENV.CONFIG_TABLE), usageTable: requiredString(env, ENV.USAGE_TABLE) };
}

function readScheduleConfig(env: Environment): ScheduleConfig {
  // 0 (the default): no flexible window. EventBridge Scheduler allows up to 1440 minutes.
  const flexibleWindowMinutes = optionalInteger(env, ENV.SCHEDULE_FLEXIBLE_WINDOW_MINUTES, 0, { min: 0, max: 1440 });
  return {
    groupName: requiredString(env, ENV.SCHEDULE_GROUP_NAME),
    roleArn: requiredString(env, ENV.SCHEDULER_ROLE_ARN),
    targetArn: requiredString(env, ENV.RUN_EXPORT_FUNCTION_ARN),
    deadLetterArn: requiredString(env, ENV.SCHEDULE_DLQ_ARN),
    ...(flexibleWindowMinutes > 0 ? { flexibleWindowMinutes } : {}),
  };
}

/** What the API and run-export share; `exportFunctionName` is the run-export function's name. */
function readExportConfig(env: Environment, exportFunctionName: string): AwsConfig {
  return {
    ...readStoreConfig(env),
    exportsBucket: requiredString(env, ENV.EXPORTS_BUCKET),
    exportFunctionName,
    downloadLinkSeconds: optionalInteger(env, ENV.DOWNLOAD_LINK_SECONDS, 3600),
    ingestKeyGraceSeconds: readIngestKeyGraceSeconds(env),
    secretsKeyId: requiredString(env, ENV.SECRETS_KEY_ID),
    exportRoleArn: requiredRoleArn(env, ENV.EXPORT_ROLE_ARN),
    rawEventsBucket: requiredString(env, ENV.RAW_EVENTS_BUCKET),
  };
}

/**
 * The run-export function's configuration: its own name is the dispatch target of jobs it starts; it
 * runs export jobs, so it reads the raw event log's bucket and the profiles table.
 */
export function readRunExportConfig(env: Environment = process.env): AwsConfig {
  return {
    ...readExportConfig(env, requiredString(env, ENV.AWS_LAMBDA_FUNCTION_NAME)),
    profilesTable: requiredString(env, ENV.PROFILES_TABLE),
  };
}

/** The API function's configuration: the exports it starts (on run-export), plus the schedules it manages. */
export function readApiConfig(env: Environment = process.env): AwsConfig {
  return { ...readExportConfig(env, requiredString(env, ENV.EXPORT_FUNCTION_NAME)), schedule: readScheduleConfig(env) };
}

/** The ingest function's configuration: the stores, the profiles table and the raw event log's stream. */
export interface IngestConfig extends StoreConfig {
  profilesTable: string;
  rawEventsStream: string;
}

export function readIngestConfig(env: Environment = process.env): IngestConfig {
  return {
    ...readStoreConfig(env),
    profilesTable: requiredString(env, ENV.PROFILES_TABLE),
    rawEventsStream: requiredString(env, ENV.RAW_EVENTS_STREAM),
  };
}

export function readFailureCheckConfig(env: Environment = process.env): FailureCheckConfig {
  return {
    configTable: requiredString(env, ENV.CONFIG_TABLE),
    schedule: readScheduleConfig(env),
    exportFunctionName: requiredString(env, ENV.EXPORT_FUNCTION_NAME),
    senderEmail: requiredString(env, ENV.SENDER_EMAIL),
    dashboardUrl: requiredString(env, ENV.DASHBOARD_URL),
  };
}

/** For functions that run exports but never save settings: schedules are the API function's business. */
class SchedulesManagedElsewhere implements ExportScheduler, ExportJobScheduler, RawExportScheduler {
  upsert(): Promise<void> {
    return Promise.reject(new ConfigurationError('This function does not manage schedules: the API function does.'));
  }

  remove(): Promise<void> {
    return this.upsert();
  }

  upsertJob(): Promise<void> {
    return this.upsert();
  }

  removeJob(): Promise<void> {
    return this.upsert();
  }

  upsertRawExport(): Promise<void> {
    return this.upsert();
  }

  removeRawExport(): Promise<void> {
    return this.upsert();
  }
}

/** For functions other than ingest: only ingest writes the raw event log and the profiles. */
class IngestWritesElsewhere implements RawEventLog, ProfileStore {
  append(): Promise<void> {
    return Promise.reject(new ConfigurationError('This function does not ingest: the ingest function does.'));
  }

  recordProfile(): Promise<void> {
    return this.append();
  }

  listProfiles(): AsyncIterable<never> {
    return this.refusedListing();
  }

  listProfilesChangedSince(): AsyncIterable<never> {
    return this.refusedListing();
  }

  /** A listing whose first step fails as `append` does. */
  private refusedListing(): AsyncIterable<never> {
    const next = () => this.append().then((): IteratorResult<never> => ({ done: true, value: undefined }));
    return { [Symbol.asyncIterator]: () => ({ next }) };
  }
}

const documentClient = () => createDocumentClient(traced(createDynamoDbClient()));

const scheduler = (config: ScheduleConfig) =>
  new EventBridgeExportScheduler({ client: traced(new SchedulerClient({})), ...config });

/** Just the stores, for entry points that need nothing else (ingest). */
export function awsStores(config: StoreConfig): { tenants: TenantStore; usage: UsageStore } {
  const client = documentClient();
  return {
    tenants: new DynamoDbTenantStore({ client, tableName: config.configTable }),
    usage: new DynamoDbUsageStore({ client, tableName: config.usageTable }),
  };
}

/** The ingest function's service: the stores, the profiles, the event catalog and the Firehose stream. */
export function awsIngest(config: IngestConfig): IngestService {
  const client = documentClient();
  return new IngestService({
    ...awsStores(config),
    clock: systemClock,
    metrics: operationalMetrics,
    rawLog: new FirehoseRawEventLog({ client: traced(new FirehoseClient({})), streamName: config.rawEventsStream }),
    profiles: new DynamoDbProfileStore({ client, tableName: config.profilesTable }),
    catalog: new EventCatalogRecorder({
      store: new DynamoDbEventCatalogStore({ client, tableName: config.usageTable }),
      clock: systemClock,
      countFlushMs: DEFAULT_EVENT_COUNT_FLUSH_MS,
    }),
  });
}

export function awsServices(config: AwsConfig): Services {
  const client = documentClient();
  const s3 = traced(new S3Client({}));
  return buildServices(
    {
      ...awsStores(config),
      manualExportJobs: new DynamoDbManualExportStore({ client, tableName: config.configTable }),
      dispatcher: new LambdaExportDispatcher({
        client: traced(new LambdaClient({})),
        functionName: config.exportFunctionName,
      }),
      exportsSink: new S3ObjectSink({ client: s3, bucket: config.exportsBucket }),
      downloadLinks: new S3DownloadLinks({ client: s3, bucket: config.exportsBucket }),
      exportSettings: new DynamoDbAutomaticExportSettingsStore({ client, tableName: config.configTable }),
      exportRuns: new DynamoDbExportRunStore({ client, tableName: config.configTable }),
      sealer: new KmsSecretSealer({ client: traced(new KMSClient({})), keyId: config.secretsKeyId }),
      destinations: new S3DestinationGateway({
        serviceIdentity: { credentials: exportRoleCredentials(config.exportRoleArn) },
      }),
      scheduler: config.schedule ? scheduler(config.schedule) : new SchedulesManagedElsewhere(),
      destinationStore: new DynamoDbDestinationStore({ client, tableName: config.configTable }),
      exportJobStore: new DynamoDbExportJobStore({ client, tableName: config.configTable }),
      rawExportStore: new DynamoDbRawExportStore({ client, tableName: config.configTable }),
      rawEvents: new S3RawEventReader({ client: s3, bucket: config.rawEventsBucket }),
      clock: systemClock,
      rawLog: new IngestWritesElsewhere(),
      profiles: config.profilesTable
        ? new DynamoDbProfileStore({ client, tableName: config.profilesTable })
        : new IngestWritesElsewhere(),
      eventCatalogStore: new DynamoDbEventCatalogStore({ client, tableName: config.usageTable }),
      metrics: operationalMetrics,
    },
    {
      downloadLinkSeconds: config.downloadLinkSeconds,
      ingestKeyGraceSeconds: config.ingestKeyGraceSeconds,
      exportRoleArn: config.exportRoleArn,
    },
  );
}

export function awsFailureCheck(config: FailureCheckConfig): FailureCheckService {
  const client = documentClient();
  return buildFailureCheck(
    {
      tenants: new DynamoDbTenantStore({ client, tableName: config.configTable }),
      exportSettings: new DynamoDbAutomaticExportSettingsStore({ client, tableName: config.configTable }),
      failingExports: new DynamoDbFailingExportsStore({ client, tableName: config.configTable }),
      exportJobs: {
        store: new DynamoDbExportJobStore({ client, tableName: config.configTable }),
        destinations: new DynamoDbDestinationStore({ client, tableName: config.configTable }),
        dispatcher: new LambdaExportDispatcher({
          client: traced(new LambdaClient({})),
          functionName: config.exportFunctionName,
        }),
      },
      scheduler: scheduler(config.schedule),
      mailer: new SesMailer({ client: traced(new SESv2Client({})), sender: config.senderEmail }),
      clock: systemClock,
      rawExports: {
        store: new DynamoDbRawExportStore({ client, tableName: config.configTable }),
        failing: rawExportFailingStore({ client, tableName: config.configTable }),
        destinations: new DynamoDbDestinationStore({ client, tableName: config.configTable }),
      },
    },
    config.dashboardUrl,
  );
}
