import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { logger } from '../../lambdas/core/log';
import {
  LocalExportScheduler,
  LocalSchedulerNotStartedError,
  ScheduleFileError,
  type ScheduledExportFirer,
} from '../../lambdas/local/local-scheduler';

const ENV_A = 'env_0123456789abcdef0123';
const ENV_B = 'env_fedcba9876543210fedc';
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

/** Wednesday 3 January 2024, 10:00 UTC (1 January 2024 was a Monday). */
const WEDNESDAY = at('2024-01-03T10:00:00Z');

let now: number;
const clock = { now: () => now };
let fired: Array<[string, string]>;
const recordFiring: ScheduledExportFirer = async (environmentId, scheduledTime) => {
  fired.push([environmentId, iso(scheduledTime)]);
};
const schedulers: LocalExportScheduler[] = [];
let directory: string;

/** A started scheduler whose firings are recorded in `fired`; the start's own tick has run. */
async function started(options: { file?: string; fire?: ScheduledExportFirer } = {}): Promise<LocalExportScheduler> {
  const scheduler = await LocalExportScheduler.open({ clock, file: options.file });
  schedulers.push(scheduler);
  scheduler.start(options.fire ?? recordFiring, { intervalMs: 3_600_000 });
  await scheduler.tick(now);
  return scheduler;
}

/** Ticks at each instant, in order, as the timer would. */
async function tickAt(scheduler: LocalExportScheduler, ...instants: string[]): Promise<void> {
  for (const instant of instants) {
    now = at(instant);
    await scheduler.tick(now);
  }
}

beforeEach(async () => {
  now = WEDNESDAY;
  fired = [];
  directory = await mkdtemp(join(tmpdir(), 'local-scheduler-'));
});

afterEach(async () => {
  for (const scheduler of schedulers.splice(0)) scheduler.stop();
  await rm(directory, { recursive: true, force: true });
  jest.restoreAllMocks();
});

