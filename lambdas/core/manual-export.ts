/**
 * Manual exports (the dashboard's "Download export"): requested through the API, run asynchronously
 * into the service's exports bucket through the one export pipeline, downloaded by pre-signed URL.
 */
import { randomUUID } from 'node:crypto';
import { authorizeEnvironment, type Caller } from './access';
import { NotFoundError } from './errors';
import { COMPANY_COLUMN_GROUPS, COMPANY_COLUMNS } from './company-row';
import { companyRowBatches } from './export/company-source';
import { csvEncoder } from './export/csv';
import { exportFileName } from './export/naming';
import { exportDeadline, runExport, RUN_TIME_LIMIT_MS, type ObjectSink } from './export/pipeline';
import { dataPoints, dateOf, type Aggregation } from './periods';
import { requirePlan } from './plans';
import type {
  Clock,
  DownloadLinks,
  ExportDispatcher,
  ManualExportJob,
  ManualExportStore,
  TenantStore,
  UsageStore,
} from '../ports';
import { logger } from './log';

export interface ManualExportDependencies {
  tenants: TenantStore;
  usage: UsageStore;
  jobs: ManualExportStore;
  dispatcher: ExportDispatcher;
  /** The service's own exports bucket. */
  sink: ObjectSink;
  links: DownloadLinks;
  clock: Clock;
  newId: (prefix: string) => string;
  downloadLinkSeconds: number;
}

export interface ManualExportView {
  id: string;
  aggregation: Aggregation;
  status: ManualExportJob['status'];
  requestedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  rowCount: number | null;
  byteCount: number | null;
  fileName: string | null;
  downloadUrl: string | null;
  expiresAt: string | null;
  error: string | null;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

export class ManualExportService {
  constructor(private readonly deps: ManualExportDependencies) {}

  async request(caller: Caller | undefined, environmentId: string, aggregation: Aggregation): Promise<ManualExportView> {
    const { organization } = await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    requirePlan(organization, 'Manual export');
    const job: ManualExportJob = {
      id: this.deps.newId('exp'),
      environmentId,
      aggregation,
      status: 'pending',
      requestedAt: this.deps.clock.now(),
    };
    await this.deps.jobs.create(job);
    try {
      await this.deps.dispatcher.dispatchManualExport({ environmentId, jobId: job.id });
    } catch (error) {
      // Nothing will run it: say so on the job instead of leaving it pending.
      await this.deps.jobs.finish(environmentId, job.id, {
        status: 'failed',
        finishedAt: this.deps.clock.now(),
        error: 'The export could not be started. Please try again.',
      });
      throw error;
    }
    return this.view(job);
  }

  async get(caller: Caller | undefined, environmentId: string, id: string): Promise<ManualExportView> {
    await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    const job = await this.deps.jobs.get(environmentId, id);
    if (!job) throw new NotFoundError(`Export ${id} not found in environment ${environmentId}.`);
    return this.view(job);
  }

  /**
   * The worker: runs a job once, however often it is delivered. It gives up after `timeLimitMs` (before
   * the Lambda's time runs out) or when `signal` aborts, also in the middle of a stalled upload, and
   * records the job as failed; a job left running past its deadline (its worker was lost) is taken over.
   */
  async run(environmentId: string, jobId: string, options: { timeLimitMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    const { timeLimitMs = RUN_TIME_LIMIT_MS } = options;
    const now = this.deps.clock.now();
    const claimId = randomUUID();
    if (!(await this.deps.jobs.claim(environmentId, jobId, { claimId, at: now, deadlineAt: now + timeLimitMs }))) return;
    const signal = exportDeadline(timeLimitMs, options.signal);
    const job = (await this.deps.jobs.get(environmentId, jobId))!;
    try {
      const environment = await this.deps.tenants.getEnvironment(environmentId);
      if (!environment) throw new NotFoundError(`Environment ${environmentId} no longer exists.`);
      const [features, segments] = await Promise.all([
        this.deps.tenants.listFeatures(environmentId),
        this.deps.tenants.listSegments(environmentId),
      ]);
      const encoder = csvEncoder(COMPANY_COLUMNS, COMPANY_COLUMN_GROUPS);
      const fileName = exportFileName(environment.name, job.aggregation, dateOf(job.requestedAt), encoder.extension);
      const result = await runExport({
        rows: companyRowBatches(
          this.deps.usage.streamCompanyUsage(environmentId),
          features,
          segments,
          dataPoints(job.aggregation, job.requestedAt),
        ),
        encoder,
        sink: this.deps.sink,
        key: `manual/${environmentId}/${job.id}/${fileName}`,
        signal,
      });
      await this.deps.jobs.finish(
        environmentId,
        jobId,
        {
          status: 'done',
          finishedAt: this.deps.clock.now(),
          rowCount: result.rowCount,
          byteCount: result.byteCount,
          objectKey: result.key,
          fileName,
        },
        claimId,
      );
    } catch (error) {
      logger.error('Manual export failed', { environmentId, jobId, error: error as Error });
      const message =
        error instanceof NotFoundError
          ? error.message
          : signal.aborted
            ? 'The export did not finish within its time limit. Please try a shorter aggregation or contact support.'
            : 'The export failed on our side. Please start it again; if it keeps failing, contact support.';
      await this.deps.jobs.finish(environmentId, jobId, { status: 'failed', finishedAt: this.deps.clock.now(), error: message }, claimId);
    }
  }

  private async view(job: ManualExportJob): Promise<ManualExportView> {
    const done = job.status === 'done' && job.objectKey && job.fileName;
    const expiresAt = done ? this.deps.clock.now() + this.deps.downloadLinkSeconds * 1000 : undefined;
    return {
      id: job.id,
      aggregation: job.aggregation,
      status: job.status,
      requestedAt: iso(job.requestedAt)!,
      startedAt: iso(job.startedAt),
      finishedAt: iso(job.finishedAt),
      rowCount: job.rowCount ?? null,
      byteCount: job.byteCount ?? null,
      fileName: job.fileName ?? null,
      downloadUrl: done
        ? await this.deps.links.createDownloadUrl(job.objectKey!, { fileName: job.fileName!, expiresInSeconds: this.deps.downloadLinkSeconds })
        : null,
      expiresAt: iso(expiresAt),
      error: job.error ?? null,
    };
  }
}
