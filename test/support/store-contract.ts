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
import type { FailureClass } from '../../lambdas/core/errors';
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

  const parallel = <T>(call: () => Promise<T>): Promise<T[]> =>
    Promise.all(Array.from({ length: PARALLEL_CALLS }, call));
  const countTrue = (results: boolean[]) => results.filter(Boolean).length;

  describe('AutomaticExportSettingsStore', () => {
    const settings = (updatedAt: number, version = 1): AutomaticExportSettings => ({
      environmentId,
      enabled: true,
      cadence: 'daily',
      destination: { provider: 'AWS', bucket: 'acme-exports', region: 'eu-west-1', keyPrefix: 'daily' },
      accessKeyId: 'AKIAEXAMPLE',
      sealedSecretAccessKey: 'sealed:secret',
      notifyEmails: ['ops@acme.test'],
      updatedAt,
      version,
    });
    const isUnreconciled = async () => {
      for await (const id of s.settings.listUnreconciled()) if (id === environmentId) return true;
      return false;
    };

    test('returns what was saved; nothing for an environment without settings', async () => {
      expect(await s.settings.get(environmentId)).toBeUndefined();
      expect(await s.settings.put(settings(T0), 0)).toBe(true);
      expect(await s.settings.get(environmentId)).toEqual(settings(T0));
    });

    test('saves settings whose optional fields are undefined, at the top or inside the destination', async () => {
      // Typed optional fields may hold undefined: a save without a bucket URL builds `bucketUrl: undefined`,
      // and an AWS destination has no endpoint.
      const destination = { provider: 'AWS' as const, bucket: 'acme-exports', region: 'eu-west-1', keyPrefix: '' };
      const saved: AutomaticExportSettings = {
        ...settings(T0),
        destination: { ...destination, endpoint: undefined },
        bucketUrl: undefined,
        sealedSecretAccessKey: undefined,
      };
      expect(await s.settings.put(saved, 0)).toBe(true);
      expect(await s.settings.get(environmentId)).toEqual({
        ...settings(T0),
        destination,
        sealedSecretAccessKey: undefined,
      });
    });

    test('a save based on a stale version is refused and changes nothing', async () => {
      await s.settings.put(settings(T0), 0);
      expect(await s.settings.put({ ...settings(T0 + 5, 2), cadence: 'weekly' }, 1)).toBe(true);
      expect(await s.settings.put(settings(T0 + 6, 2), 1)).toBe(false);
      expect(await s.settings.put(settings(T0 + 6, 1), 0)).toBe(false);
      expect(await s.settings.get(environmentId)).toEqual({ ...settings(T0 + 5, 2), cadence: 'weekly' });
    });

    test(`${PARALLEL_CALLS} parallel saves based on the same version: exactly one is kept`, async () => {
      await s.settings.put(settings(T0), 0);
      const results = await Promise.all(
        Array.from({ length: PARALLEL_CALLS }, (_, i) =>
          s.settings.put({ ...settings(T0 + i, 2), notifyEmails: [`ops${i}@acme.test`] }, 1),
        ),
      );
      expect(countTrue(results)).toBe(1);
      const winner = results.indexOf(true);
      expect(await s.settings.get(environmentId)).toEqual({
        ...settings(T0 + winner, 2),
        notifyEmails: [`ops${winner}@acme.test`],
      });
    });

    test('stop switches off the settings it was given the version of, and raises the version', async () => {
      await s.settings.put(settings(T0), 0);
      expect(await s.settings.stop(environmentId, 1, T0 + HOUR, 'failing for 72 hours')).toBe(true);
      expect(await s.settings.get(environmentId)).toEqual({
        ...settings(T0, 2),
        enabled: false,
        stoppedAt: T0 + HOUR,
        stoppedReason: 'failing for 72 hours',
      });
      // The customer's save based on the version before the stop is refused.
      expect(await s.settings.put(settings(T0 + 2 * HOUR, 2), 1)).toBe(false);
    });

    test('stop with a stale version (a save came first) is refused, and changes nothing', async () => {
      await s.settings.put(settings(T0), 0);
      await s.settings.put({ ...settings(T0 + 5, 2), cadence: 'weekly' }, 1);
      expect(await s.settings.stop(environmentId, 1, T0 + HOUR, 'failing for 72 hours')).toBe(false);
      expect(await s.settings.get(environmentId)).toEqual({ ...settings(T0 + 5, 2), cadence: 'weekly' });
    });

    test('stop is refused when there are no settings, and creates none', async () => {
      expect(await s.settings.stop(environmentId, 0, T0 + HOUR, 'failing')).toBe(false);
      expect(await s.settings.get(environmentId)).toBeUndefined();
    });

    test('saves and stops mark the schedule unreconciled; the mark goes only for the version reconciled', async () => {
      expect(await isUnreconciled()).toBe(false);
      await s.settings.put(settings(T0), 0);
      expect(await isUnreconciled()).toBe(true);
      await s.settings.put(settings(T0 + 1, 2), 1);
      await s.settings.markReconciled(environmentId, 1); // reconciled from the settings before the last save
      expect(await isUnreconciled()).toBe(true);
      await s.settings.markReconciled(environmentId, 2);
      expect(await isUnreconciled()).toBe(false);
      await s.settings.stop(environmentId, 2, T0 + HOUR, 'failing');
      expect(await isUnreconciled()).toBe(true);
    });
  });

  describe('ExportRunStore', () => {
    const RUN_TIME_LIMIT = 15 * 60_000;
    const run = (snapshotAt: number, startedAt: number, claimId = 'claim_1'): ExportRun => ({
      environmentId,
      snapshotAt,
      cadence: 'daily',
      status: 'running',
      startedAt,
      deadlineAt: startedAt + RUN_TIME_LIMIT,
      claimId,
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
    const failure = (finishedAt: number, error: string, failureClass: FailureClass = 'customer'): RunOutcome => ({
      status: 'failed',
      finishedAt,
      durationMs: 1000,
      error,
      errorCode: { customer: 'access_denied', transient: 'transient', internal: 'internal' }[failureClass],
      failureClass,
    });
    const isListedFailing = async () => {
      for await (const record of s.failing.listFailing()) if (record.environmentId === environmentId) return true;
      return false;
    };
    const isListedTransient = async (before: number) => {
      for await (const record of s.failing.listFailingTransientlySince(before))
        if (record.environmentId === environmentId) return true;
      return false;
    };

    test(`${PARALLEL_CALLS} parallel claims of one snapshot: exactly one wins`, async () => {
      const claims = Array.from({ length: PARALLEL_CALLS }, (_, i) => run(T0, T0 + 1, `claim_${i}`));
      const results = await Promise.all(claims.map((claim) => s.runs.claim(claim)));
      expect(countTrue(results)).toBe(1);
      expect(await s.runs.getRun(environmentId, T0)).toEqual(claims[results.indexOf(true)]);
    });

    test('a live claim is not taken before its deadline; one past it (its invocation was lost) is', async () => {
      expect(await s.runs.claim(run(T0, T0 + 1))).toBe(true);
      const deadline = T0 + 1 + RUN_TIME_LIMIT;
      // At the deadline itself the claim still holds.
      expect(await s.runs.claim({ ...run(T0, deadline, 'claim_2'), attempts: 2 })).toBe(false);
      expect(await s.runs.getRun(environmentId, T0)).toEqual(run(T0, T0 + 1));
      expect(await s.runs.claim({ ...run(T0, deadline + 1, 'claim_3'), attempts: 2 })).toBe(true);
      expect(await s.runs.getRun(environmentId, T0)).toEqual({ ...run(T0, deadline + 1, 'claim_3'), attempts: 2 });
    });

    test('a failed run may be claimed again, a successful one not', async () => {
      await s.runs.claim(run(T0, T0 + 1));
      await s.runs.finish(environmentId, T0, 'claim_1', failure(T0 + 2, 'denied'));
      expect(await s.runs.claim({ ...run(T0, T0 + 3, 'claim_2'), attempts: 2 })).toBe(true);
      await s.runs.finish(environmentId, T0, 'claim_2', success(T0 + 4));
      expect(await s.runs.claim({ ...run(T0, T0 + 10 * RUN_TIME_LIMIT, 'claim_3'), attempts: 3 })).toBe(false);
      expect(await s.runs.getRun(environmentId, T0)).toMatchObject({
        status: 'successful',
        startedAt: T0 + 3,
        claimId: 'claim_2',
        attempts: 2,
      });
    });

    test('finish records the outcome on the run (without its failure class); an unknown run gets none', async () => {
      await s.runs.claim(run(T0, T0 + 1));
      expect(await s.runs.finish(environmentId, T0, 'claim_1', failure(T0 + 2, 'throttled', 'transient'))).toBe(true);
      const { failureClass: _class, ...recorded } = failure(T0 + 2, 'throttled', 'transient') as RunOutcome & {
        failureClass: FailureClass;
      };
      expect(await s.runs.getRun(environmentId, T0)).toEqual({ ...run(T0, T0 + 1), ...recorded });
      expect(await s.runs.finish(environmentId, T0 + 24 * HOUR, 'claim_1', success(T0))).toBe(false);
      expect(await s.runs.getRun(environmentId, T0 + 24 * HOUR)).toBeUndefined();
    });

    test('a late finish by a claim taken over past its deadline records nothing', async () => {
      await s.runs.claim(run(T0, T0 + 1, 'claim_lost'));
      const takeoverAt = T0 + 2 + RUN_TIME_LIMIT;
      await s.runs.claim({ ...run(T0, takeoverAt, 'claim_new'), attempts: 2 });
      expect(await s.runs.finish(environmentId, T0, 'claim_lost', success(takeoverAt + 5))).toBe(false);
      expect(await s.runs.getRun(environmentId, T0)).toEqual({ ...run(T0, takeoverAt, 'claim_new'), attempts: 2 });
      expect(await s.runs.finish(environmentId, T0, 'claim_new', success(takeoverAt + 6))).toBe(true);
      expect(await s.runs.getRun(environmentId, T0)).toMatchObject({
        status: 'successful',
        finishedAt: takeoverAt + 6,
        claimId: 'claim_new',
      });
    });

    test('history lists the most recent snapshots first, up to the limit', async () => {
      for (const day of [2, 0, 1, 3]) await s.runs.claim(run(T0 + day * 24 * HOUR, T0 + day * 24 * HOUR));
      const history = await s.runs.history(environmentId, 3);
      expect(history.map((r) => r.snapshotAt)).toEqual([3, 2, 1].map((day) => T0 + day * 24 * HOUR));
      expect(history[0]).toEqual(run(T0 + 3 * 24 * HOUR, T0 + 3 * 24 * HOUR));
    });

    test('history orders snapshots by time, also across a change in their number of digits', async () => {
      // 2001-09-09T01:46:40Z is the first instant with 13 digits in milliseconds.
      const snapshots = [999_999_999_999, 1_000_000_000_000, 1_000_000_086_400];
      for (const snapshotAt of snapshots) await s.runs.claim(run(snapshotAt, snapshotAt));
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
        failingErrorCode: 'access_denied',
      });
      expect(await isListedFailing()).toBe(true);
    });

    test('a transient failure starts a transient run but neither starts a sequence nor replaces its error', async () => {
      await s.runs.recordOutcome(environmentId, T0, failure(T0 + 10, 'throttled', 'transient'));
      await s.runs.recordOutcome(environmentId, T0 + 1, failure(T0 + 20, 'throttled again', 'transient'));
      expect(await s.runs.getStatus(environmentId)).toEqual({
        environmentId,
        lastRunAt: T0 + 1,
        lastStatus: 'failed',
        lastError: 'throttled again',
        lastErrorCode: 'transient',
        transientSince: T0 + 10,
      });
      expect(await isListedFailing()).toBe(false);
      expect(await isListedTransient(T0 + 10)).toBe(true);
      expect(await isListedTransient(T0 + 9)).toBe(false);
      await s.runs.recordOutcome(environmentId, T0 + HOUR, failure(T0 + HOUR, 'denied'));
      expect(await isListedTransient(T0 + HOUR)).toBe(false);
      await s.runs.recordOutcome(environmentId, T0 + 2 * HOUR, failure(T0 + 2 * HOUR, 'throttled', 'transient'));
      expect(await s.runs.getStatus(environmentId)).toMatchObject({
        lastError: 'throttled',
        failingSince: T0 + HOUR,
        failingError: 'denied',
        transientSince: T0 + 2 * HOUR,
      });
      expect(await isListedFailing()).toBe(true);
    });

    test('an internal failure only records its error: no sequence, and it ends a transient run', async () => {
      await s.runs.recordOutcome(environmentId, T0, failure(T0 + 10, 'throttled', 'transient'));
      await s.runs.recordOutcome(environmentId, T0 + HOUR, failure(T0 + HOUR + 10, 'the key is unusable', 'internal'));
      expect(await s.runs.getStatus(environmentId)).toEqual({
        environmentId,
        lastRunAt: T0 + HOUR,
        lastStatus: 'failed',
        lastError: 'the key is unusable',
        lastErrorCode: 'internal',
      });
      expect(await isListedFailing()).toBe(false);
      expect(await isListedTransient(T0 + 2 * HOUR)).toBe(false);
    });

    test('a success ends the sequence and clears the errors', async () => {
      await s.runs.recordOutcome(environmentId, T0, failure(T0 + 10, 'denied'));
      await s.failing.claimEmail(environmentId, T0 + 10, 1);
      await s.runs.recordOutcome(environmentId, T0 + HOUR, success(T0 + HOUR + 10));
      expect(await s.runs.getStatus(environmentId)).toEqual({
        environmentId,
        lastRunAt: T0 + HOUR,
        lastStatus: 'successful',
      });
      expect(await isListedFailing()).toBe(false);
    });

    test('an older outcome does not overwrite a newer one; a retry of the same run does', async () => {
      await s.runs.recordOutcome(environmentId, T0 + HOUR, success(T0 + HOUR + 10));
      await s.runs.recordOutcome(environmentId, T0, failure(T0 + 2 * HOUR, 'denied'));
      expect(await s.runs.getStatus(environmentId)).toEqual({
        environmentId,
        lastRunAt: T0 + HOUR,
        lastStatus: 'successful',
      });
      expect(await isListedFailing()).toBe(false);
      await s.runs.recordOutcome(environmentId, T0 + HOUR, failure(T0 + 2 * HOUR, 'denied'));
      expect(await s.runs.getStatus(environmentId)).toMatchObject({
        lastRunAt: T0 + HOUR,
        lastStatus: 'failed',
        failingSince: T0 + 2 * HOUR,
      });
    });

    test('outcomes recorded in parallel leave the newest run', async () => {
      const starts = [3, 0, 4, 1, 2].map((i) => T0 + i * HOUR);
      await Promise.all(
        starts.map((startedAt, i) =>
          s.runs.recordOutcome(environmentId, startedAt, failure(startedAt + 1, `error ${i}`)),
        ),
      );
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
        failureClass: 'customer',
      });
    const listed = async () => {
      const found = [];
      for await (const record of s.failing.listFailing())
        if (record.environmentId === environmentId) found.push(record);
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
          failingErrorCode: 'access_denied',
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
    const TIME_LIMIT = 15 * 60_000;
    const job = (id = 'exp_1'): ManualExportJob => ({
      id,
      environmentId,
      aggregation: '30d-daily',
      status: 'pending',
      requestedAt: T0,
    });
    const claim = (claimId: string, at: number) => ({ claimId, at, deadlineAt: at + TIME_LIMIT });
    const claimed = (claimId: string, at: number) => ({
      status: 'running',
      startedAt: at,
      deadlineAt: at + TIME_LIMIT,
      claimId,
    });
    const done = (finishedAt: number) =>
      ({
        status: 'done',
        finishedAt,
        rowCount: 3,
        byteCount: 40,
        objectKey: 'manual/x.csv',
        fileName: 'x.csv',
      }) as const;

    test('creates a job once and reads it back; refuses a duplicate id', async () => {
      await s.manualJobs.create(job());
      await expect(s.manualJobs.create({ ...job(), aggregation: 'snapshot' })).rejects.toThrow();
      expect(await s.manualJobs.get(environmentId, 'exp_1')).toEqual(job());
      expect(await s.manualJobs.get(environmentId, 'exp_unknown')).toBeUndefined();
    });

    test(`${PARALLEL_CALLS} parallel claims of a pending job (a job delivered ${PARALLEL_CALLS} times): exactly one wins`, async () => {
      await s.manualJobs.create(job());
      const results = await Promise.all(
        Array.from({ length: PARALLEL_CALLS }, (_, i) =>
          s.manualJobs.claim(environmentId, 'exp_1', claim(`claim_${i}`, T0 + 5)),
        ),
      );
      expect(countTrue(results)).toBe(1);
      expect(await s.manualJobs.get(environmentId, 'exp_1')).toEqual({
        ...job(),
        ...claimed(`claim_${results.indexOf(true)}`, T0 + 5),
      });
    });

    test('a live claim is not taken before its deadline; one past it (its worker was lost) is', async () => {
      await s.manualJobs.create(job());
      await s.manualJobs.claim(environmentId, 'exp_1', claim('claim_1', T0 + 5));
      // At the deadline itself the claim still holds.
      expect(await s.manualJobs.claim(environmentId, 'exp_1', claim('claim_2', T0 + 5 + TIME_LIMIT))).toBe(false);
      expect(await s.manualJobs.get(environmentId, 'exp_1')).toEqual({ ...job(), ...claimed('claim_1', T0 + 5) });
      expect(await s.manualJobs.claim(environmentId, 'exp_1', claim('claim_3', T0 + 6 + TIME_LIMIT))).toBe(true);
      expect(await s.manualJobs.get(environmentId, 'exp_1')).toEqual({
        ...job(),
        ...claimed('claim_3', T0 + 6 + TIME_LIMIT),
      });
    });

    test("a late finish by a claim taken over past its deadline records nothing; the new claim's does", async () => {
      await s.manualJobs.create(job());
      await s.manualJobs.claim(environmentId, 'exp_1', claim('claim_lost', T0 + 5));
      const takeoverAt = T0 + 6 + TIME_LIMIT;
      await s.manualJobs.claim(environmentId, 'exp_1', claim('claim_new', takeoverAt));
      expect(
        await s.manualJobs.finish(
          environmentId,
          'exp_1',
          { status: 'failed', finishedAt: takeoverAt + 1, error: 'timed out' },
          'claim_lost',
        ),
      ).toBe(false);
      expect(await s.manualJobs.get(environmentId, 'exp_1')).toEqual({ ...job(), ...claimed('claim_new', takeoverAt) });
      expect(await s.manualJobs.finish(environmentId, 'exp_1', done(takeoverAt + 2), 'claim_new')).toBe(true);
      expect(await s.manualJobs.get(environmentId, 'exp_1')).toEqual({
        ...job(),
        ...claimed('claim_new', takeoverAt),
        ...done(takeoverAt + 2),
      });
    });

    test('a finished job, done or failed, is never claimed again; an unknown one never', async () => {
      await s.manualJobs.create(job('exp_done'));
      await s.manualJobs.create(job('exp_failed'));
      await s.manualJobs.claim(environmentId, 'exp_done', claim('claim_1', T0 + 1));
      expect(await s.manualJobs.finish(environmentId, 'exp_done', done(T0 + 2), 'claim_1')).toBe(true);
      // Without a claim id (a job whose dispatch failed, never claimed) the outcome is recorded as it is.
      expect(
        await s.manualJobs.finish(environmentId, 'exp_failed', {
          status: 'failed',
          finishedAt: T0 + 2,
          error: 'it broke',
        }),
      ).toBe(true);
      const muchLater = T0 + 1000 * HOUR;
      expect(await s.manualJobs.claim(environmentId, 'exp_done', claim('claim_3', muchLater))).toBe(false);
      expect(await s.manualJobs.claim(environmentId, 'exp_failed', claim('claim_2', muchLater))).toBe(false);
      expect(await s.manualJobs.claim(environmentId, 'exp_unknown', claim('claim_5', muchLater))).toBe(false);
      expect(await s.manualJobs.get(environmentId, 'exp_unknown')).toBeUndefined();
      expect(await s.manualJobs.get(environmentId, 'exp_done')).toEqual({
        ...job('exp_done'),
        ...claimed('claim_1', T0 + 1),
        ...done(T0 + 2),
      });
      expect(await s.manualJobs.get(environmentId, 'exp_failed')).toEqual({
        ...job('exp_failed'),
        status: 'failed',
        finishedAt: T0 + 2,
        error: 'it broke',
      });
    });

    test('finish of an unknown job records nothing and creates nothing', async () => {
      expect(
        await s.manualJobs.finish(environmentId, 'exp_unknown', { status: 'failed', finishedAt: T0, error: 'x' }),
      ).toBe(false);
      expect(
        await s.manualJobs.finish(
          environmentId,
          'exp_unknown',
          { status: 'failed', finishedAt: T0, error: 'x' },
          'claim_1',
        ),
      ).toBe(false);
      expect(await s.manualJobs.get(environmentId, 'exp_unknown')).toBeUndefined();
    });

    test(`${PARALLEL_CALLS} parallel starts for 2 slots: exactly 2 are held, different ones`, async () => {
      const slots = await Promise.all(
        Array.from({ length: PARALLEL_CALLS }, (_, i) =>
          s.manualJobs.acquireSlot(environmentId, `exp_${i}`, 2, T0, T0 + HOUR),
        ),
      );
      expect(slots.filter((slot) => slot !== undefined).sort()).toEqual([0, 1]);
    });

    test('a slot is freed only by the job holding it, and taken over once its lease has ended', async () => {
      expect(await s.manualJobs.acquireSlot(environmentId, 'exp_a', 1, T0, T0 + HOUR)).toBe(0);
      expect(await s.manualJobs.acquireSlot(environmentId, 'exp_b', 1, T0 + HOUR - 1, T0 + 2 * HOUR)).toBeUndefined();
      await s.manualJobs.releaseSlot(environmentId, 0, 'exp_b');
      expect(await s.manualJobs.acquireSlot(environmentId, 'exp_b', 1, T0 + 1, T0 + 2 * HOUR)).toBeUndefined();
      // At the end of its lease the slot is free again: exp_a never finished.
      expect(await s.manualJobs.acquireSlot(environmentId, 'exp_b', 1, T0 + HOUR, T0 + 2 * HOUR)).toBe(0);
      await s.manualJobs.releaseSlot(environmentId, 0, 'exp_a'); // the lost job's late release frees nothing
      expect(await s.manualJobs.acquireSlot(environmentId, 'exp_c', 1, T0 + HOUR + 1, T0 + 3 * HOUR)).toBeUndefined();
      await s.manualJobs.releaseSlot(environmentId, 0, 'exp_b');
      expect(await s.manualJobs.acquireSlot(environmentId, 'exp_c', 1, T0 + HOUR + 2, T0 + 3 * HOUR)).toBe(0);
    });
  });
}
