/**
 * The use cases, built from a set of adapters. AWS and local mode each wire their own adapters
 * (adapters/aws-wiring.ts, local/wiring.ts) and hand them here, so the rest is one code path.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ENV } from '../contracts/function-environment';
import { optionalInteger, type Environment } from './config';
import { AutomaticExportService } from './core/automatic-export';
import { DestinationService } from './core/destinations';
import { ExportJobService } from './core/export-jobs';
import { ExportJobRunner } from './core/export-job-runner';
import type { RunTimeLimit } from './core/export/pipeline';
import { EventCatalogRecorder, EventCatalogService } from './core/event-catalog';
import { FailureCheckService } from './core/failure-check';
import { IngestService } from './core/ingest';
import { DEFAULT_INGEST_KEY_GRACE_SECONDS } from './core/ingest-keys';
import { ManualExportService } from './core/manual-export';
import { RawRevisionsService } from './core/raw-revisions';
import { RawExportFailureCheck } from './core/raw-export-failures';
import { TenancyService } from './core/tenancy';
import type {
  AutomaticExportSettingsStore,
  Clock,
  DestinationGateway,
  DestinationStore,
  DownloadLinks,
  EventCatalogStore,
  ExportDispatcher,
  ExportJobDispatcher,
  ExportJobScheduler,
  ExportJobStore,
  ExportRunStore,
  ExportScheduler,
  FailingExportsStore,
  FailingJobsStore,
  Mailer,
  ManualExportStore,
  ObjectSink,
  ProfileStore,
  RawEventLog,
  RawEventReader,
  SecretSealer,
  ServiceIdentityGateway,
  TenantStore,
  UsageStore,
  OperationalMetrics,
  JobRunRequest,
  RawExportScheduler,
  RawExportStore,
  RawLogObjects,
} from './ports';

export interface Adapters {
  tenants: TenantStore;
  usage: UsageStore;
  manualExportJobs: ManualExportStore;
  dispatcher: ExportDispatcher & ExportJobDispatcher;
  /** The service's own exports bucket. */
  exportsSink: ObjectSink;
  downloadLinks: DownloadLinks;
  exportSettings: AutomaticExportSettingsStore;
  exportRuns: ExportRunStore;
  sealer: SecretSealer;
  destinations: DestinationGateway & ServiceIdentityGateway;
  scheduler: ExportScheduler & ExportJobScheduler & RawExportScheduler;
  /** Named destinations and export jobs (config table). */
  destinationStore: DestinationStore;
  exportJobStore: ExportJobStore & FailingJobsStore;
  clock: Clock;
  /** Where ingest appends every accepted item. */
  rawLog: RawEventLog;
  /**
   * Reads the raw event log for export-job runs and the raw revisions export; without it, job runs are
   * refused (JobRunnerMissingError) and the raw export cannot read the log (RawLogReaderMissingError).
   */
  rawEvents?: RawEventReader & RawLogObjects;
  /** The raw revisions export's settings, high-water mark and revisions (config table). */
  rawExportStore: RawExportStore;
  profiles: ProfileStore;
  eventCatalogStore: EventCatalogStore;
  /** @default uncounted (local mode) */
  metrics?: OperationalMetrics;
}

/** What the hourly failure check needs on top of the stores it shares with the API. */
export interface FailureCheckAdapters extends Pick<Adapters, 'tenants' | 'exportSettings' | 'scheduler' | 'clock'> {
  failingExports: FailingExportsStore;
  mailer: Mailer;
  /**
   * Export jobs, their destinations and the dispatcher that runs a failing one-time job again, so the
   * check covers failing jobs too; the automatic export only without them.
   */
  exportJobs?: {
    store: Pick<ExportJobStore, 'get' | 'put'> & FailingJobsStore;
    destinations: DestinationStore;
    dispatcher: ExportJobDispatcher;
  };
  /** The raw revisions exports' failure sequences; without them the check leaves raw exports alone. */
  rawExports?: { store: RawExportStore; failing: FailingExportsStore; destinations: DestinationStore };
}

export interface Settings {
  downloadLinkSeconds: number;
  /** How long a replaced ingest key keeps working (INGEST_KEY_GRACE_SECONDS). */
  ingestKeyGraceSeconds: number;
  /** The role bucket policies grant writes to (EXPORT_ROLE_ARN, a stack output). */
  exportRoleArn: string;
  /** How often ingest writes the catalog's counts of known events, per process. @default 10 s */
  eventCountFlushMs?: number;
}

export interface Services extends Adapters {
  tenancy: TenancyService;
  ingest: IngestService;
  eventCatalog: EventCatalogService;
  manualExports: ManualExportService;
  automaticExports: AutomaticExportService;
  destinationService: DestinationService;
  exportJobService: ExportJobService;
  rawRevisions: RawRevisionsService;
}

/** `INGEST_KEY_GRACE_SECONDS`: 0 (a replaced key stops at once) to 30 days; 24 h by default. */
export const readIngestKeyGraceSeconds = (env: Environment): number =>
  optionalInteger(env, ENV.INGEST_KEY_GRACE_SECONDS, DEFAULT_INGEST_KEY_GRACE_SECONDS, { min: 0, max: 30 * 24 * 3600 });

