/**
 * The job runner: what `ExportJobService.runJob` hands a run to. It loads the job and its destination,
 * computes the run's window, runs core/export-job-run.ts into the destination, keeps the job's status
 * (RUNNING during the run; PENDING after for recurring jobs, DONE after a successful one-time run) and
 * records the run in the job's history, its failure phrased for the customer.
 */
import { DAY_MS, HOUR_MS } from './model';
import { DestinationError } from './destination';
import { classifyRunFailure, type FailureClass } from './errors';
import { runExportJob, type ExportJobRunSpec } from './export-job-run';
import { compactTimestamp } from './export/job-files';
import {
  exportDeadline,
  RUN_TIME_LIMIT_MS,
  TIME_LIMIT_EXCEEDED,
  type ObjectSink,
  type RunTimeLimit,
} from './export/pipeline';
import type {
  Clock,
  DestinationGateway,
  DestinationStore,
  ExportJob,
  ExportJobRun,
  ExportJobStatus,
  ExportJobStore,
  JobRunRequest,
  NamedDestination,
  ProfileStore,
  RawEventReader,
  SecretSealer,
  ServiceIdentityGateway,
  TenantStore,
} from '../ports';

export interface ExportJobRunnerDependencies {
  tenants: TenantStore;
  destinations: DestinationStore;
  jobs: ExportJobStore;
  sealer: SecretSealer;
  gateway: DestinationGateway & ServiceIdentityGateway;
  rawEvents: RawEventReader;
  profiles: Pick<ProfileStore, 'listProfiles' | 'listProfilesChangedSince'>;
  clock: Clock;
}

/**
 * What a run request came to: skipped (the job is gone, stopped or done, or a later run exported the
 * window) or the run recorded; a failed run says who its failure is for (a transient one is worth a
 * retry of the same scheduled time).
 */
export type JobRunOutcome =
  { outcome: 'skipped'; reason: string } | { outcome: 'ran'; run: ExportJobRun; failureClass?: FailureClass };

/** Said to the customer when a run failed for a reason of the service's own, not the destination's. */
export const INTERNAL_RUN_FAILURE =
  'The export failed because of a problem on our side. The job keeps its schedule; contact support if this repeats.';

/**
 * How long after its receive time a record may still reach the raw log: Firehose delivers a buffer
 * up to 5 minutes after its first record (docs/raw-event-log.md), plus its retries. A recurring window
 * ends this long before its scheduled time, so no record lands in a window already exported.
 */
export const RAW_LOG_SETTLE_MS = 15 * 60_000;

/**
 * The window a run exports, epoch ms, `to` excluded. `earlierRuns`: the job's runs scheduled before
 * this one, most recent first.
 *
 * Recurring: receive time up to the scheduled time less RAW_LOG_SETTLE_MS, from where the last
 * successful earlier run ended. Consecutive windows meet whatever the schedule does: a new
 * `everyHours` applies from the next run without a gap or an overlap, and a failed run's window is
 * exported by the next run that succeeds. Before any success: from the first run's start, recorded
 * with it (`firstRun`, the first run itself when this is a repeat of it); the very first window is the
 * `everyHours` before its end. A duplicate of a run computes the same window, even after an edit.
 */
export function runWindow(
  job: ExportJob,
  scheduledTime: number,
  runAt: number,
  earlierRuns: readonly ExportJobRun[],
  firstRun: ExportJobRun | undefined = earlierRuns.at(-1),
): ExportJobRunSpec['window'] {
  if (job.frequency.kind === 'recurring') {
    const to = scheduledTime - RAW_LOG_SETTLE_MS;
    const lastSuccessful = earlierRuns.find((run) => run.status === 'successful');
    const from = lastSuccessful?.window.to ?? firstRun?.window.from ?? to - job.frequency.everyHours * HOUR_MS;
    return { from, to, by: 'receiveTime' };
  }
  const from = Date.parse(`${job.frequency.from}T00:00:00Z`);
  return { from, to: Date.parse(`${job.frequency.to}T00:00:00Z`) + DAY_MS, by: 'eventTime', readUntil: runAt };
}

