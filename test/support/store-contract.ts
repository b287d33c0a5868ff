/**
 * The contract of the config-table stores (lambdas/ports.ts), as one set of cases run against any
 * implementation: the in-memory fakes (test/unit/store-contract.test.ts), so the unit tests of the core
 * rest on fakes that behave like the real stores, and the DynamoDB adapters on dynalite
 * (test/integration/store-contract.test.ts), where the guarantees live in conditional writes.
 *
 * Races are real concurrency: `Promise.all` of parallel calls, each a request of its own on dynalite.
 * Every case works in an environment of its own, so implementations may share one table.
 *
 * To add a case: add a `test` to the describe block of its store below (or a new block for a new
 * store, with its member in `ConfigStores`); both runs pick it up.
 */
import { expect } from '@jest/globals';
import type {
  AutomaticExportSettings,
  AutomaticExportSettingsStore,
  ExportRun,
  ExportRunStore,
  FailingExportsStore,
  ManualExportJob,
  ManualExportStore,
  RunOutcome,
} from '../../lambdas/ports';

export interface ConfigStores {
  settings: AutomaticExportSettingsStore;
  runs: ExportRunStore;
  /** Reads and writes the status items `runs` writes, as the failing index of the same table. */
  failing: FailingExportsStore;
  manualJobs: ManualExportStore;
}

const PARALLEL_CALLS = 5;
const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-02T00:00:00Z');

let envCounter = 0;

