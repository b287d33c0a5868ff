/**
 * Local mode's stand-in for EventBridge Scheduler: one schedule per environment, fired in this process
 * at the same instants as the AWS schedule expressions (00:00 UTC daily, Monday 00:00 UTC weekly),
 * with the instant as the scheduled time. Schedules live in a JSON file so a restart keeps them, and
 * instants missed while the machine slept or the process was down fire, once each and in order, on the
 * next tick.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { logger } from '../core/log';
import { nextRunAt, type Cadence } from '../core/periods';
import { nextRawRunAt } from '../core/raw-revisions';
import type { Clock, ExportJobScheduler, ExportScheduler, JobRunRequest, RawExportScheduler } from '../ports';

export interface LocalSchedule {
  cadence: Cadence;
  /** When the schedule was created or its cadence changed: only later instants fire. */
  createdAt: number;
  /** The last instant fired (recorded before firing: a run that crashes the process is not refired). */
  lastFiredFor?: number;
}

/** An export job's schedule: every `everyHours` hours from `startAt`, as `rate(N hours)` fires. */
export interface LocalJobSchedule {
  environmentId: string;
  everyHours: number;
  startAt: number;
  lastFiredFor?: number;
}

/** An environment's raw revisions export schedule: 00:00 and 12:00 UTC, as `cron(0 0,12 * * ? *)` fires. */
export interface LocalRawExportSchedule {
  createdAt: number;
  lastFiredFor?: number;
}

/** Runs an environment's raw revisions export for one instant. */
export type ScheduledRawExportFirer = (environmentId: string, scheduledTime: number) => Promise<void>;

/** Runs an export job's scheduled run. */
export type ScheduledJobFirer = (request: JobRunRequest) => Promise<void>;

/** Runs the scheduled export of an environment for one instant (epoch ms). */
export type ScheduledExportFirer = (environmentId: string, scheduledTime: number) => Promise<void>;

const FILE_VERSION = 1;

interface ScheduleFile {
  version: typeof FILE_VERSION;
  schedules: Record<string, LocalSchedule>;
  /** Export jobs' schedules by job id (absent in files written before export jobs). */
  jobs?: Record<string, LocalJobSchedule>;
  /** Raw revisions export schedules by environment id (absent in older files). */
  rawExports?: Record<string, LocalRawExportSchedule>;
}

export class ScheduleFileError extends Error {
  override readonly name = 'ScheduleFileError';
}

export class LocalSchedulerNotStartedError extends Error {
  override readonly name = 'LocalSchedulerNotStartedError';
  constructor() {
    super('LocalExportScheduler.tick needs start() first: nothing would run the due exports.');
  }
}

