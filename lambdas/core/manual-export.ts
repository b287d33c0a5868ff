/**
 * Manual exports (the dashboard's "Download export"): requested through the API, run asynchronously
 * into the service's exports bucket through the one export pipeline, downloaded by pre-signed URL.
 */
import { randomUUID } from 'node:crypto';
import { authorizeEnvironment, type Caller } from './access';
import { InternalFailureError, NotFoundError } from './errors';
import { companyExport } from './export/company-export';
import { exportDeadline, runExport, RUN_TIME_LIMIT_MS, type ObjectSink } from './export/pipeline';
import { dataPoints, dateOf, type Aggregation } from './periods';
import { requirePlan } from './plans';
import type {
  Clock,
  DownloadLinks,
  ExportDispatcher,
  ManualExportJob,
  ManualExportOutcome,
  ManualExportStore,
  TenantStore,
  UsageStore,
} from '../ports';
import { OPERATIONAL_METRICS, uncountedMetrics, type OperationalMetrics } from '../ports';
import { logger } from './log';
import { isoTimeOrNull, isoTime } from './iso-time';

/** Manual exports of one environment pending or running at once; more are refused (429). */
export const MAX_CONCURRENT_MANUAL_EXPORTS = 2;
/**
 * How long a job holds its slot at most: an hour waiting to start (the oldest asynchronous invocation
 * Lambda still delivers to run-export) plus a run. A job that never finishes (event dropped, crash)
 * frees its slot then, so no slot is lost for good.
 */
const SLOT_LEASE_MS = 60 * 60 * 1000 + RUN_TIME_LIMIT_MS + 60 * 1000;
/** What a refused start is told to wait: exports take seconds to minutes, and the dashboard polls. */
const RETRY_AFTER_SECONDS = 30;

export class TooManyExportsError extends Error {
  override readonly name = 'TooManyExportsError';
  constructor(
    readonly limit: number,
    readonly retryAfterSeconds: number,
  ) {
    super(
      `At most ${limit} manual exports of an environment run at once, and ${limit} are pending or running. ` +
        `Wait until one is done or failed (GET its status), then start this one again, in ${retryAfterSeconds} seconds or later.`,
    );
  }
}

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
  /** @default uncounted (local mode) */
  metrics?: OperationalMetrics;
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

export class ManualExportService {
  constructor(private readonly deps: ManualExportDependencies) {}

