/**
 * What the destination and export-job stores promise (lambdas/ports.ts), as test cases shared by the
 * in-memory fakes (test/unit) and the DynamoDB stores on dynalite (test/integration), so the fakes the
 * unit tests rely on cannot drift from the real conditional writes. The parallel cases run real
 * concurrency against dynalite.
 */
import type { DestinationStore, ExportJob, ExportJobRun, ExportJobStore, NamedDestination } from '../../lambdas/ports';

const T0 = Date.parse('2026-11-20T00:00:00Z');
let counter = 0;
const freshEnv = () => `env_contract${++counter}_${Math.random().toString(36).slice(2, 8)}`;

export function destinationOf(environmentId: string, id: string, version = 1, overrides: Partial<NamedDestination> = {}): NamedDestination {
  return {
    environmentId,
    id,
    name: `Warehouse ${id}`,
    destination: { provider: 'AWS', bucket: 'acme-exports', region: 'eu-west-1', keyPrefix: 'events' },
    bucketUrl: 'https://acme-exports.s3.eu-west-1.amazonaws.com/events',
    auth: { mode: 'accessKey', accessKeyId: 'AKIAEXAMPLE0001', sealedSecretAccessKey: 'sealed:secret' },
    createdAt: T0,
    updatedAt: T0 + version,
    version,
    ...overrides,
  };
}

export function jobOf(environmentId: string, id: string, version = 1, overrides: Partial<ExportJob> = {}): ExportJob {
  return {
    environmentId,
    id,
    destinationId: 'dst_1',
    provider: 'AWS',
    type: 'allEvents',
    identityPriority: ['identity', 'email'],
    frequency: { kind: 'recurring', everyHours: 6 },
    format: 'csv',
    asString: false,
    compression: 'gzip',
    notifyEmails: ['data@acme.example'],
    status: 'PENDING',
    createdAt: T0,
    updatedAt: T0 + version,
    version,
    ...overrides,
  };
}

const runOf = (runId: string, startedAt: number, overrides: Partial<ExportJobRun> = {}): ExportJobRun => ({
  runId,
  window: { from: startedAt - 6 * 3_600_000, to: startedAt },
  status: 'successful',
  startedAt,
  finishedAt: startedAt + 1000,
  files: [{ key: `events/job-${runId}-0.csv.gz`, records: 10, bytes: 321 }],
  ...overrides,
});