describe('LocalExportScheduler', () => {
  it('fires a daily schedule once per day, at 00:00 UTC exactly', async () => {
    const scheduler = await started();
    await scheduler.upsert(ENV_A, 'daily');

    await tickAt(scheduler, '2024-01-03T23:59:59.999Z');
    expect(fired).toEqual([]);

    await tickAt(
      scheduler,
      '2024-01-04T00:00:00Z',
      '2024-01-04T00:00:30Z',
      '2024-01-04T18:00:00Z',
      '2024-01-05T00:00:30Z',
    );
    expect(fired).toEqual([
      [ENV_A, '2024-01-04T00:00:00.000Z'],
      [ENV_A, '2024-01-05T00:00:00.000Z'],
    ]);
  });

  it('fires a weekly schedule only on Mondays at 00:00 UTC', async () => {
    const scheduler = await started();
    await scheduler.upsert(ENV_A, 'weekly');

    for (let day = 4; day <= 22; day += 1) await tickAt(scheduler, `2024-01-${String(day).padStart(2, '0')}T00:00:30Z`);

    expect(fired).toEqual([
      [ENV_A, '2024-01-08T00:00:00.000Z'],
      [ENV_A, '2024-01-15T00:00:00.000Z'],
      [ENV_A, '2024-01-22T00:00:00.000Z'],
    ]);
  });

  it('fires nothing before the first instant after the schedule was created', async () => {
    now = at('2024-01-08T00:00:00Z'); // a Monday midnight: created at it, so it is not after
    const scheduler = await started();
    await scheduler.upsert(ENV_A, 'weekly');

    await tickAt(scheduler, '2024-01-08T00:00:00Z', '2024-01-14T23:59:59Z');

    expect(fired).toEqual([]);
    expect(iso(scheduler.nextFireAt(ENV_A) as number)).toBe('2024-01-15T00:00:00.000Z');
  });

  it('fires each instant missed while asleep once, in order', async () => {
    const scheduler = await started();
    await scheduler.upsert(ENV_A, 'daily');
    await tickAt(scheduler, '2024-01-03T12:00:00Z');

    await tickAt(scheduler, '2024-01-06T09:00:00Z');
    await tickAt(scheduler, '2024-01-06T09:00:30Z');

    expect(fired).toEqual([
      [ENV_A, '2024-01-04T00:00:00.000Z'],
      [ENV_A, '2024-01-05T00:00:00.000Z'],
      [ENV_A, '2024-01-06T00:00:00.000Z'],
    ]);
  });

  it('fires every schedule, each for itself', async () => {
    const scheduler = await started();
    await scheduler.upsert(ENV_A, 'daily');
    await scheduler.upsert(ENV_B, 'weekly');

    await tickAt(scheduler, '2024-01-08T06:00:00Z');

    expect(fired.filter(([environmentId]) => environmentId === ENV_B)).toEqual([[ENV_B, '2024-01-08T00:00:00.000Z']]);
    expect(fired.filter(([environmentId]) => environmentId === ENV_A).map(([, time]) => time)).toEqual([
      '2024-01-04T00:00:00.000Z',
      '2024-01-05T00:00:00.000Z',
      '2024-01-06T00:00:00.000Z',
      '2024-01-07T00:00:00.000Z',
      '2024-01-08T00:00:00.000Z',
    ]);
  });

  it('follows a change of cadence from the moment of the change', async () => {
    const scheduler = await started();
    await scheduler.upsert(ENV_A, 'daily');
    await tickAt(scheduler, '2024-01-04T00:00:30Z');

    now = at('2024-01-04T12:00:00Z');
    await scheduler.upsert(ENV_A, 'weekly');
    await tickAt(
      scheduler,
      '2024-01-05T00:00:30Z',
      '2024-01-06T00:00:30Z',
      '2024-01-07T00:00:30Z',
      '2024-01-08T00:00:30Z',
    );

    // Back to daily on Wednesday: no catch-up of the days since Monday's run.
    now = at('2024-01-10T12:00:00Z');
    await scheduler.upsert(ENV_A, 'daily');
    await tickAt(scheduler, '2024-01-10T12:00:30Z', '2024-01-11T00:00:30Z');

    expect(fired.map(([, time]) => time)).toEqual([
      '2024-01-04T00:00:00.000Z',
      '2024-01-08T00:00:00.000Z',
      '2024-01-11T00:00:00.000Z',
    ]);
  });

  it('keeps the schedule as it is when saved again with the same cadence', async () => {
    const scheduler = await started();
    await scheduler.upsert(ENV_A, 'daily');
    await tickAt(scheduler, '2024-01-04T00:00:30Z');

    now = at('2024-01-04T12:00:00Z');
    await scheduler.upsert(ENV_A, 'daily');
    await tickAt(scheduler, '2024-01-04T12:00:30Z', '2024-01-05T00:00:30Z');

    expect(fired.map(([, time]) => time)).toEqual(['2024-01-04T00:00:00.000Z', '2024-01-05T00:00:00.000Z']);
  });

  it('stops firing a removed schedule, and removing twice is fine', async () => {
    const scheduler = await started();
    await scheduler.upsert(ENV_A, 'daily');
    await tickAt(scheduler, '2024-01-04T00:00:30Z');

    await scheduler.remove(ENV_A);
    await scheduler.remove(ENV_A);
    await tickAt(scheduler, '2024-01-05T00:00:30Z', '2024-01-09T00:00:30Z');

    expect(fired).toEqual([[ENV_A, '2024-01-04T00:00:00.000Z']]);
    expect(scheduler.nextFireAt(ENV_A)).toBeUndefined();
  });

  it('stops catching up when a firing removes the schedule', async () => {
    const scheduler: LocalExportScheduler = await started({
      fire: async (environmentId, scheduledTime) => {
        fired.push([environmentId, iso(scheduledTime)]);
        await scheduler.remove(environmentId);
      },
    });
    await scheduler.upsert(ENV_A, 'daily');

    await tickAt(scheduler, '2024-01-08T00:00:30Z');

    expect(fired).toEqual([[ENV_A, '2024-01-04T00:00:00.000Z']]);
  });

  it('logs a failed firing, does not refire it, and goes on with the next instants', async () => {
    const logged = jest.spyOn(logger, 'error');
    const scheduler = await started({
      fire: async (environmentId, scheduledTime) => {
        fired.push([environmentId, iso(scheduledTime)]);
        if (fired.length === 1) throw new Error('export failed');
      },
    });
    await scheduler.upsert(ENV_A, 'daily');

    await expect(tickAt(scheduler, '2024-01-05T00:00:30Z', '2024-01-05T00:01:00Z')).resolves.toBeUndefined();

    expect(fired.map(([, time]) => time)).toEqual(['2024-01-04T00:00:00.000Z', '2024-01-05T00:00:00.000Z']);
    expect(logged).toHaveBeenCalledWith(
      'Local scheduled export failed',
      expect.objectContaining({ environmentId: ENV_A, scheduledTime: at('2024-01-04T00:00:00Z') }),
    );
  });

  it('answers the next instant each schedule fires at', async () => {
    const scheduler = await started();
    await scheduler.upsert(ENV_A, 'daily');
    await scheduler.upsert(ENV_B, 'weekly');

    expect(iso(scheduler.nextFireAt(ENV_A) as number)).toBe('2024-01-04T00:00:00.000Z');
    expect(iso(scheduler.nextFireAt(ENV_B) as number)).toBe('2024-01-08T00:00:00.000Z');
    await tickAt(scheduler, '2024-01-04T00:00:30Z');
    expect(iso(scheduler.nextFireAt(ENV_A) as number)).toBe('2024-01-05T00:00:00.000Z');
  });

  it('refuses to tick before it is started', async () => {
    const scheduler = await LocalExportScheduler.open({ clock });

    await expect(scheduler.tick(now)).rejects.toBeInstanceOf(LocalSchedulerNotStartedError);
  });

  it('ticks on its timer with the clock, from the start', async () => {
    const scheduler = await LocalExportScheduler.open({ clock });
    schedulers.push(scheduler);
    await scheduler.upsert(ENV_A, 'daily');
    now = at('2024-01-04T00:00:30Z');
    const firings: number[] = [];
    let firedTwice: () => void = () => undefined;
    const twoFirings = new Promise<void>((resolve) => (firedTwice = resolve));
    scheduler.start(
      async (_environmentId, scheduledTime) => {
        firings.push(scheduledTime);
        // The start's own tick fired Thursday; the timer's next one fires Friday once the clock gets there.
        if (firings.length === 1) now = at('2024-01-05T00:00:30Z');
        if (firings.length === 2) firedTwice();
      },
      { intervalMs: 5 },
    );
    await twoFirings;
    scheduler.stop();

    expect(firings.map(iso)).toEqual(['2024-01-04T00:00:00.000Z', '2024-01-05T00:00:00.000Z']);
  });

  describe('with a file', () => {
    const fileIn = (): string => join(directory, 'state', 'schedules.json');

    it('keeps schedules and what they fired across a restart', async () => {
      const file = fileIn();
      const first = await started({ file });
      await first.upsert(ENV_A, 'daily');
      await first.upsert(ENV_B, 'weekly');
      await tickAt(first, '2024-01-04T00:00:30Z');
      first.stop();

      const second = await started({ file });
      expect(iso(second.nextFireAt(ENV_A) as number)).toBe('2024-01-05T00:00:00.000Z');
      expect(iso(second.nextFireAt(ENV_B) as number)).toBe('2024-01-08T00:00:00.000Z');

      // Down from Thursday to Tuesday: the missed instants fire once after the restart.
      await tickAt(second, '2024-01-04T00:01:00Z', '2024-01-09T08:00:00Z');
      expect(fired).toEqual([
        [ENV_A, '2024-01-04T00:00:00.000Z'],
        [ENV_A, '2024-01-05T00:00:00.000Z'],
        [ENV_A, '2024-01-06T00:00:00.000Z'],
        [ENV_A, '2024-01-07T00:00:00.000Z'],
        [ENV_A, '2024-01-08T00:00:00.000Z'],
        [ENV_A, '2024-01-09T00:00:00.000Z'],
        [ENV_B, '2024-01-08T00:00:00.000Z'],
      ]);
      expect(await readdir(dirname(file))).toEqual(['schedules.json']);
    });

    it('records an instant as fired before firing it, so a crash during the run does not refire it', async () => {
      const file = fileIn();
      const savedWhenFiring: unknown[] = [];
      const scheduler = await started({
        file,
        fire: async (environmentId) => {
          savedWhenFiring.push(JSON.parse(await readFile(file, 'utf8')).schedules[environmentId]);
        },
      });
      await scheduler.upsert(ENV_A, 'daily');

      await tickAt(scheduler, '2024-01-04T00:00:30Z');

      expect(savedWhenFiring).toEqual([
        { cadence: 'daily', createdAt: WEDNESDAY, lastFiredFor: at('2024-01-04T00:00:00Z') },
      ]);
    });

    it('forgets a removed schedule across a restart', async () => {
      const file = fileIn();
      const first = await started({ file });
      await first.upsert(ENV_A, 'daily');
      await first.remove(ENV_A);

      const second = await started({ file });
      await tickAt(second, '2024-01-06T00:00:30Z');

      expect(second.nextFireAt(ENV_A)).toBeUndefined();
      expect(fired).toEqual([]);
    });

    it('starts empty when the file does not exist yet', async () => {
      const scheduler = await started({ file: fileIn() });

      expect(scheduler.nextFireAt(ENV_A)).toBeUndefined();
    });

    it.each([
      ['that is not JSON', '{'],
      ['of another version', JSON.stringify({ version: 2, schedules: {} })],
      [
        'holding an invalid schedule',
        JSON.stringify({ version: 1, schedules: { [ENV_A]: { cadence: 'hourly', createdAt: 0 } } }),
      ],
    ])('refuses a schedules file %s', async (_case, content) => {
      const file = join(directory, 'schedules.json');
      await writeFile(file, content);

      await expect(LocalExportScheduler.open({ clock, file })).rejects.toBeInstanceOf(ScheduleFileError);
    });
  });
});