export class LocalExportScheduler implements ExportScheduler, ExportJobScheduler, RawExportScheduler {
  private readonly clock: Clock;
  private readonly file?: string;
  private readonly schedules: Map<string, LocalSchedule>;
  private fire?: ScheduledExportFirer;
  private fireJob?: ScheduledJobFirer;
  private fireRawExport?: ScheduledRawExportFirer;
  private readonly rawExports: Map<string, LocalRawExportSchedule>;
  private readonly jobs: Map<string, LocalJobSchedule>;
  private timer?: NodeJS.Timeout;
  /** Ticks run one after another; `pendingTicks` lets the timer skip while one is still firing. */
  private ticks: Promise<void> = Promise.resolve();
  private pendingTicks = 0;
  /** Writes of the file run one after another, each writing the state current when it starts. */
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    options: { clock: Clock; file?: string },
    schedules: Map<string, LocalSchedule>,
    jobs: Map<string, LocalJobSchedule>,
    rawExports: Map<string, LocalRawExportSchedule>,
  ) {
    this.clock = options.clock;
    this.file = options.file;
    this.schedules = schedules;
    this.jobs = jobs;
    this.rawExports = rawExports;
  }

  /** A scheduler with the schedules saved in `file` (created on first change), or in memory only without one. */
  static async open(options: { clock: Clock; file?: string }): Promise<LocalExportScheduler> {
    const { schedules, jobs, rawExports } = options.file
      ? await readSchedules(options.file)
      : {
          schedules: new Map<string, LocalSchedule>(),
          jobs: new Map<string, LocalJobSchedule>(),
          rawExports: new Map<string, LocalRawExportSchedule>(),
        };
    return new LocalExportScheduler(options, schedules, jobs, rawExports);
  }

  /** An unchanged cadence keeps the schedule as it is; a new cadence starts from now, as UpdateSchedule does. */
  async upsert(environmentId: string, cadence: Cadence): Promise<void> {
    if (this.schedules.get(environmentId)?.cadence === cadence) return;
    this.schedules.set(environmentId, { cadence, createdAt: this.clock.now() });
    await this.save();
  }

  async remove(environmentId: string): Promise<void> {
    if (!this.schedules.delete(environmentId)) return;
    await this.save();
  }

  /**
   * A replaced schedule (a new `everyHours`) fires from its first instant after now: the instants of
   * its grid that passed while the old one ran are not fired again.
   */
  async upsertJob(environmentId: string, jobId: string, everyHours: number, startAt: number): Promise<void> {
    const now = this.clock.now();
    const period = everyHours * 3_600_000;
    const replaced = this.jobs.has(jobId) && startAt <= now;
    const schedule: LocalJobSchedule = { environmentId, everyHours, startAt };
    if (replaced) schedule.lastFiredFor = startAt + Math.floor((now - startAt) / period) * period;
    this.jobs.set(jobId, schedule);
    await this.save();
  }

  async removeJob(_environmentId: string, jobId: string): Promise<void> {
    if (!this.jobs.delete(jobId)) return;
    await this.save();
  }

  /** An existing schedule is kept as it is (its next instant stays). */
  async upsertRawExport(environmentId: string): Promise<void> {
    if (this.rawExports.has(environmentId)) return;
    this.rawExports.set(environmentId, { createdAt: this.clock.now() });
    await this.save();
  }

  async removeRawExport(environmentId: string): Promise<void> {
    if (!this.rawExports.delete(environmentId)) return;
    await this.save();
  }

  /** Whether the environment's raw revisions export is scheduled. */
  hasRawExportSchedule(environmentId: string): boolean {
    return this.rawExports.has(environmentId);
  }

  /** The job's schedule, if it has one (the local fire route finds the job's environment here). */
  jobSchedule(jobId: string): LocalJobSchedule | undefined {
    const schedule = this.jobs.get(jobId);
    return schedule && { ...schedule };
  }

  /** The next instant the environment's export fires at (at or before now when it is due), if scheduled. */
  nextFireAt(environmentId: string): number | undefined {
    const schedule = this.schedules.get(environmentId);
    return schedule && nextDue(schedule);
  }

  /**
   * Fires what is due now, then every `intervalMs`. The timer is unref'd: it never keeps the process
   * alive. Failures of a tick are logged.
   */
  start(
    fire: ScheduledExportFirer,
    options: { intervalMs?: number; fireJob?: ScheduledJobFirer; fireRawExport?: ScheduledRawExportFirer } = {},
  ): void {
    this.stop();
    this.fire = fire;
    this.fireJob = options.fireJob;
    this.fireRawExport = options.fireRawExport;
    const tickNow = (): void => {
      if (this.pendingTicks > 0) return;
      this.tick(this.clock.now()).catch((error: unknown) =>
        logger.error('Local scheduler tick failed', { error: error as Error }),
      );
    };
    this.timer = setInterval(tickNow, options.intervalMs ?? 30_000);
    this.timer.unref();
    tickNow();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Fires, for each schedule, every instant after its last one up to `now`, oldest first. */
  tick(now: number): Promise<void> {
    const fire = this.fire;
    if (!fire) return Promise.reject(new LocalSchedulerNotStartedError());
    this.pendingTicks += 1;
    const ticking = this.ticks.then(() => this.fireDue(fire, now)).finally(() => (this.pendingTicks -= 1));
    this.ticks = ticking.catch(() => undefined);
    return ticking;
  }

  private async fireDue(fire: ScheduledExportFirer, now: number): Promise<void> {
    for (const environmentId of [...this.schedules.keys()]) {
      // Re-read on every instant: a fired export may have removed or changed the schedule.
      for (let schedule = this.schedules.get(environmentId); schedule; schedule = this.schedules.get(environmentId)) {
        const scheduledTime = nextDue(schedule);
        if (scheduledTime > now) break;
        this.schedules.set(environmentId, { ...schedule, lastFiredFor: scheduledTime });
        await this.save();
        await fire(environmentId, scheduledTime).catch((error: unknown) =>
          logger.error('Local scheduled export failed', { environmentId, scheduledTime, error: error as Error }),
        );
      }
    }
    await this.fireDueRawExports(now);
    const fireJob = this.fireJob;
    if (!fireJob) return;
    for (const jobId of [...this.jobs.keys()]) {
      for (let schedule = this.jobs.get(jobId); schedule; schedule = this.jobs.get(jobId)) {
        const scheduledTime = nextJobRunAt(schedule);
        if (scheduledTime > now) break;
        this.jobs.set(jobId, { ...schedule, lastFiredFor: scheduledTime });
        await this.save();
        await fireJob({ environmentId: schedule.environmentId, jobId, scheduledTime }).catch((error: unknown) =>
          logger.error('Local scheduled export job run failed', { jobId, scheduledTime, error: error as Error }),
        );
      }
    }
  }

  private async fireDueRawExports(now: number): Promise<void> {
    const fireRawExport = this.fireRawExport;
    if (!fireRawExport) return;
    for (const environmentId of [...this.rawExports.keys()]) {
      for (let schedule = this.rawExports.get(environmentId); schedule; schedule = this.rawExports.get(environmentId)) {
        const scheduledTime = nextRawRunAt(schedule.lastFiredFor ?? schedule.createdAt);
        if (scheduledTime > now) break;
        this.rawExports.set(environmentId, { ...schedule, lastFiredFor: scheduledTime });
        await this.save();
        await fireRawExport(environmentId, scheduledTime).catch((error: unknown) =>
          logger.error('Local raw revisions export failed', { environmentId, scheduledTime, error: error as Error }),
        );
      }
    }
  }

  private save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const writing = this.writes.then(() => writeSchedules(file, this.schedules, this.jobs, this.rawExports));
    this.writes = writing.catch(() => undefined);
    return writing;
  }
}

