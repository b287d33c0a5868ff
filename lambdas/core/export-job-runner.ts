/**
 * The job runner: what `ExportJobService.runJob` hands a run to. It loads the job and its destination,
 * computes the run's window, runs core/export-job-run.ts into the destination, keeps the job's status
 * (RUNNING during the run; PENDING after for recurring jobs, DONE after a successful one-time run) and
 * records the run in the job's history, its failure phrased for the customer.
 */
import { DAY_MS } from './model';
import { DestinationError } from './destination';
import { runExportJob, type ExportJobRunSpec } from './export-job-run';
import { compactTimestamp } from './export/job-files';
import type { ObjectSink } from './export/pipeline';
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

/** What a run request came to: skipped (the job is gone, stopped or done) or the run recorded. */
export type JobRunOutcome = { outcome: 'skipped'; reason: string } | { outcome: 'ran'; run: ExportJobRun };

/** Said to the customer when a run failed for a reason of the service's own, not the destination's. */
export const INTERNAL_RUN_FAILURE = 'The export failed because of a problem on our side. The job keeps its schedule; contact support if this repeats.';

/** The window a run exports, epoch ms, `to` excluded. */
export function runWindow(job: ExportJob, scheduledTime: number, runAt: number): ExportJobRunSpec['window'] {
  if (job.frequency.kind === 'recurring') {
    // Consecutive runs' windows meet: every record received lands in exactly one run.
    return { from: scheduledTime - job.frequency.everyHours * 3600_000, to: scheduledTime, by: 'receiveTime' };
  }
  const from = Date.parse(`${job.frequency.from}T00:00:00Z`);
  return { from, to: Date.parse(`${job.frequency.to}T00:00:00Z`) + DAY_MS, by: 'eventTime', readUntil: runAt };
}

export class ExportJobRunner {
  constructor(private readonly deps: ExportJobRunnerDependencies) {}

  async run(request: JobRunRequest): Promise<JobRunOutcome> {
    const { environmentId, jobId, scheduledTime } = request;
    const job = await this.deps.jobs.get(environmentId, jobId);
    if (!job) return { outcome: 'skipped', reason: `Export job ${jobId} does not exist.` };
    if (job.status === 'STOPPED' || job.status === 'DONE') return { outcome: 'skipped', reason: `Export job ${jobId} is ${job.status}.` };
    const startedAt = request.runAt ?? this.deps.clock.now();
    const window = runWindow(job, scheduledTime, startedAt);
    const running: ExportJobRun = {
      runId: String(compactTimestamp(scheduledTime)),
      window: { from: window.from, to: window.to },
      status: 'running',
      startedAt,
      files: [],
    };
    await this.setStatus(job, 'RUNNING', startedAt);
    await this.deps.jobs.recordRun(environmentId, jobId, running);
    let finished: ExportJobRun;
    try {
      const { files } = await runExportJob(await this.spec(job, window, scheduledTime), {
        rawEvents: this.deps.rawEvents,
        profiles: this.deps.profiles,
        sink: await this.sink(job),
      });
      finished = { ...running, status: 'successful', finishedAt: this.finishedAt(request), files };
    } catch (error) {
      finished = { ...running, status: 'failed', finishedAt: this.finishedAt(request), error: customerMessage(error) };
    }
    await this.deps.jobs.recordRun(environmentId, jobId, finished);
    const after: ExportJobStatus = job.frequency.kind === 'oneTime' && finished.status === 'successful' ? 'DONE' : 'PENDING';
    await this.setStatus(job, after, finished.finishedAt ?? startedAt);
    return { outcome: 'ran', run: finished };
  }

  private finishedAt(request: JobRunRequest): number {
    // Local runs at a given `runAt` keep their history in that time.
    return request.runAt ?? this.deps.clock.now();
  }

  private async spec(job: ExportJob, window: ExportJobRunSpec['window'], scheduledTime: number): Promise<ExportJobRunSpec> {
    const [environment, destination] = await Promise.all([this.deps.tenants.getEnvironment(job.environmentId), this.destination(job)]);
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
      profilesChangedSince: job.type === 'userProfiles' ? await this.lastSuccessfulStart(job) : undefined,
    };
  }

  /** Profiles changed since the last successful run started; every profile on the first. */
  private async lastSuccessfulStart(job: ExportJob): Promise<number | undefined> {
    const runs = await this.deps.jobs.listRuns(job.environmentId, job.id, 100);
    return runs.find((run) => run.status === 'successful')?.startedAt;
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
    const secretAccessKey = await this.deps.sealer.unseal(named.auth.sealedSecretAccessKey, { environmentId: job.environmentId });
    return this.deps.gateway.sink(atRoot, { accessKeyId: named.auth.accessKeyId, secretAccessKey });
  }

  /** Sets the job's status, re-reading when an edit came in between; a job stopped meanwhile stays STOPPED. */
  private async setStatus(job: ExportJob, status: ExportJobStatus, at: number): Promise<void> {
    for (let current: ExportJob | undefined = job; current && current.status !== 'STOPPED'; ) {
      if (await this.deps.jobs.put({ ...current, status, updatedAt: at, version: current.version + 1 }, current.version)) return;
      current = await this.deps.jobs.get(job.environmentId, job.id);
    }
  }
}

/** The job's destination was deleted (deletion is refused while jobs use it, so this is a race). */
export class MissingJobDestinationError extends Error {
  override readonly name = 'MissingJobDestinationError';
  constructor(destinationId: string) {
    super(`The job's destination ${destinationId} no longer exists. Create a new job with an existing destination.`);
  }
}

function customerMessage(error: unknown): string {
  if (error instanceof DestinationError || error instanceof MissingJobDestinationError) return error.message;
  return INTERNAL_RUN_FAILURE;
}