describe('LocalExportScheduler: export jobs', () => {
  it('fires a job every N hours from its start, each instant once, and keeps the schedule across a restart', async () => {
    const file = join(directory, 'schedules.json');
    const jobRuns: Array<[string, string, string]> = [];
    const fireJob = async ({
      environmentId,
      jobId,
      scheduledTime,
    }: {
      environmentId: string;
      jobId: string;
      scheduledTime: number;
    }) => {
      jobRuns.push([environmentId, jobId, iso(scheduledTime)]);
    };
    const first = await LocalExportScheduler.open({ clock, file });
    schedulers.push(first);
    first.start(recordFiring, { intervalMs: 3_600_000, fireJob });
    await first.upsertJob(ENV_A, 'job_a', 6, at('2024-01-03T12:00:00Z'));
    expect(first.jobSchedule('job_a')).toEqual({
      environmentId: ENV_A,
      everyHours: 6,
      startAt: at('2024-01-03T12:00:00Z'),
    });
    await tickAt(first, '2024-01-03T11:59:59Z', '2024-01-03T12:00:00Z', '2024-01-03T19:00:00Z');
    expect(jobRuns).toEqual([
      [ENV_A, 'job_a', '2024-01-03T12:00:00.000Z'],
      [ENV_A, 'job_a', '2024-01-03T18:00:00.000Z'],
    ]);
    first.stop();

    const second = await LocalExportScheduler.open({ clock, file });
    schedulers.push(second);
    second.start(recordFiring, { intervalMs: 3_600_000, fireJob });
    await tickAt(second, '2024-01-04T01:00:00Z');
    expect(jobRuns.slice(2)).toEqual([[ENV_A, 'job_a', '2024-01-04T00:00:00.000Z']]);
    await second.removeJob(ENV_A, 'job_a');
    await tickAt(second, '2024-01-05T01:00:00Z');
    expect(jobRuns).toHaveLength(3);
    expect(second.jobSchedule('job_a')).toBeUndefined();
    expect(fired).toEqual([]);
  });

  it('a replaced job schedule (new everyHours) fires from its next instant, not the instants passed', async () => {
    const jobRuns: string[] = [];
    const scheduler = await LocalExportScheduler.open({ clock });
    schedulers.push(scheduler);
    scheduler.start(recordFiring, {
      intervalMs: 3_600_000,
      fireJob: async ({ scheduledTime }) => void jobRuns.push(iso(scheduledTime)),
    });
    await scheduler.upsertJob(ENV_A, 'job_a', 24, at('2024-01-03T00:00:00Z'));
    await tickAt(scheduler, '2024-01-04T01:00:00Z');
    now = at('2024-01-04T05:00:00Z');
    await scheduler.upsertJob(ENV_A, 'job_a', 4, at('2024-01-03T00:00:00Z'));
    await tickAt(scheduler, '2024-01-04T13:00:00Z');
    expect(jobRuns).toEqual([
      '2024-01-03T00:00:00.000Z',
      '2024-01-04T00:00:00.000Z',
      '2024-01-04T08:00:00.000Z',
      '2024-01-04T12:00:00.000Z',
    ]);
  });
});