const nextDue = (schedule: LocalSchedule): number =>
  nextRunAt(schedule.cadence, schedule.lastFiredFor ?? schedule.createdAt);
/** `rate(N hours)` from its start: the start itself first, then every N hours. */
const nextJobRunAt = (schedule: LocalJobSchedule): number =>
  schedule.lastFiredFor === undefined ? schedule.startAt : schedule.lastFiredFor + schedule.everyHours * 3_600_000;

interface StoredSchedules {
  schedules: Map<string, LocalSchedule>;
  jobs: Map<string, LocalJobSchedule>;
  rawExports: Map<string, LocalRawExportSchedule>;
}

async function readSchedules(file: string): Promise<StoredSchedules> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { schedules: new Map(), jobs: new Map(), rawExports: new Map() };
    throw new ScheduleFileError(`Cannot read the local schedules file ${file}.`, { cause: error });
  }
  try {
    const parsed = JSON.parse(text) as ScheduleFile;
    if (parsed.version !== FILE_VERSION || typeof parsed.schedules !== 'object' || parsed.schedules === null) {
      throw new Error(`expected version ${FILE_VERSION} with a schedules object`);
    }
    for (const [environmentId, schedule] of Object.entries(parsed.schedules)) {
      if (!isLocalSchedule(schedule)) throw new Error(`invalid schedule of environment ${environmentId}`);
    }
    for (const [jobId, schedule] of Object.entries(parsed.jobs ?? {})) {
      if (!isLocalJobSchedule(schedule)) throw new Error(`invalid schedule of export job ${jobId}`);
    }
    for (const [environmentId, schedule] of Object.entries(parsed.rawExports ?? {})) {
      if (
        !Number.isFinite(schedule?.createdAt) ||
        (schedule.lastFiredFor !== undefined && !Number.isFinite(schedule.lastFiredFor))
      ) {
        throw new Error(`invalid raw export schedule of environment ${environmentId}`);
      }
    }
    return {
      schedules: new Map(Object.entries(parsed.schedules)),
      jobs: new Map(Object.entries(parsed.jobs ?? {})),
      rawExports: new Map(Object.entries(parsed.rawExports ?? {})),
    };
  } catch (error) {
    throw new ScheduleFileError(`The local schedules file ${file} is not valid.`, { cause: error });
  }
}

function isLocalSchedule(value: unknown): value is LocalSchedule {
  if (typeof value !== 'object' || value === null) return false;
  const { cadence, createdAt, lastFiredFor } = value as Partial<LocalSchedule>;
  return (
    (cadence === 'daily' || cadence === 'weekly') &&
    Number.isFinite(createdAt) &&
    (lastFiredFor === undefined || Number.isFinite(lastFiredFor))
  );
}

function isLocalJobSchedule(value: unknown): value is LocalJobSchedule {
  if (typeof value !== 'object' || value === null) return false;
  const { environmentId, everyHours, startAt, lastFiredFor } = value as Partial<LocalJobSchedule>;
  return (
    typeof environmentId === 'string' &&
    Number.isInteger(everyHours) &&
    Number.isFinite(startAt) &&
    (lastFiredFor === undefined || Number.isFinite(lastFiredFor))
  );
}

/** Written under a temporary name and renamed, so a crash mid-write never leaves a truncated file. */
async function writeSchedules(
  file: string,
  schedules: Map<string, LocalSchedule>,
  jobs: Map<string, LocalJobSchedule>,
  rawExports: Map<string, LocalRawExportSchedule>,
): Promise<void> {
  const content: ScheduleFile = {
    version: FILE_VERSION,
    schedules: Object.fromEntries(schedules),
    jobs: Object.fromEntries(jobs),
    rawExports: Object.fromEntries(rawExports),
  };
  const temporary = `${file}.${randomUUID()}.partial`;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(temporary, `${JSON.stringify(content, null, 2)}\n`);
  await rename(temporary, file);
}
