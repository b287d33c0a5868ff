/**
 * What the raw export store promises (lambdas/ports.ts RawExportStore), as cases shared by the
 * in-memory fake (test/unit) and the DynamoDB store on dynalite (test/integration): the settings'
 * versions, the run lease, and the high-water mark that two runs can never both raise.
 */
import type { ExportedRevision, RawExportSettings, RawExportStore } from '../../lambdas/ports';

const T0 = Date.parse('2026-12-01T12:00:00Z');
let counter = 0;
const freshEnv = () => `env_raw${++counter}_${Math.random().toString(36).slice(2, 8)}`;

const settingsOf = (
  environmentId: string,
  version: number,
  overrides: Partial<RawExportSettings> = {},
): RawExportSettings => ({
  environmentId,
  enabled: true,
  destinationId: 'dst_1',
  notifyEmails: ['data@acme.example'],
  updatedAt: T0 + version,
  version,
  ...overrides,
});

export const revisionOf = (n: number, overrides: Partial<ExportedRevision> = {}): ExportedRevision => ({
  n,
  objectKey: `raw/env/2026/12/01/${String(n % 24).padStart(2, '0')}/object-${String(n).padStart(4, '0')}.jsonl.gz`,
  minTimestamp: 1_764_000_000 + n,
  maxTimestamp: 1_764_000_100 + n,
  lines: n * 10,
  bytes: n * 1000,
  exportedAt: T0,
  ...overrides,
});