  async request(
    caller: Caller | undefined,
    environmentId: string,
    aggregation: Aggregation,
  ): Promise<ManualExportView> {
    const { organization } = await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    requirePlan(organization, 'Manual export');
    const id = this.deps.newId('exp');
    const requestedAt = this.deps.clock.now();
    const slot = await this.deps.jobs.acquireSlot(
      environmentId,
      id,
      MAX_CONCURRENT_MANUAL_EXPORTS,
      requestedAt,
      requestedAt + SLOT_LEASE_MS,
    );
    if (slot === undefined) throw new TooManyExportsError(MAX_CONCURRENT_MANUAL_EXPORTS, RETRY_AFTER_SECONDS);
    const job: ManualExportJob = { id, environmentId, aggregation, status: 'pending', requestedAt, slot };
    try {
      await this.deps.jobs.create(job);
    } catch (error) {
      await this.releaseSlot(job);
      throw error;
    }
    try {
      await this.deps.dispatcher.dispatchManualExport({ environmentId, jobId: job.id });
    } catch (error) {
      // Nothing will run it: say so on the job instead of leaving it pending. The invocation may have gone
      // through all the same (its answer lost): claiming the job first leaves a job a worker has already
      // picked up to that worker's outcome.
      const at = this.deps.clock.now();
      const claimId = randomUUID();
      if (await this.deps.jobs.claim(environmentId, id, { claimId, at, deadlineAt: at })) {
        await this.finish(job, claimId, {
          status: 'failed',
          finishedAt: at,
          error: 'The export could not be started. Please try again.',
        });
      }
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
  async run(
    environmentId: string,
    jobId: string,
    options: { timeLimitMs?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const { timeLimitMs = RUN_TIME_LIMIT_MS } = options;
    const now = this.deps.clock.now();
    const claimId = randomUUID();
    if (!(await this.deps.jobs.claim(environmentId, jobId, { claimId, at: now, deadlineAt: now + timeLimitMs })))
      return;
    const signal = exportDeadline(timeLimitMs, options.signal);
    const job = await this.deps.jobs.get(environmentId, jobId);
    // The claim succeeded on the job's item, so it exists; jobs are never deleted.
    if (!job) throw new InternalFailureError(`Manual export ${jobId} claimed but not found.`);
    try {
      const environment = await this.deps.tenants.getEnvironment(environmentId);
      if (!environment) throw new NotFoundError(`Environment ${environmentId} no longer exists.`);
      const [features, segments] = await Promise.all([
        this.deps.tenants.listFeatures(environmentId),
        this.deps.tenants.listSegments(environmentId),
      ]);
      const { fileName, ...content } = companyExport({
        environmentName: environment.name,
        period: job.aggregation,
        date: dateOf(job.requestedAt),
        companies: this.deps.usage.streamCompanyUsage(environmentId),
        features,
        segments,
        points: dataPoints(job.aggregation, job.requestedAt),
      });
      const result = await runExport({
        ...content,
        sink: this.deps.sink,
        key: `manual/${environmentId}/${job.id}/${fileName}`,
        signal,
      });
      await this.finish(job, claimId, {
        status: 'done',
        finishedAt: this.deps.clock.now(),
        rowCount: result.rowCount,
        byteCount: result.byteCount,
        objectKey: result.key,
        fileName,
      });
    } catch (error) {
      logger.error('Manual export failed', { environmentId, jobId, error: error as Error });
      const message =
        error instanceof NotFoundError
          ? error.message
          : signal.aborted
            ? 'The export did not finish within its time limit. Please try a shorter aggregation or contact support.'
            : 'The export failed on our side. Please start it again; if it keeps failing, contact support.';
      await this.finish(job, claimId, { status: 'failed', finishedAt: this.deps.clock.now(), error: message });
    }
  }

  /**
   * Records the outcome, then frees the job's slot for the environment's next export. A run whose claim
   * was taken over past its deadline records nothing and leaves the slot to the run that took it over.
   */
  private async finish(job: ManualExportJob, claimId: string | undefined, outcome: ManualExportOutcome): Promise<void> {
    if (!(await this.deps.jobs.finish(job.environmentId, job.id, outcome, claimId))) return;
    await this.releaseSlot(job);
    this.countOutcome(job, outcome);
  }

  /** Counted once per job: only the run whose outcome was recorded counts it. */
  private countOutcome(job: ManualExportJob, outcome: ManualExportOutcome): void {
    const metrics = this.deps.metrics ?? uncountedMetrics;
    metrics.count(OPERATIONAL_METRICS.exportRunOutcomes, 1, {
      style: 'manual',
      outcome: outcome.status === 'done' ? 'successful' : 'failed',
    });
    if (job.startedAt !== undefined)
      metrics.measure(OPERATIONAL_METRICS.exportRunDuration, outcome.finishedAt - job.startedAt, 'ms');
    if (outcome.status !== 'done') return;
    metrics.count(OPERATIONAL_METRICS.rowsExported, outcome.rowCount);
    metrics.measure(OPERATIONAL_METRICS.bytesExported, outcome.byteCount, 'bytes');
  }

  /** Jobs created before slots existed hold none. */
  private async releaseSlot(job: ManualExportJob): Promise<void> {
    if (job.slot !== undefined) await this.deps.jobs.releaseSlot(job.environmentId, job.slot, job.id);
  }

  private async view(job: ManualExportJob): Promise<ManualExportView> {
    const file =
      job.status === 'done' && job.objectKey && job.fileName ? { key: job.objectKey, name: job.fileName } : undefined;
    const expiresAt = file ? this.deps.clock.now() + this.deps.downloadLinkSeconds * 1000 : undefined;
    return {
      id: job.id,
      aggregation: job.aggregation,
      status: job.status,
      requestedAt: isoTime(job.requestedAt),
      startedAt: isoTimeOrNull(job.startedAt),
      finishedAt: isoTimeOrNull(job.finishedAt),
      rowCount: job.rowCount ?? null,
      byteCount: job.byteCount ?? null,
      fileName: job.fileName ?? null,
      downloadUrl: file
        ? await this.deps.links.createDownloadUrl(file.key, {
            fileName: file.name,
            expiresInSeconds: this.deps.downloadLinkSeconds,
          })
        : null,
      expiresAt: isoTimeOrNull(expiresAt),
      error: job.error ?? null,
    };
  }
}
