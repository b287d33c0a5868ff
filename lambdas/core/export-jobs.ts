/**
 * Event and profile export jobs (CleverTap style), their management: create, list with filters and
 * pages, edit, stop, and the run history. A recurring job has one schedule (`rate(N hours)`); a
 * one-time job is dispatched at once. The run itself (reading the raw log, writing files) is
 * core/export-job-run.ts's, reached through `runJob`.
 */
import { authorizeEnvironment, type Caller } from './access';
import { DAY_MS } from './model';
import { ConflictError, NotFoundError, ValidationError, type FieldIssue } from './errors';
import { requirePlan } from './plans';
import type {
  Clock,
  DestinationStore,
  ExportJob,
  ExportJobDispatcher,
  ExportJobFormat,
  ExportJobFrequency,
  ExportJobRun,
  ExportJobScheduler,
  ExportJobStatus,
  ExportJobStore,
  ExportJobType,
  IdentityKind,
  JobRunRequest,
  TenantStore,
} from '../ports';
import type { Provider } from './destination';
import type { JobRunOutcome } from './export-job-runner';
import type { RunTimeLimit } from './export/pipeline';
import { isoTime, isoTimeOrNull } from './iso-time';

/** How far back a one-time job may reach, in UTC days. */
export const ONE_TIME_MAX_DAYS_BACK = 60;
export const PAGE_SIZES = [10, 20, 30, 40] as const;
export const DEFAULT_PAGE_SIZE = 20;
const EVENT_TYPES: readonly ExportJobType[] = ['allEvents', 'selectedEvents'];

/** A job as the API creates it: the defaults of identityPriority, asString and compression filled in by the service. */
export type ExportJobInput = Pick<
  ExportJob,
  'destinationId' | 'type' | 'events' | 'frequency' | 'format' | 'notifyEmails' | 'name'
> &
  Partial<Pick<ExportJob, 'identityPriority' | 'asString' | 'compression'>>;

/** A PATCH: the fields to change, and the version they are based on. */
export type ExportJobChange = Partial<ExportJobInput> & { version: number };

export interface JobListQuery {
  provider?: Provider;
  type?: ExportJobType;
  format?: ExportJobFormat;
  status?: ExportJobStatus;
  frequency?: 'oneTime' | 'recurring';
  /** Jobs whose last run started at or after this instant (epoch ms). */
  exportedFrom?: number;
  /** Jobs whose last run started before this instant (epoch ms). */
  exportedTo?: number;
  pageSize: number;
  cursor?: string;
}

export interface ExportJobView {
  id: string;
  name: string | null;
  destinationId: string;
  provider: Provider;
  type: ExportJobType;
  events: string[] | null;
  identityPriority: IdentityKind[];
  frequency: ExportJobFrequency;
  format: ExportJobFormat;
  asString: boolean;
  compression: 'gzip' | 'none';
  notifyEmails: string[];
  status: ExportJobStatus;
  createdAt: string;
  updatedAt: string;
  lastRunAt: string | null;
  stoppedAt: string | null;
  stoppedReason: string | null;
  version: number;
}

export interface ExportJobRunView {
  runId: string;
  window: { from: string; to: string };
  status: ExportJobRun['status'];
  startedAt: string;
  finishedAt: string | null;
  files: ExportJobRun['files'];
  error: string | null;
}

/** Runs one export job's run: core/export-job-runner.ts provides it. */
export type JobRunner = (request: JobRunRequest, limit?: RunTimeLimit) => Promise<JobRunOutcome>;

/** A change the job's state does not allow (409 with its own code). */
export class JobNotEditableError extends ConflictError {
  override readonly name = 'JobNotEditableError';
  constructor(
    readonly code: 'one_time_not_editable' | 'job_finished',
    message: string,
  ) {
    super(message);
  }
}

export class StaleJobError extends ConflictError {
  override readonly name = 'StaleJobError';
  constructor(id: string, currentVersion: number) {
    super(
      `Export job ${id} was changed since you read it (it is at version ${currentVersion} now). Reload it, make your change again and send the new version.`,
    );
  }
}

/** The job run is not wired into this build yet (see `ExportJobService.runJob`). */
export class JobRunnerMissingError extends Error {
  override readonly name = 'JobRunnerMissingError';
}

export interface ExportJobDependencies {
  tenants: TenantStore;
  destinations: DestinationStore;
  jobs: ExportJobStore;
  scheduler: ExportJobScheduler;
  dispatcher: ExportJobDispatcher;
  clock: Clock;
  newId: (prefix: string) => string;
  /** The job runner (core/export-job-runner.ts); absent where no raw event reader is wired. */
  runJob?: JobRunner;
}