describe('LocalExportScheduler: raw revisions export schedules', () => {
  it('fires at 00:00 and 12:00 UTC, keeps its instants across a restart, and stops once removed', async () => {
    const file = join(directory, 'schedules.json');
    const rawFired: Array<[string, string]> = [];
    const open = async () => {
      const scheduler = await LocalExportScheduler.open({ clock, file });
      schedulers.push(scheduler);
      scheduler.start(recordFiring, {
        intervalMs: 3_600_000,
        fireRawExport: async (environmentId, scheduledTime) => void rawFired.push([environmentId, iso(scheduledTime)]),
      });
      return scheduler;
    };
    const scheduler = await open();
    await scheduler.upsertRawExport(ENV_A);
    await scheduler.upsertRawExport(ENV_A);
    expect(scheduler.hasRawExportSchedule(ENV_A)).toBe(true);
    await tickAt(scheduler, '2024-01-03T11:59:59Z', '2024-01-03T12:00:00Z', '2024-01-04T01:00:00Z');
    scheduler.stop();
    const reopened = await open();
    await tickAt(reopened, '2024-01-04T12:00:00Z');
    await reopened.removeRawExport(ENV_A);
    await reopened.removeRawExport(ENV_A);
    await tickAt(reopened, '2024-01-05T12:00:00Z');
    expect(rawFired).toEqual([
      [ENV_A, '2024-01-03T12:00:00.000Z'],
      [ENV_A, '2024-01-04T00:00:00.000Z'],
      [ENV_A, '2024-01-04T12:00:00.000Z'],
    ]);
    expect(fired).toEqual([]);
  });
});