export function destinationStoreContract(make: () => DestinationStore): void {
  test('create is refused for an existing id; get and list read what was stored', async () => {
    const store = make();
    const env = freshEnv();
    expect(await store.create(destinationOf(env, 'dst_a'))).toBe(true);
    expect(await store.create(destinationOf(env, 'dst_a', 1, { name: 'Other' }))).toBe(false);
    await store.create(destinationOf(env, 'dst_b', 1, { auth: { mode: 'bucketPolicy' }, bucketUrl: undefined }));
    expect(await store.get(env, 'dst_a')).toEqual(destinationOf(env, 'dst_a'));
    expect(await store.get(env, 'dst_missing')).toBeUndefined();
    expect(await store.get(freshEnv(), 'dst_a')).toBeUndefined();
    const listed = (await store.list(env)).sort((a, b) => a.id.localeCompare(b.id));
    expect(listed).toEqual([destinationOf(env, 'dst_a'), destinationOf(env, 'dst_b', 1, { auth: { mode: 'bucketPolicy' }, bucketUrl: undefined })]);
    expect(await store.list(freshEnv())).toEqual([]);
  });

  test('put and delete happen only at the expected version', async () => {
    const store = make();
    const env = freshEnv();
    await store.create(destinationOf(env, 'dst_a'));
    expect(await store.put(destinationOf(env, 'dst_a', 3), 2)).toBe(false);
    expect(await store.put(destinationOf(env, 'dst_a', 2, { name: 'Renamed' }), 1)).toBe(true);
    expect(await store.get(env, 'dst_a')).toEqual(destinationOf(env, 'dst_a', 2, { name: 'Renamed' }));
    expect(await store.put(destinationOf(env, 'dst_missing', 2), 1)).toBe(false);
    expect(await store.delete(env, 'dst_a', 1)).toBe(false);
    expect(await store.delete(env, 'dst_a', 2)).toBe(true);
    expect(await store.get(env, 'dst_a')).toBeUndefined();
    expect(await store.delete(env, 'dst_a', 2)).toBe(false);
  });

  test('of 8 parallel saves based on the same version exactly one wins, and its content is stored', async () => {
    const store = make();
    const env = freshEnv();
    await store.create(destinationOf(env, 'dst_a'));
    const attempts = Array.from({ length: 8 }, (_, i) => destinationOf(env, 'dst_a', 2, { name: `Writer ${i}` }));
    const results = await Promise.all(attempts.map((attempt) => store.put(attempt, 1)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.get(env, 'dst_a')).toEqual(attempts[results.indexOf(true)]);
  });
}

export function exportJobStoreContract(make: () => ExportJobStore): void {
  test('create, get, list and versioned put', async () => {
    const store = make();
    const env = freshEnv();
    expect(await store.create(jobOf(env, 'job_a'))).toBe(true);
    expect(await store.create(jobOf(env, 'job_a'))).toBe(false);
    await store.create(jobOf(env, 'job_b', 1, { type: 'selectedEvents', events: ['signup', 'a b/c'] }));
    expect(await store.get(env, 'job_b')).toEqual(jobOf(env, 'job_b', 1, { type: 'selectedEvents', events: ['signup', 'a b/c'] }));
    expect((await store.list(env)).map((job) => job.id).sort()).toEqual(['job_a', 'job_b']);
    expect(await store.put(jobOf(env, 'job_a', 2, { status: 'STOPPED' }), 2)).toBe(false);
    expect(await store.put(jobOf(env, 'job_a', 2, { status: 'STOPPED' }), 1)).toBe(true);
    expect((await store.get(env, 'job_a'))!.status).toBe('STOPPED');
  });

  test('of 8 parallel changes based on the same version exactly one wins', async () => {
    const store = make();
    const env = freshEnv();
    await store.create(jobOf(env, 'job_a'));
    const attempts = Array.from({ length: 8 }, (_, i) => jobOf(env, 'job_a', 2, { notifyEmails: [`writer${i}@acme.example`] }));
    const results = await Promise.all(attempts.map((attempt) => store.put(attempt, 1)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.get(env, 'job_a')).toEqual(attempts[results.indexOf(true)]);
  });

  test("runs: listed most recent first, a run recorded again replaced by its id, the job's lastRunAt only raised", async () => {
    const store = make();
    const env = freshEnv();
    await store.create(jobOf(env, 'job_a'));
    await store.create(jobOf(env, 'job_b'));
    expect(await store.listRuns(env, 'job_a', 20)).toEqual([]);
    await store.recordRun(env, 'job_a', runOf('20261120060000', T0 + 6 * 3_600_000, { status: 'running', finishedAt: undefined, files: [] }));
    await store.recordRun(env, 'job_a', runOf('20261120000000', T0));
    await store.recordRun(env, 'job_a', runOf('20261120060000', T0 + 6 * 3_600_000));
    await store.recordRun(env, 'job_b', runOf('20261120120000', T0 + 12 * 3_600_000, { status: 'failed', files: [], error: 'Access denied.' }));
    expect(await store.listRuns(env, 'job_a', 20)).toEqual([runOf('20261120060000', T0 + 6 * 3_600_000), runOf('20261120000000', T0)]);
    expect(await store.listRuns(env, 'job_a', 1)).toEqual([runOf('20261120060000', T0 + 6 * 3_600_000)]);
    expect((await store.get(env, 'job_a'))!.lastRunAt).toBe(T0 + 6 * 3_600_000);
    expect((await store.get(env, 'job_a'))!.version).toBe(1);
    expect((await store.listRuns(env, 'job_b', 20))[0].error).toBe('Access denied.');
  });
}
