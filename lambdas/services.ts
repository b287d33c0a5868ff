/**
 * The use cases, built from a set of adapters. AWS and local mode each wire their own adapters
 * (adapters/aws-wiring.ts, local/wiring.ts) and hand them here, so the rest is one code path.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { IngestService } from './core/ingest';
import { ManualExportService } from './core/manual-export';
import { TenancyService } from './core/tenancy';
import type {
  Clock,
  DownloadLinks,
  ExportDispatcher,
  ManualExportStore,
  ObjectSink,
  TenantStore,
  UsageStore,
} from './ports';

export interface Adapters {
  tenants: TenantStore;
  usage: UsageStore;
  manualExportJobs: ManualExportStore;
  dispatcher: ExportDispatcher;
  /** The service's own exports bucket. */
  exportsSink: ObjectSink;
  downloadLinks: DownloadLinks;
  clock: Clock;
}

export interface Settings {
  downloadLinkSeconds: number;
}

export interface Services extends Adapters {
  tenancy: TenancyService;
  ingest: IngestService;
  manualExports: ManualExportService;
}

export const systemClock: Clock = { now: () => Date.now() };

export const newId = (prefix: string): string => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
export const newIngestKey = (): string => `ik_${randomBytes(24).toString('base64url')}`;

export function buildServices(adapters: Adapters, settings: Settings): Services {
  return {
    ...adapters,
    tenancy: new TenancyService({ tenants: adapters.tenants, clock: adapters.clock, newId, newIngestKey }),
    ingest: new IngestService({ tenants: adapters.tenants, usage: adapters.usage }),
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
    }),
  };
}