/** How many of a job's latest runs a run reads to find its window (more than 72 hours of 4-hourly failures). */
const RUN_HISTORY_READ = 100;

export class ExportJobRunner {
  constructor(private readonly deps: ExportJobRunnerDependencies) {}

  /**
   * Runs the job's run for `request.scheduledTime`. It gives up after `limit.timeLimitMs` (before the
   * Lambda's time runs out) or when `limit.signal` aborts, also in the middle of a stalled upload, and
   * is recorded as a transient failure (`time_limit_exceeded`), so it is retried. A retry skips a run
   * still `running` before its deadline and takes over one past it (its worker was lost): the same
   * window and the same keys.
   */
  async run(request: JobRunRequest, limit: RunTimeLimit = {}): Promise<JobRunOutcome> {
    const { timeLimitMs = RUN_TIME_LIMIT_MS } = limit;
    const { environmentId, jobId, scheduledTime } = request;
    const job = await this.deps.jobs.get(environmentId, jobId);
    if (!job) return { outcome: 'skipped', reason: `Export job ${jobId} does not exist.` };
    if (job.status === 'STOPPED' || job.status === 'DONE')
      return { outcome: 'skipped', reason: `Export job ${jobId} is ${job.status}.` };
    const runId = String(compactTimestamp(scheduledTime));
    const history = await this.deps.jobs.listRuns(environmentId, jobId, RUN_HISTORY_READ);
    if (job.frequency.kind === 'recurring' && history.some((run) => run.runId > runId && run.status === 'successful')) {
      // A late retry of a run whose window a later run has exported already: running it would export it twice.
      return { outcome: 'skipped', reason: `A later run of export job ${jobId} has exported this run's window.` };
    }
    const startedAt = request.runAt ?? this.deps.clock.now();
    const thisRun = history.find((run) => run.runId === runId);
    if (thisRun?.status === 'running' && thisRun.deadlineAt !== undefined && thisRun.deadlineAt >= startedAt) {
      return {
        outcome: 'skipped',
        reason: `Run ${runId} of export job ${jobId} is running until ${new Date(thisRun.deadlineAt).toISOString()}.`,
      };
    }
    const earlierRuns = history.filter((run) => run.runId < runId);
    const firstRun = earlierRuns.at(-1) ?? thisRun;
    const window = runWindow(job, scheduledTime, startedAt, earlierRuns, firstRun);
    const signal = exportDeadline(timeLimitMs, limit.signal);
    const ran = { runId, window: { from: window.from, to: window.to }, startedAt, files: [] };
    await this.setStatus(job, 'RUNNING', startedAt);
    await this.deps.jobs.recordRun(environmentId, jobId, {
      ...ran,
      status: 'running',
      deadlineAt: startedAt + timeLimitMs,
    });
    let finished: ExportJobRun;
    let failureClass: FailureClass | undefined;
    try {
      const { files } = await runExportJob(await this.spec(job, window, scheduledTime, earlierRuns), {
        rawEvents: this.deps.rawEvents,
        profiles: this.deps.profiles,
        sink: await this.sink(job),
        signal,
      });
      finished = { ...ran, status: 'successful', finishedAt: this.finishedAt(request), files };
    } catch (error) {
      const failure = signal.aborted
        ? { ...TIME_LIMIT_EXCEEDED, failureClass: 'transient' as const }
        : classifyRunFailure(error);
      failureClass = failure.failureClass;
      finished = {
        ...ran,
        status: 'failed',
        finishedAt: this.finishedAt(request),
        error: signal.aborted ? TIME_LIMIT_EXCEEDED.error : customerMessage(error),
      };
      await this.deps.jobs.recordRunOutcome(environmentId, jobId, {
        runId,
        status: 'failed',
        finishedAt: finished.finishedAt!,
        failureClass: failure.failureClass,
        errorCode: failure.errorCode,
      });
    }
    await this.deps.jobs.recordRun(environmentId, jobId, finished);
    if (finished.status === 'successful')
      await this.deps.jobs.recordRunOutcome(environmentId, jobId, { runId, status: 'successful' });
    const after: ExportJobStatus =
      job.frequency.kind === 'oneTime' && finished.status === 'successful' ? 'DONE' : 'PENDING';
    await this.setStatus(job, after, finished.finishedAt ?? startedAt);
    return { outcome: 'ran', run: finished, ...(failureClass && { failureClass }) };
  }