const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`);
const invalid = (issues: FieldIssue[]) =>
  new ValidationError(`Invalid export job. ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`, issues);
const isEventType = (type: ExportJobType) => EVENT_TYPES.includes(type);

export class ExportJobService {
  constructor(private readonly deps: ExportJobDependencies) {}

  async create(caller: Caller | undefined, environmentId: string, input: ExportJobInput): Promise<ExportJobView> {
    await this.authorized(caller, environmentId);
    const now = this.deps.clock.now();
    checkFrequency(input.frequency, now);
    const destination = await this.destination(environmentId, input.destinationId);
    const job: ExportJob = {
      environmentId,
      id: this.deps.newId('job'),
      name: input.name,
      destinationId: input.destinationId,
      provider: destination.destination.provider,
      type: input.type,
      events: input.type === 'selectedEvents' ? input.events : undefined,
      identityPriority: input.identityPriority ?? ['identity'],
      frequency: input.frequency,
      format: input.format,
      asString: input.asString ?? false,
      compression: input.compression ?? 'gzip',
      notifyEmails: input.notifyEmails,
      status: 'PENDING',
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
    if (!(await this.deps.jobs.create(job)))
      throw new ConflictError(`Export job ${job.id} exists; send the request again.`);
    // Saved first: a schedule or run never points at a job that does not exist.
    if (job.frequency.kind === 'recurring') {
      await this.deps.scheduler.upsertJob(
        environmentId,
        job.id,
        job.frequency.everyHours,
        scheduleStart(job.frequency, now),
      );
    } else {
      await this.deps.dispatcher.dispatchJobRun({ environmentId, jobId: job.id, scheduledTime: now });
    }
    return jobView(job);
  }

  async list(
    caller: Caller | undefined,
    environmentId: string,
    query: JobListQuery,
  ): Promise<{ items: ExportJobView[]; nextCursor: string | null }> {
    await this.authorized(caller, environmentId);
    const page = pageOfJobs(await this.deps.jobs.list(environmentId), query);
    return { items: page.items.map(jobView), nextCursor: page.nextCursor };
  }

  async get(caller: Caller | undefined, environmentId: string, id: string): Promise<ExportJobView> {
    await this.authorized(caller, environmentId);
    return jobView(await this.existing(environmentId, id));
  }

  /** Recurring jobs only, while PENDING or RUNNING, never between events and profiles; applies from the next run. */
  async update(
    caller: Caller | undefined,
    environmentId: string,
    id: string,
    change: ExportJobChange,
  ): Promise<ExportJobView> {
    await this.authorized(caller, environmentId);
    const existing = await this.existing(environmentId, id);
    if (existing.frequency.kind === 'oneTime') {
      throw new JobNotEditableError(
        'one_time_not_editable',
        'A one-time export job cannot be edited. Create a new job instead.',
      );
    }
    if (existing.status === 'DONE' || existing.status === 'STOPPED') {
      throw new JobNotEditableError(
        'job_finished',
        `Export job ${id} is ${existing.status} and cannot be edited. Create a new job instead.`,
      );
    }
    if (existing.version !== change.version) throw new StaleJobError(id, existing.version);
    const { version: _version, ...fields } = change;
    const type = fields.type ?? existing.type;
    const issues: FieldIssue[] = [];
    if (isEventType(type) !== isEventType(existing.type)) {
      issues.push({
        path: 'type',
        message: `cannot switch between events and profiles (the job exports ${existing.type}); create a new job instead`,
      });
    }
    if (fields.frequency && fields.frequency.kind !== 'recurring') {
      issues.push({
        path: 'frequency.kind',
        message: 'a recurring job stays recurring; create a one-time job instead',
      });
    }
    const events = type === 'selectedEvents' ? (fields.events ?? existing.events) : undefined;
    if (type === 'selectedEvents' && !events?.length)
      issues.push({ path: 'events', message: 'selectedEvents needs 1-100 event names' });
    if (type !== 'selectedEvents' && fields.events !== undefined)
      issues.push({ path: 'events', message: 'only for type selectedEvents' });
    if (issues.length > 0) throw invalid(issues);
    const now = this.deps.clock.now();
    if (fields.frequency) checkFrequency(fields.frequency, now);
    const destination = fields.destinationId ? await this.destination(environmentId, fields.destinationId) : undefined;
    const job: ExportJob = {
      ...existing,
      ...fields,
      type,
      events,
      provider: destination?.destination.provider ?? existing.provider,
      updatedAt: now,
      version: existing.version + 1,
    };
    if (!(await this.deps.jobs.put(job, existing.version)))
      throw new StaleJobError(id, (await this.deps.jobs.get(environmentId, id))?.version ?? 0);
    const [before, after] = [existing.frequency, job.frequency];
    if (
      after.kind === 'recurring' &&
      before.kind === 'recurring' &&
      (after.everyHours !== before.everyHours || after.startDate !== before.startDate)
    ) {
      await this.deps.scheduler.upsertJob(environmentId, id, after.everyHours, scheduleStart(after, job.createdAt));
    }
    return jobView(job);
  }

  /** Stops the job (stopExportJob). Stopping a stopped job changes nothing; a DONE job has nothing to stop. */
  async stop(caller: Caller | undefined, environmentId: string, id: string): Promise<ExportJobView> {
    await this.authorized(caller, environmentId);
    const job = await stopExportJob(this.deps, environmentId, id, { reason: 'Stopped by a user.', by: 'user' });
    if (!job) throw new NotFoundError(`Export job ${id} not found.`);
    if (job.status === 'DONE')
      throw new JobNotEditableError('job_finished', `Export job ${id} is DONE: there is nothing to stop.`);
    return jobView(job);
  }

  async runs(
    caller: Caller | undefined,
    environmentId: string,
    id: string,
    limit: number,
  ): Promise<ExportJobRunView[]> {
    await this.authorized(caller, environmentId);
    await this.existing(environmentId, id);
    return (await this.deps.jobs.listRuns(environmentId, id, limit)).map(runView);
  }

  /**
   * THE SEAM between job management and the job run: the dispatcher (one-time jobs at creation) and
   * the scheduler (recurring jobs, and `POST /local/scheduler/fire {jobId}` locally) call this for a
   * run; it hands the request to the job runner (core/export-job-runner.ts, wired as `runJob` in
   * services.ts when the adapters include a raw event reader). Without it, JobRunnerMissingError.
   */
  async runJob(request: JobRunRequest, limit?: RunTimeLimit): Promise<JobRunOutcome> {
    if (!this.deps.runJob)
      throw new JobRunnerMissingError('The export job run is not wired into this build (services.ts: runJob).');
    return this.deps.runJob(request, limit);
  }

  private async authorized(caller: Caller | undefined, environmentId: string): Promise<void> {
    const { organization } = await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    requirePlan(organization, 'Export jobs');
  }

  private async existing(environmentId: string, id: string): Promise<ExportJob> {
    const job = await this.deps.jobs.get(environmentId, id);
    if (!job) throw new NotFoundError(`Export job ${id} not found.`);
    return job;
  }

  private async destination(environmentId: string, destinationId: string) {
    const destination = await this.deps.destinations.get(environmentId, destinationId);
    if (!destination) {
      throw invalid([
        {
          path: 'destinationId',
          message: `no destination ${destinationId} in this environment; create one with POST .../destinations`,
        },
      ]);
    }
    return destination;
  }
}

/**
 * Sets STOPPED (conditional on the version read; retried when a change came in between), then deletes
 * the schedule: a run fired in between finds the job STOPPED. Answers the job as it ends up: STOPPED,
 * DONE (nothing to stop), or undefined when there is no such job. A stopped job is answered unchanged.
 */
export async function stopExportJob(
  deps: { jobs: Pick<ExportJobStore, 'get' | 'put'>; scheduler: Pick<ExportJobScheduler, 'removeJob'>; clock: Clock },
  environmentId: string,
  id: string,
  stop: { reason: string; by: NonNullable<ExportJob['stoppedBy']> },
): Promise<ExportJob | undefined> {
  for (;;) {
    const existing = await deps.jobs.get(environmentId, id);
    if (!existing || existing.status === 'STOPPED' || existing.status === 'DONE') return existing;
    const now = deps.clock.now();
    const stopped: ExportJob = {
      ...existing,
      status: 'STOPPED',
      stoppedAt: now,
      stoppedReason: stop.reason,
      stoppedBy: stop.by,
      updatedAt: now,
      version: existing.version + 1,
    };
    if (await deps.jobs.put(stopped, existing.version)) {
      if (stopped.frequency.kind === 'recurring') await deps.scheduler.removeJob(environmentId, id);
      return stopped;
    }
  }
}

/** One-time: UTC days within the last 60, `to` ≥ `from`, not in the future. Recurring: a start from today on. */
export function checkFrequency(frequency: ExportJobFrequency, now: number): void {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const issues: FieldIssue[] = [];
  if (frequency.kind === 'oneTime') {
    const [from, to] = [dayStart(frequency.from), dayStart(frequency.to)];
    const earliest = today - ONE_TIME_MAX_DAYS_BACK * DAY_MS;
    if (from < earliest)
      issues.push({
        path: 'frequency.from',
        message: `must be within the last ${ONE_TIME_MAX_DAYS_BACK} days: ${isoTime(earliest).slice(0, 10)} or later`,
      });
    if (to > today)
      issues.push({
        path: 'frequency.to',
        message: `must not be in the future: ${isoTime(today).slice(0, 10)} or earlier`,
      });
    if (to < from) issues.push({ path: 'frequency.to', message: 'must be on or after frequency.from' });
  } else if (frequency.startDate !== undefined) {
    const start = dayStart(frequency.startDate);
    if (start < today)
      issues.push({ path: 'frequency.startDate', message: `must be today (${isoTime(today).slice(0, 10)}) or later` });
    if (start > today + 365 * DAY_MS)
      issues.push({ path: 'frequency.startDate', message: 'must be within a year from today' });
  }
  if (issues.length > 0) throw invalid(issues);
}

/** A recurring job's first run: its start date's 00:00 UTC, or its creation. */
const scheduleStart = (frequency: Extract<ExportJobFrequency, { kind: 'recurring' }>, createdAt: number): number =>
  frequency.startDate ? dayStart(frequency.startDate) : createdAt;

/** The cursor of a page: where the next one starts (the last job's creation and id), opaque to clients. */
const encodeCursor = (job: ExportJob) => Buffer.from(JSON.stringify([job.createdAt, job.id])).toString('base64url');

function decodeCursor(cursor: string): [number, string] {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'number' && typeof id === 'string') return [createdAt, id];
  } catch {
    // Reported below.
  }
  throw new ValidationError(
    'Invalid query string. cursor: not a cursor this API gave; send the nextCursor of the previous page, or none.',
    [{ path: 'cursor', message: 'not a cursor this API gave' }],
  );
}

/** Newest first; filters, then a page of `pageSize` after the cursor. */
export function pageOfJobs(jobs: ExportJob[], query: JobListQuery): { items: ExportJob[]; nextCursor: string | null } {
  if (!(PAGE_SIZES as readonly number[]).includes(query.pageSize)) {
    throw new ValidationError(`Invalid query string. pageSize: must be one of ${PAGE_SIZES.join(', ')}.`, [
      { path: 'pageSize', message: `must be one of ${PAGE_SIZES.join(', ')}` },
    ]);
  }
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const newestFirst = (a: ExportJob, b: ExportJob) =>
    b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
  const matching = jobs
    .filter(
      (job) =>
        (query.provider === undefined || job.provider === query.provider) &&
        (query.type === undefined || job.type === query.type) &&
        (query.format === undefined || job.format === query.format) &&
        (query.status === undefined || job.status === query.status) &&
        (query.frequency === undefined || job.frequency.kind === query.frequency) &&
        (query.exportedFrom === undefined || (job.lastRunAt !== undefined && job.lastRunAt >= query.exportedFrom)) &&
        (query.exportedTo === undefined || (job.lastRunAt !== undefined && job.lastRunAt < query.exportedTo)),
    )
    .sort(newestFirst)
    .filter(
      (job) => after === undefined || job.createdAt < after[0] || (job.createdAt === after[0] && job.id < after[1]),
    );
  const items = matching.slice(0, query.pageSize);
  return { items, nextCursor: matching.length > query.pageSize ? encodeCursor(items[items.length - 1]) : null };
}

function jobView(job: ExportJob): ExportJobView {
  return {
    id: job.id,
    name: job.name ?? null,
    destinationId: job.destinationId,
    provider: job.provider,
    type: job.type,
    events: job.events ?? null,
    identityPriority: job.identityPriority,
    frequency: job.frequency,
    format: job.format,
    asString: job.asString,
    compression: job.compression,
    notifyEmails: job.notifyEmails,
    status: job.status,
    createdAt: isoTime(job.createdAt),
    updatedAt: isoTime(job.updatedAt),
    lastRunAt: isoTimeOrNull(job.lastRunAt),
    stoppedAt: isoTimeOrNull(job.stoppedAt),
    stoppedReason: job.stoppedReason ?? null,
    version: job.version,
  };
}

function runView(run: ExportJobRun): ExportJobRunView {
  return {
    runId: run.runId,
    window: { from: isoTime(run.window.from), to: isoTime(run.window.to) },
    status: run.status,
    startedAt: isoTime(run.startedAt),
    finishedAt: isoTimeOrNull(run.finishedAt),
    files: run.files,
    error: run.error ?? null,
  };
}