export const DEFAULT_EVENT_COUNT_FLUSH_MS = 10_000;

export const systemClock: Clock = { now: () => Date.now() };

export const newId = (prefix: string): string => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
/** 192 random bits: too many to guess, which is why a fast hash suffices to store them (core/ingest-keys.ts). */
export const newIngestKey = (): string => `ik_${randomBytes(24).toString('base64url')}`;

export function buildServices(adapters: Adapters, settings: Settings): Services {
  const shared = { tenants: adapters.tenants, destinations: adapters.destinationStore, clock: adapters.clock, newId };
  return {
    ...adapters,
    tenancy: new TenancyService({
      tenants: adapters.tenants,
      clock: adapters.clock,
      newId,
      newIngestKey,
      ingestKeyGraceMs: settings.ingestKeyGraceSeconds * 1000,
    }),
    ingest: new IngestService({
      tenants: adapters.tenants,
      usage: adapters.usage,
      clock: adapters.clock,
      rawLog: adapters.rawLog,
      profiles: adapters.profiles,
      metrics: adapters.metrics,
      catalog: new EventCatalogRecorder({
        store: adapters.eventCatalogStore,
        clock: adapters.clock,
        countFlushMs: settings.eventCountFlushMs ?? DEFAULT_EVENT_COUNT_FLUSH_MS,
      }),
    }),
    eventCatalog: new EventCatalogService({ tenants: adapters.tenants, store: adapters.eventCatalogStore }),
    manualExports: new ManualExportService({
      tenants: adapters.tenants,
      usage: adapters.usage,
      jobs: adapters.manualExportJobs,
      dispatcher: adapters.dispatcher,
      sink: adapters.exportsSink,
      links: adapters.downloadLinks,
      clock: adapters.clock,
      newId,
      downloadLinkSeconds: settings.downloadLinkSeconds,
      metrics: adapters.metrics,
    }),
    automaticExports: new AutomaticExportService({
      tenants: adapters.tenants,
      usage: adapters.usage,
      settings: adapters.exportSettings,
      runs: adapters.exportRuns,
      sealer: adapters.sealer,
      gateway: adapters.destinations,
      scheduler: adapters.scheduler,
      clock: adapters.clock,
    }),
    destinationService: new DestinationService({
      ...shared,
      jobs: adapters.exportJobStore,
      rawExports: adapters.rawExportStore,
      sealer: adapters.sealer,
      gateway: adapters.destinations,
      exportRoleArn: settings.exportRoleArn,
    }),
    exportJobService: new ExportJobService({
      ...shared,
      jobs: adapters.exportJobStore,
      scheduler: adapters.scheduler,
      dispatcher: adapters.dispatcher,
      runJob: jobRunner(adapters),
    }),
    rawRevisions: new RawRevisionsService({
      tenants: adapters.tenants,
      destinations: adapters.destinationStore,
      store: adapters.rawExportStore,
      objects: adapters.rawEvents ?? rawLogNotWired,
      sealer: adapters.sealer,
      gateway: adapters.destinations,
      scheduler: adapters.scheduler,
      clock: adapters.clock,
    }),
  };
}

/** The raw event log's reader is not wired into this build (aws-wiring.ts / local/wiring.ts: rawEvents). */
export class RawLogReaderMissingError extends Error {
  override readonly name = 'RawLogReaderMissingError';
}

const rawLogNotWired: RawLogObjects = {
  listObjects: () => {
    throw new RawLogReaderMissingError('The raw event log reader is not wired into this build (rawEvents).');
  },
  readObjectBatches: () => {
    throw new RawLogReaderMissingError('The raw event log reader is not wired into this build (rawEvents).');
  },
};

function jobRunner(adapters: Adapters) {
  const { rawEvents } = adapters;
  if (!rawEvents) return undefined;
  const runner = new ExportJobRunner({
    tenants: adapters.tenants,
    destinations: adapters.destinationStore,
    jobs: adapters.exportJobStore,
    sealer: adapters.sealer,
    gateway: adapters.destinations,
    rawEvents,
    profiles: adapters.profiles,
    clock: adapters.clock,
  });
  return (request: JobRunRequest, limit?: RunTimeLimit) => runner.run(request, limit);
}

/** @param dashboardUrl the dashboard's base URL, for the settings link in the emails */
export function buildFailureCheck(adapters: FailureCheckAdapters, dashboardUrl: string): FailureCheckService {
  return new FailureCheckService({
    failing: adapters.failingExports,
    settings: adapters.exportSettings,
    tenants: adapters.tenants,
    scheduler: adapters.scheduler,
    mailer: adapters.mailer,
    clock: adapters.clock,
    dashboardUrl,
    exportJobs: adapters.exportJobs && {
      jobs: adapters.exportJobs.store,
      destinations: adapters.exportJobs.destinations,
      dispatcher: adapters.exportJobs.dispatcher,
      scheduler: adapters.scheduler,
    },
    rawExports:
      adapters.rawExports &&
      new RawExportFailureCheck({
        ...adapters.rawExports,
        scheduler: adapters.scheduler,
        tenants: adapters.tenants,
        mailer: adapters.mailer,
        clock: adapters.clock,
        dashboardUrl,
      }),
  });
}