  private finishedAt(request: JobRunRequest): number {
    // Local runs at a given `runAt` keep their history in that time.
    return request.runAt ?? this.deps.clock.now();
  }

  private async spec(
    job: ExportJob,
    window: ExportJobRunSpec['window'],
    scheduledTime: number,
    earlierRuns: readonly ExportJobRun[],
  ): Promise<ExportJobRunSpec> {
    const [environment, destination] = await Promise.all([
      this.deps.tenants.getEnvironment(job.environmentId),
      this.destination(job),
    ]);
    if (!environment) throw new Error(`Environment ${job.environmentId} of export job ${job.id} is gone.`);
    return {
      environmentId: job.environmentId,
      organizationId: environment.organizationId,
      jobId: job.id,
      type: job.type,
      events: job.events,
      identityPriority: job.identityPriority,
      format: job.format,
      asString: job.asString,
      compression: job.compression,
      keyPrefix: destination.destination.keyPrefix,
      window,
      runScheduledAt: scheduledTime,
      // Profiles changed since the last successful earlier run started; every profile on the first.
      profilesChangedSince:
        job.type === 'userProfiles' ? earlierRuns.find((run) => run.status === 'successful')?.startedAt : undefined,
    };
  }

  private async destination(job: ExportJob): Promise<NamedDestination> {
    const destination = await this.deps.destinations.get(job.environmentId, job.destinationId);
    if (!destination) throw new MissingJobDestinationError(job.destinationId);
    return destination;
  }

  /**
   * Access-key destinations: the customer's key, unsealed; bucket-policy ones: the service's identity.
   * The sink writes at the bucket's root: the run's keys carry the key prefix already (so the run
   * history shows the objects' full keys).
   */
  private async sink(job: ExportJob): Promise<ObjectSink> {
    const named = await this.destination(job);
    const atRoot = { ...named.destination, keyPrefix: '' };
    if (named.auth.mode === 'bucketPolicy') return this.deps.gateway.serviceSink(atRoot);
    const secretAccessKey = await this.deps.sealer.unseal(named.auth.sealedSecretAccessKey, {
      environmentId: job.environmentId,
    });
    return this.deps.gateway.sink(atRoot, { accessKeyId: named.auth.accessKeyId, secretAccessKey });
  }

  /** Sets the job's status, re-reading when an edit came in between; a job stopped meanwhile stays STOPPED. */
  private async setStatus(job: ExportJob, status: ExportJobStatus, at: number): Promise<void> {
    for (let current: ExportJob | undefined = job; current && current.status !== 'STOPPED';) {
      if (
        await this.deps.jobs.put({ ...current, status, updatedAt: at, version: current.version + 1 }, current.version)
      )
        return;
      current = await this.deps.jobs.get(job.environmentId, job.id);
    }
  }
}

/**
 * The job's destination was deleted (deletion is refused while jobs use it, so this is a race). The
 * customer's to fix: a failure of the warning sequence.
 */
export class MissingJobDestinationError extends DestinationError {
  override readonly name = 'MissingJobDestinationError';
  readonly transient = false;
  readonly code = 'destination_missing';
  constructor(destinationId: string) {
    super(`The job's destination ${destinationId} no longer exists. Create a new job with an existing destination.`);
  }
}

function customerMessage(error: unknown): string {
  if (error instanceof DestinationError) return error.message;
  return INTERNAL_RUN_FAILURE;
}
