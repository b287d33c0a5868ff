/** The local wiring: the same adapters as on AWS, pointed at the embedded emulators. */
import {
  DynamoDbAutomaticExportSettingsStore,
  DynamoDbExportRunStore,
  DynamoDbFailingExportsStore,
} from '../adapters/dynamodb/automatic-export-stores';
import { DynamoDbDestinationStore, DynamoDbExportJobStore } from '../adapters/dynamodb/export-job-stores';
import { DynamoDbRawExportStore, rawExportFailingStore } from '../adapters/dynamodb/raw-export-store';
import { DynamoDbEventCatalogStore } from '../adapters/dynamodb/event-catalog-store';
import { DynamoDbManualExportStore } from '../adapters/dynamodb/manual-export-store';
import { DynamoDbProfileStore } from '../adapters/dynamodb/profile-store';
import { DynamoDbTenantStore } from '../adapters/dynamodb/tenant-store';
import { DynamoDbUsageStore } from '../adapters/dynamodb/usage-store';
import { BufferedRawEventLog } from '../adapters/local/buffered-raw-event-log';
import { InProcessExportDispatcher } from '../adapters/local/in-process-dispatcher';
import { LocalSecretSealer } from '../adapters/local/local-sealer';
import { S3DestinationGateway } from '../adapters/s3/destination-gateway';
import { S3DownloadLinks } from '../adapters/s3/download-links';
import { S3ObjectSink } from '../adapters/s3/object-sink';
import { S3RawEventReader } from '../adapters/s3/raw-event-reader';
import { SesMailer } from '../adapters/ses/ses-mailer';
import type { FailureCheckService } from '../core/failure-check';
import { DEFAULT_INGEST_KEY_GRACE_SECONDS } from '../core/ingest-keys';
import type { Clock } from '../ports';
import { buildFailureCheck, buildServices, systemClock, type Services } from '../services';
import type { EmulatorClients, TableNames } from './emulators';
import { SERVICE_IDENTITY_CREDENTIALS } from './customer-storage';
import { LocalExportScheduler } from './local-scheduler';
import { SimulatedClock } from './simulated-clock';

export const LOCAL_TABLES: Required<TableNames> = {
  configTable: 'data-export-config',
  usageTable: 'data-export-usage',
  profilesTable: 'data-export-profiles',
};
export const LOCAL_EXPORTS_BUCKET = 'data-export-exports';
/** The raw event log's bucket (`rawEventsBucket` in .local/demo.json). */
export const LOCAL_RAW_EVENTS_BUCKET = 'data-export-raw-events';
export const LOCAL_SENDER = 'exports@data-export.localhost';
/** What bucket policies name locally: the simulated customer storage grants this role's writes. */
export const LOCAL_EXPORT_ROLE_ARN = 'arn:aws:iam::000000000000:role/data-export-local-export-role';

export interface LocalServices extends Services {
  dispatcher: InProcessExportDispatcher;
  scheduler: LocalExportScheduler;
  failureCheck: FailureCheckService;
  /** Buffers in memory: close() it on shutdown so every accepted item reaches the bucket. */
  rawLog: BufferedRawEventLog;
  rawEvents: S3RawEventReader;
  /** The services' clock: the scheduler route runs an export at a simulated time with it. */
  clock: SimulatedClock;
}

export interface LocalWiringOptions {
  tables?: Required<TableNames>;
  exportsBucket?: string;
  rawEventsBucket?: string;
  /** The longest a raw event waits in memory before its object is written; 5 s by default. */
  rawEventsFlushIntervalMs?: number;
  clock?: Clock;
  /** base64url 32-byte key sealing destination secrets; a fresh one (for tests) when absent. */
  sealingKey?: string;
  /** Where schedules persist; in memory when absent. */
  scheduleFile?: string;
  dashboardUrl?: string;
  /** How long a replaced ingest key keeps working; 24 h by default. */
  ingestKeyGraceSeconds?: number;
  /** How often the event catalog's counts are written; 0 (the default here): with every request, exact. */
  eventCountFlushMs?: number;
}