export function rawExportStoreContract(make: () => RawExportStore): void {
  test('settings: created only when absent, replaced only at the version read, stopped only at the version read', async () => {
    const store = make();
    const env = freshEnv();
    expect(await store.getSettings(env)).toBeUndefined();
    expect(await store.putSettings(settingsOf(env, 1), 0)).toBe(true);
    expect(await store.putSettings(settingsOf(env, 1, { notifyEmails: ['late@acme.example'] }), 0)).toBe(false);
    expect(await store.putSettings(settingsOf(env, 2, { enabled: false }), 1)).toBe(true);
    expect(await store.stop(env, 1, T0, 'stale')).toBe(false);
    expect(await store.stop(env, 2, T0 + 5, 'Stopped after failing for 72 hours.')).toBe(true);
    expect(await store.getSettings(env)).toEqual({
      ...settingsOf(env, 3, { enabled: false }),
      updatedAt: T0 + 2,
      stoppedAt: T0 + 5,
      stoppedReason: 'Stopped after failing for 72 hours.',
    });
  });

  test('a save based on a stale version is refused; of 5 parallel saves based on the same version exactly one wins', async () => {
    const store = make();
    const env = freshEnv();
    await store.putSettings(settingsOf(env, 1), 0);
    expect(await store.putSettings(settingsOf(env, 2), 1)).toBe(true);
    expect(await store.putSettings(settingsOf(env, 2, { enabled: false }), 1)).toBe(false);
    const attempts = Array.from({ length: 5 }, (_, i) =>
      settingsOf(env, 3, { notifyEmails: [`writer${i}@acme.example`] }),
    );
    const results = await Promise.all(attempts.map((attempt) => store.putSettings(attempt, 2)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.getSettings(env)).toEqual(attempts[results.indexOf(true)]);
  });

  test('no progress before the first run', async () => {
    const store = make();
    expect(await store.getProgress(freshEnv())).toBeUndefined();
  });

  test('a revision without item times keeps the latest exported time', async () => {
    const store = make();
    const env = freshEnv();
    await store.claimRun(env, { claimId: 'a', at: T0, until: T0 + 1000 });
    expect(await store.recordRevision(env, 'a', revisionOf(1), 1_764_000_101)).toBe(true);
    expect(await store.recordRevision(env, 'a', revisionOf(2), undefined)).toBe(true);
    expect(await store.getProgress(env)).toEqual({
      environmentId: env,
      exportedRevisions: 2,
      lastObjectKey: revisionOf(2).objectKey,
      maxExportedTimestamp: 1_764_000_101,
    });
  });

  test('transient and internal failures are recorded but start no failure sequence', async () => {
    const store = make();
    const env = freshEnv();
    for (const [i, failureClass] of (['transient', 'internal'] as const).entries()) {
      const at = T0 + 100 * i;
      await store.claimRun(env, { claimId: failureClass, at, until: at + 50 });
      await store.finishRun(env, failureClass, {
        status: 'failed',
        error: 'The destination did not answer in time.',
        errorCode: 'timeout',
        failureClass,
        startedAt: at,
        finishedAt: at + 10,
      });
    }
    expect(await store.getProgress(env)).toEqual({
      environmentId: env,
      exportedRevisions: 0,
      lastRunAt: T0 + 100,
      lastStatus: 'failed',
      lastError: 'The destination did not answer in time.',
    });
  });

  test('the lease: one holder until it ends or is given back; its holder may claim it again', async () => {
    const store = make();
    const env = freshEnv();
    expect(await store.claimRun(env, { claimId: 'a', at: T0, until: T0 + 1000 })).toBe(true);
    expect(await store.claimRun(env, { claimId: 'b', at: T0 + 999, until: T0 + 2000 })).toBe(false);
    expect(await store.claimRun(env, { claimId: 'a', at: T0 + 500, until: T0 + 1500 })).toBe(true);
    expect(await store.claimRun(env, { claimId: 'b', at: T0 + 1500, until: T0 + 2500 })).toBe(true);
    await store.finishRun(env, 'b', { status: 'successful', startedAt: T0 + 1500, totalRevisions: 0 });
    expect(await store.claimRun(env, { claimId: 'c', at: T0 + 1600, until: T0 + 2600 })).toBe(true);
    expect(await store.getProgress(env)).toEqual({
      environmentId: env,
      exportedRevisions: 0,
      lastRunAt: T0 + 1500,
      lastStatus: 'successful',
      totalRevisions: 0,
    });
  });

  test('the mark rises one revision at a time, only under the lease, and the revisions list in number order', async () => {
    const store = make();
    const env = freshEnv();
    expect(await store.claimRun(env, { claimId: 'a', at: T0, until: T0 + 1000 })).toBe(true);
    expect(await store.recordRevision(env, 'a', revisionOf(2), 10)).toBe(false);
    expect(await store.recordRevision(env, 'b', revisionOf(1), 10)).toBe(false);
    expect(await store.recordRevision(env, 'a', revisionOf(1), 1_764_000_101)).toBe(true);
    expect(await store.recordRevision(env, 'a', revisionOf(1), 1_764_000_101)).toBe(false);
    for (let n = 2; n <= 12; n++)
      expect(await store.recordRevision(env, 'a', revisionOf(n), 1_764_000_100 + n)).toBe(true);
    expect(await store.getProgress(env)).toEqual({
      environmentId: env,
      exportedRevisions: 12,
      lastObjectKey: revisionOf(12).objectKey,
      maxExportedTimestamp: 1_764_000_112,
    });
    const listed: ExportedRevision[] = [];
    for await (const revision of store.listRevisions(env)) listed.push(revision);
    expect(listed.map((revision) => revision.n)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(listed[9]).toEqual(revisionOf(10));
  });

  test('a failed run keeps the mark; customer-side failures start a sequence that success or a save ends', async () => {
    const store = make();
    const env = freshEnv();
    await store.claimRun(env, { claimId: 'a', at: T0, until: T0 + 1000 });
    await store.recordRevision(env, 'a', revisionOf(1), 5);
    const failure = {
      status: 'failed',
      error: 'Access denied.',
      errorCode: 'access_denied',
      failureClass: 'customer',
    } as const;
    await store.finishRun(env, 'a', { ...failure, startedAt: T0, finishedAt: T0 + 10 });
    await store.claimRun(env, { claimId: 'b', at: T0 + 100, until: T0 + 1000 });
    await store.finishRun(env, 'b', { ...failure, startedAt: T0 + 100, finishedAt: T0 + 110 });
    expect(await store.getProgress(env)).toEqual({
      environmentId: env,
      exportedRevisions: 1,
      lastObjectKey: revisionOf(1).objectKey,
      maxExportedTimestamp: 5,
      lastRunAt: T0 + 100,
      lastStatus: 'failed',
      lastError: 'Access denied.',
      failingSince: T0 + 10,
      failingErrorCode: 'access_denied',
    });
    await store.clearFailure(env);
    expect((await store.getProgress(env))?.failingSince).toBeUndefined();
    await store.claimRun(env, { claimId: 'c', at: T0 + 200, until: T0 + 1000 });
    await store.finishRun(env, 'c', { ...failure, startedAt: T0 + 200, finishedAt: T0 + 210 });
    await store.claimRun(env, { claimId: 'd', at: T0 + 300, until: T0 + 1000 });
    await store.finishRun(env, 'd', { status: 'successful', startedAt: T0 + 300, totalRevisions: 3 });
    const progress = await store.getProgress(env);
    expect(progress).toMatchObject({
      exportedRevisions: 1,
      lastStatus: 'successful',
      totalRevisions: 3,
      lastRunAt: T0 + 300,
    });
    expect(progress?.failingSince).toBeUndefined();
    expect(progress?.lastError).toBeUndefined();
  });

  test('concurrent runs: exactly one takes the lease, and concurrent raises of the same mark: exactly one wins', async () => {
    const store = make();
    const env = freshEnv();
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.claimRun(env, { claimId: `run${i}`, at: T0, until: T0 + 1000 })),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    const holder = `run${claims.indexOf(true)}`;
    // The holder retried its own write (its answer lost) racing writers without the lease.
    const raises = await Promise.all([
      store.recordRevision(env, holder, revisionOf(1), 1),
      store.recordRevision(env, holder, revisionOf(1), 1),
      ...Array.from({ length: 6 }, (_, i) => store.recordRevision(env, `other${i}`, revisionOf(1), 1)),
    ]);
    expect(raises.filter(Boolean)).toHaveLength(1);
    expect((await store.getProgress(env))?.exportedRevisions).toBe(1);
  });

  test('a lease taken over past its end: the old holder can no longer raise the mark or record its outcome', async () => {
    const store = make();
    const env = freshEnv();
    await store.claimRun(env, { claimId: 'lost', at: T0, until: T0 + 1000 });
    await store.recordRevision(env, 'lost', revisionOf(1), 1);
    const [late, takeover] = await Promise.all([
      store.claimRun(env, { claimId: 'late', at: T0 + 999, until: T0 + 3000 }),
      store.claimRun(env, { claimId: 'next', at: T0 + 1000, until: T0 + 3000 }),
    ]);
    expect([late, takeover]).toEqual([false, true]);
    expect(await store.recordRevision(env, 'lost', revisionOf(2), 2)).toBe(false);
    await store.finishRun(env, 'lost', { status: 'successful', startedAt: T0, totalRevisions: 9 });
    expect(await store.recordRevision(env, 'next', revisionOf(2), 2)).toBe(true);
    expect(await store.getProgress(env)).toEqual({
      environmentId: env,
      exportedRevisions: 2,
      lastObjectKey: revisionOf(2).objectKey,
      maxExportedTimestamp: 2,
    });
  });
}