/** Defines the contract's cases; `stores` is called once, before them. */
export function describeConfigStoreContract(stores: () => Promise<ConfigStores> | ConfigStores): void {
  let s: ConfigStores;
  let environmentId: string;

  beforeAll(async () => {
    s = await stores();
  });
  beforeEach(() => {
    environmentId = `env_contract_${process.pid}_${++envCounter}`;
  });

  const parallel = <T>(call: () => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: PARALLEL_CALLS }, call));
  const countTrue = (results: boolean[]) => results.filter(Boolean).length;

  describe('AutomaticExportSettingsStore', () => {
    const settings = (updatedAt: number): AutomaticExportSettings => ({
      environmentId,
      enabled: true,
      cadence: 'daily',
      destination: { provider: 'AWS', bucket: 'acme-exports', region: 'eu-west-1', keyPrefix: 'daily' },
      accessKeyId: 'AKIAEXAMPLE',
      sealedSecretAccessKey: 'sealed:secret',
      notifyEmails: ['ops@acme.test'],
      updatedAt,
    });

    test('returns what was saved; nothing for an environment without settings', async () => {
      expect(await s.settings.get(environmentId)).toBeUndefined();
      await s.settings.put(settings(T0));
      expect(await s.settings.get(environmentId)).toEqual(settings(T0));
    });

    test('stop switches off the settings it was given the version of', async () => {
      await s.settings.put(settings(T0));
      expect(await s.settings.stop(environmentId, T0, T0 + HOUR, 'failing for 72 hours')).toBe(true);
      expect(await s.settings.get(environmentId)).toEqual({
        ...settings(T0),
        enabled: false,
        stoppedAt: T0 + HOUR,
        stoppedReason: 'failing for 72 hours',
      });
    });

    test('stop is refused after a save changed the version, and changes nothing', async () => {
      await s.settings.put(settings(T0));
      await s.settings.put({ ...settings(T0 + 5), cadence: 'weekly' });
      expect(await s.settings.stop(environmentId, T0, T0 + HOUR, 'failing for 72 hours')).toBe(false);
      expect(await s.settings.get(environmentId)).toEqual({ ...settings(T0 + 5), cadence: 'weekly' });
    });

    test('stop is refused when there are no settings, and creates none', async () => {
      expect(await s.settings.stop(environmentId, T0, T0 + HOUR, 'failing')).toBe(false);
      expect(await s.settings.get(environmentId)).toBeUndefined();
    });
  });

  describe('ExportRunStore', () => {
    const run = (snapshotAt: number, startedAt: number): ExportRun => ({
      environmentId,
      snapshotAt,
      cadence: 'daily',
      status: 'running',
      startedAt,
      attempts: 1,
    });
    const success = (finishedAt: number): RunOutcome => ({
      status: 'successful',
      finishedAt,
      durationMs: 1000,
      rowCount: 10,
      byteCount: 100,
      objectKey: 'export.csv',
    });
    const failure = (finishedAt: number, error: string, transient = false): RunOutcome => ({
      status: 'failed',
      finishedAt,
      durationMs: 1000,
      error,
      errorCode: transient ? 'transient' : 'access_denied',
      transient,
    });
    const isListedFailing = async () => {
      for await (const record of s.failing.listFailing()) if (record.environmentId === environmentId) return true;
      return false;
    };

    test(`${PARALLEL_CALLS} parallel claims of one snapshot: exactly one wins`, async () => {
      const results = await parallel(() => s.runs.claim(run(T0, T0 + 1), T0 - HOUR));
      expect(countTrue(results)).toBe(1);
      expect(await s.runs.getRun(environmentId, T0)).toEqual(run(T0, T0 + 1));
    });

    test('a running claim is refused until it is abandoned, then taken over', async () => {
      expect(await s.runs.claim(run(T0, T0 + 1), T0 - HOUR)).toBe(true);
      // startedAt equal to staleBefore is not yet abandoned.
      expect(await s.runs.claim({ ...run(T0, T0 + 2), attempts: 2 }, T0 + 1)).toBe(false);
      expect(await s.runs.claim({ ...run(T0, T0 + 3), attempts: 2 }, T0 + 2)).toBe(true);
      expect(await s.runs.getRun(environmentId, T0)).toEqual({ ...run(T0, T0 + 3), attempts: 2 });
    });

    test('a failed run may be claimed again, a successful one not', async () => {
      await s.runs.claim(run(T0, T0 + 1), T0);
      await s.runs.finish(environmentId, T0, failure(T0 + 2, 'denied'));
      expect(await s.runs.claim({ ...run(T0, T0 + 3), attempts: 2 }, T0)).toBe(true);
      await s.runs.finish(environmentId, T0, success(T0 + 4));
      expect(await s.runs.claim({ ...run(T0, T0 + 5), attempts: 3 }, T0 + HOUR)).toBe(false);
      expect(await s.runs.getRun(environmentId, T0)).toMatchObject({ status: 'successful', startedAt: T0 + 3, attempts: 2 });
    });

    test('finish records the outcome on the run (without `transient`) and refuses an unknown run', async () => {
      await s.runs.claim(run(T0, T0 + 1), T0);
      await s.runs.finish(environmentId, T0, failure(T0 + 2, 'denied', true));
      const { transient: _transient, ...recorded } = failure(T0 + 2, 'denied', true) as RunOutcome & { transient: boolean };
      expect(await s.runs.getRun(environmentId, T0)).toEqual({ ...run(T0, T0 + 1), ...recorded });
      await expect(s.runs.finish(environmentId, T0 + 24 * HOUR, success(T0))).rejects.toThrow();
      expect(await s.runs.getRun(environmentId, T0 + 24 * HOUR)).toBeUndefined();
    });

    test('history lists the most recent snapshots first, up to the limit', async () => {
      for (const day of [2, 0, 1, 3]) await s.runs.claim(run(T0 + day * 24 * HOUR, T0 + day * 24 * HOUR), T0);
      const history = await s.runs.history(environmentId, 3);
      expect(history.map((r) => r.snapshotAt)).toEqual([3, 2, 1].map((day) => T0 + day * 24 * HOUR));
      expect(history[0]).toEqual(run(T0 + 3 * 24 * HOUR, T0 + 3 * 24 * HOUR));
    });

    test('history orders snapshots by time, also across a change in their number of digits', async () => {
      // 2001-09-09T01:46:40Z is the first instant with 13 digits in milliseconds.
      const snapshots = [999_999_999_999, 1_000_000_000_000, 1_000_000_086_400];
      for (const snapshotAt of snapshots) await s.runs.claim(run(snapshotAt, snapshotAt), 0);
      expect((await s.runs.history(environmentId, 5)).map((r) => r.snapshotAt)).toEqual([...snapshots].reverse());
    });

    test('a customer-side failure starts a sequence that later failures continue', async () => {
      expect(await s.runs.getStatus(environmentId)).toBeUndefined();
      await s.runs.recordOutcome(environmentId, T0, failure(T0 + 10, 'denied'));
      await s.runs.recordOutcome(environmentId, T0 + HOUR, failure(T0 + HOUR + 10, 'bucket gone'));
      expect(await s.runs.getStatus(environmentId)).toEqual({
        environmentId,
        lastRunAt: T0 + HOUR,
        lastStatus: 'failed',
        lastError: 'bucket gone',
        lastErrorCode: 'access_denied',
        failingSince: T0 + 10,
        failingError: 'bucket gone',
      });
      expect(await isListedFailing()).toBe(true);
    });

    test('a transient failure records its error but neither starts a sequence nor replaces its error', async () => {
      await s.runs.recordOutcome(environmentId, T0, failure(T0 + 10, 'throttled', true));
      expect(await s.runs.getStatus(environmentId)).toEqual({
        environmentId,
        lastRunAt: T0,
        lastStatus: 'failed',
        lastError: 'throttled',
        lastErrorCode: 'transient',
      });
      expect(await isListedFailing()).toBe(false);
      await s.runs.recordOutcome(environmentId, T0 + HOUR, failure(T0 + HOUR, 'denied'));
      await s.runs.recordOutcome(environmentId, T0 + 2 * HOUR, failure(T0 + 2 * HOUR, 'throttled', true));
      expect(await s.runs.getStatus(environmentId)).toMatchObject({ lastError: 'throttled', failingSince: T0 + HOUR, failingError: 'denied' });
      expect(await isListedFailing()).toBe(true);
    });

    test('a success ends the sequence and clears the errors', async () => {
      await s.runs.recordOutcome(environmentId, T0, failure(T0 + 10, 'denied'));
      await s.failing.claimEmail(environmentId, T0 + 10, 1);
      await s.runs.recordOutcome(environmentId, T0 + HOUR, success(T0 + HOUR + 10));
      expect(await s.runs.getStatus(environmentId)).toEqual({ environmentId, lastRunAt: T0 + HOUR, lastStatus: 'successful' });
      expect(await isListedFailing()).toBe(false);
    });

    test('an older outcome does not overwrite a newer one; a retry of the same run does', async () => {
      await s.runs.recordOutcome(environmentId, T0 + HOUR, success(T0 + HOUR + 10));
      await s.runs.recordOutcome(environmentId, T0, failure(T0 + 2 * HOUR, 'denied'));
      expect(await s.runs.getStatus(environmentId)).toEqual({ environmentId, lastRunAt: T0 + HOUR, lastStatus: 'successful' });
      expect(await isListedFailing()).toBe(false);
      await s.runs.recordOutcome(environmentId, T0 + HOUR, failure(T0 + 2 * HOUR, 'denied'));
      expect(await s.runs.getStatus(environmentId)).toMatchObject({ lastRunAt: T0 + HOUR, lastStatus: 'failed', failingSince: T0 + 2 * HOUR });
    });

    test('outcomes recorded in parallel leave the newest run', async () => {
      const starts = [3, 0, 4, 1, 2].map((i) => T0 + i * HOUR);
      await Promise.all(starts.map((startedAt, i) => s.runs.recordOutcome(environmentId, startedAt, failure(startedAt + 1, `error ${i}`))));
      expect(await s.runs.getStatus(environmentId)).toMatchObject({ lastRunAt: T0 + 4 * HOUR, lastError: 'error 2' });
    });

    test('clearFailure ends the sequence and keeps the last run', async () => {
      await s.runs.recordOutcome(environmentId, T0, failure(T0 + 10, 'denied'));
      await s.failing.claimEmail(environmentId, T0 + 10, 1);
      await s.runs.clearFailure(environmentId);
      expect(await s.runs.getStatus(environmentId)).toEqual({
        environmentId,
        lastRunAt: T0,
        lastStatus: 'failed',
        lastError: 'denied',
        lastErrorCode: 'access_denied',
      });
      expect(await isListedFailing()).toBe(false);
      expect(await s.failing.claimEmail(environmentId, T0 + 10, 2)).toBe(false);
    });
  });

  describe('FailingExportsStore', () => {
    const FAILING_SINCE = T0 + 10;
    const startSequence = () =>
      s.runs.recordOutcome(environmentId, T0, {
        status: 'failed',
        finishedAt: FAILING_SINCE,
        durationMs: 10,
        error: 'denied',
        errorCode: 'access_denied',
        transient: false,
      });
    const listed = async () => {
      const found = [];
      for await (const record of s.failing.listFailing()) if (record.environmentId === environmentId) found.push(record);
      return found;
    };

    test('lists an export in a failure sequence with its status', async () => {
      await startSequence();
      await s.failing.claimEmail(environmentId, FAILING_SINCE, 1);
      expect(await listed()).toEqual([
        {
          environmentId,
          lastRunAt: T0,
          lastStatus: 'failed',
          lastError: 'denied',
          lastErrorCode: 'access_denied',
          failingSince: FAILING_SINCE,
          failingError: 'denied',
          emailsSent: [1],
        },
      ]);
    });

    test(`${PARALLEL_CALLS} parallel claims of an unclaimed email: exactly one wins`, async () => {
      await startSequence();
      // Email 2 before 1 (a missed first warning): the status lists them in order all the same.
      expect(countTrue(await parallel(() => s.failing.claimEmail(environmentId, FAILING_SINCE, 2)))).toBe(1);
      expect(countTrue(await parallel(() => s.failing.claimEmail(environmentId, FAILING_SINCE, 1)))).toBe(1);
      expect(await s.failing.claimEmail(environmentId, FAILING_SINCE, 1)).toBe(false);
      expect((await s.runs.getStatus(environmentId))?.emailsSent).toEqual([1, 2]);
    });

    test('an email of another sequence, or of no sequence, cannot be claimed', async () => {
      expect(await s.failing.claimEmail(environmentId, FAILING_SINCE, 1)).toBe(false);
      await startSequence();
      expect(await s.failing.claimEmail(environmentId, FAILING_SINCE - 1, 1)).toBe(false);
      expect(await s.failing.claimEmail(environmentId, FAILING_SINCE + 1, 1)).toBe(false);
      expect((await s.runs.getStatus(environmentId))?.emailsSent).toBeUndefined();
    });

    test('a released email can be claimed again; a release for an old sequence changes nothing', async () => {
      await startSequence();
      await s.failing.claimEmail(environmentId, FAILING_SINCE, 1);
      await s.failing.claimEmail(environmentId, FAILING_SINCE, 2);
      await s.failing.releaseEmail(environmentId, FAILING_SINCE - 1, 1);
      expect((await s.runs.getStatus(environmentId))?.emailsSent).toEqual([1, 2]);
      await s.failing.releaseEmail(environmentId, FAILING_SINCE, 2);
      expect((await s.runs.getStatus(environmentId))?.emailsSent).toEqual([1]);
      expect(await s.failing.claimEmail(environmentId, FAILING_SINCE, 2)).toBe(true);
    });

    test('endSequence takes the export out of the index and keeps its status; no email is claimed after', async () => {
      await startSequence();
      await s.failing.endSequence(environmentId, FAILING_SINCE);
      expect(await listed()).toEqual([]);
      expect(await s.runs.getStatus(environmentId)).toMatchObject({ lastError: 'denied', failingSince: FAILING_SINCE });
      expect(await s.failing.claimEmail(environmentId, FAILING_SINCE, 3)).toBe(false);
    });

    test('endSequence for an old failingSince is a no-op', async () => {
      await startSequence();
      await s.failing.endSequence(environmentId, FAILING_SINCE - 1);
      expect(await listed()).toHaveLength(1);
      expect(await s.failing.claimEmail(environmentId, FAILING_SINCE, 1)).toBe(true);
    });
  });

  describe('ManualExportStore', () => {
    const job = (id = 'exp_1'): ManualExportJob => ({ id, environmentId, aggregation: '30d-daily', status: 'pending', requestedAt: T0 });

    test('creates a job once and reads it back; refuses a duplicate id', async () => {
      await s.manualJobs.create(job());
      await expect(s.manualJobs.create({ ...job(), aggregation: 'snapshot' })).rejects.toThrow();
      expect(await s.manualJobs.get(environmentId, 'exp_1')).toEqual(job());
      expect(await s.manualJobs.get(environmentId, 'exp_unknown')).toBeUndefined();
    });

    test(`${PARALLEL_CALLS} parallel claims of a pending job (a job delivered ${PARALLEL_CALLS} times): exactly one wins`, async () => {
      await s.manualJobs.create(job());
      expect(countTrue(await parallel(() => s.manualJobs.claim(environmentId, 'exp_1', T0 + 5, T0 - HOUR)))).toBe(1);
      expect(await s.manualJobs.get(environmentId, 'exp_1')).toEqual({ ...job(), status: 'running', startedAt: T0 + 5 });
    });

    test('a running job is refused until abandoned, then taken over', async () => {
      await s.manualJobs.create(job());
      await s.manualJobs.claim(environmentId, 'exp_1', T0 + 5, T0);
      // startedAt equal to staleBefore is not yet abandoned.
      expect(await s.manualJobs.claim(environmentId, 'exp_1', T0 + HOUR, T0 + 5)).toBe(false);
      expect(await s.manualJobs.claim(environmentId, 'exp_1', T0 + HOUR, T0 + 6)).toBe(true);
      expect(await s.manualJobs.get(environmentId, 'exp_1')).toMatchObject({ status: 'running', startedAt: T0 + HOUR });
    });

    test('a finished job, done or failed, is never claimed again; an unknown one never', async () => {
      await s.manualJobs.create(job('exp_done'));
      await s.manualJobs.create(job('exp_failed'));
      await s.manualJobs.claim(environmentId, 'exp_done', T0 + 1, T0);
      await s.manualJobs.claim(environmentId, 'exp_failed', T0 + 1, T0);
      const done = { status: 'done', finishedAt: T0 + 2, rowCount: 3, byteCount: 40, objectKey: 'manual/x.csv', fileName: 'x.csv' } as const;
      await s.manualJobs.finish(environmentId, 'exp_done', done);
      await s.manualJobs.finish(environmentId, 'exp_failed', { status: 'failed', finishedAt: T0 + 2, error: 'it broke' });
      const muchLater = T0 + 1000 * HOUR;
      expect(await s.manualJobs.claim(environmentId, 'exp_done', muchLater, muchLater)).toBe(false);
      expect(await s.manualJobs.claim(environmentId, 'exp_failed', muchLater, muchLater)).toBe(false);
      expect(await s.manualJobs.claim(environmentId, 'exp_unknown', muchLater, muchLater)).toBe(false);
      expect(await s.manualJobs.get(environmentId, 'exp_unknown')).toBeUndefined();
      expect(await s.manualJobs.get(environmentId, 'exp_done')).toEqual({ ...job('exp_done'), startedAt: T0 + 1, ...done });
      expect(await s.manualJobs.get(environmentId, 'exp_failed')).toEqual({
        ...job('exp_failed'),
        startedAt: T0 + 1,
        status: 'failed',
        finishedAt: T0 + 2,
        error: 'it broke',
      });
    });

    test('finish refuses an unknown job and creates nothing', async () => {
      await expect(s.manualJobs.finish(environmentId, 'exp_unknown', { status: 'failed', finishedAt: T0, error: 'x' })).rejects.toThrow();
      expect(await s.manualJobs.get(environmentId, 'exp_unknown')).toBeUndefined();
    });
  });
}