export async function localServices(
  clients: EmulatorClients,
  options: LocalWiringOptions = {},
): Promise<LocalServices> {
  const tables = options.tables ?? LOCAL_TABLES;
  const bucket = options.exportsBucket ?? LOCAL_EXPORTS_BUCKET;
  const clock = new SimulatedClock(options.clock ?? systemClock);
  const client = clients.documentClient;
  const dispatcher = new InProcessExportDispatcher();
  const scheduler = await LocalExportScheduler.open({ clock, file: options.scheduleFile });
  const tenants = new DynamoDbTenantStore({ client, tableName: tables.configTable });
  const exportSettings = new DynamoDbAutomaticExportSettingsStore({ client, tableName: tables.configTable });
  const rawEventsBucket = options.rawEventsBucket ?? LOCAL_RAW_EVENTS_BUCKET;
  const rawLog = new BufferedRawEventLog({
    client: clients.s3,
    bucket: rawEventsBucket,
    flushIntervalMs: options.rawEventsFlushIntervalMs,
  });
  const rawEvents = new S3RawEventReader({ client: clients.s3, bucket: rawEventsBucket });
  const services = buildServices(
    {
      tenants,
      usage: new DynamoDbUsageStore({ client, tableName: tables.usageTable }),
      manualExportJobs: new DynamoDbManualExportStore({ client, tableName: tables.configTable }),
      dispatcher,
      exportsSink: new S3ObjectSink({ client: clients.s3, bucket }),
      downloadLinks: new S3DownloadLinks({ client: clients.s3, bucket }),
      exportSettings,
      exportRuns: new DynamoDbExportRunStore({ client, tableName: tables.configTable }),
      sealer: new LocalSecretSealer(options.sealingKey ?? LocalSecretSealer.generateKey()),
      // The local S3 (s3rver) is a plain-http loopback endpoint: allowed here, and only here.
      // Bucket-policy destinations are written with the service's local identity, which the simulated
      // customer storage (a Custom endpoint) accepts while its bucket policy is granted.
      destinations: new S3DestinationGateway({
        allowLoopback: true,
        allowHttp: true,
        serviceIdentity: { credentials: SERVICE_IDENTITY_CREDENTIALS, allowCustomEndpoints: true },
      }),
      scheduler,
      destinationStore: new DynamoDbDestinationStore({ client, tableName: tables.configTable }),
      exportJobStore: new DynamoDbExportJobStore({ client, tableName: tables.configTable }),
      rawExportStore: new DynamoDbRawExportStore({ client, tableName: tables.configTable }),
      clock,
      rawLog,
      rawEvents,
      profiles: new DynamoDbProfileStore({ client, tableName: tables.profilesTable }),
      eventCatalogStore: new DynamoDbEventCatalogStore({ client, tableName: tables.usageTable }),
    },
    {
      downloadLinkSeconds: 3600,
      ingestKeyGraceSeconds: options.ingestKeyGraceSeconds ?? DEFAULT_INGEST_KEY_GRACE_SECONDS,
      eventCountFlushMs: options.eventCountFlushMs ?? 0,
      exportRoleArn: LOCAL_EXPORT_ROLE_ARN,
    },
  );
  dispatcher.attach(
    ({ environmentId, jobId }) => services.manualExports.run(environmentId, jobId),
    async (request) => void (await services.exportJobService.runJob(request)),
  );
  const failureCheck = buildFailureCheck(
    {
      tenants,
      exportSettings,
      scheduler,
      failingExports: new DynamoDbFailingExportsStore({ client, tableName: tables.configTable }),
      exportJobs: { store: services.exportJobStore, destinations: services.destinationStore, dispatcher },
      mailer: new SesMailer({ client: clients.ses, sender: LOCAL_SENDER }),
      clock,
      rawExports: {
        store: services.rawExportStore,
        failing: rawExportFailingStore({ client, tableName: tables.configTable }),
        destinations: services.destinationStore,
      },
    },
    options.dashboardUrl ?? 'http://localhost:3000/dashboard',
  );
  return { ...services, dispatcher, scheduler, failureCheck, rawLog, rawEvents, clock };
}
