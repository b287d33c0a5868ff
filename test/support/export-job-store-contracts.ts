/**
 * What the destination and export-job stores promise (lambdas/ports.ts), as test cases shared by the
 * in-memory fakes (test/unit) and the DynamoDB stores on dynalite (test/integration), so the fakes the
 * unit tests rely on cannot drift from the real conditional writes. The parallel cases run real
 * concurrency against dynalite.
 */
import type {
  DestinationStore,
  ExportJob,
  ExportJobRun,
  ExportJobStore,
  FailingJobsStore,
  JobRunFailureOutcome,
  NamedDestination,
} from '../../lambdas/ports';

const T0 = Date.parse('2026-11-20T00:00:00Z');
let counter = 0;
const freshEnv = () => `env_contract${++counter}_${Math.random().toString(36).slice(2, 8)}`;

export function destinationOf(
  environmentId: string,
  id: string,
  version = 1,
  overrides: Partial<NamedDestination> = {},
): NamedDestination {
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
    expect(listed).toEqual([
      destinationOf(env, 'dst_a'),
      destinationOf(env, 'dst_b', 1, { auth: { mode: 'bucketPolicy' }, bucketUrl: undefined }),
    ]);
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
    expect(await store.get(env, 'job_b')).toEqual(
      jobOf(env, 'job_b', 1, { type: 'selectedEvents', events: ['signup', 'a b/c'] }),
    );
    expect((await store.list(env)).map((job) => job.id).sort()).toEqual(['job_a', 'job_b']);
    expect(await store.put(jobOf(env, 'job_a', 2, { status: 'STOPPED' }), 2)).toBe(false);
    expect(await store.put(jobOf(env, 'job_a', 2, { status: 'STOPPED' }), 1)).toBe(true);
    expect((await store.get(env, 'job_a'))!.status).toBe('STOPPED');
  });

  test('of 8 parallel changes based on the same version exactly one wins', async () => {
    const store = make();
    const env = freshEnv();
    await store.create(jobOf(env, 'job_a'));
    const attempts = Array.from({ length: 8 }, (_, i) =>
      jobOf(env, 'job_a', 2, { notifyEmails: [`writer${i}@acme.example`] }),
    );
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
    await store.recordRun(
      env,
      'job_a',
      runOf('20261120060000', T0 + 6 * 3_600_000, { status: 'running', finishedAt: undefined, files: [] }),
    );
    await store.recordRun(env, 'job_a', runOf('20261120000000', T0));
    await store.recordRun(env, 'job_a', runOf('20261120060000', T0 + 6 * 3_600_000));
    await store.recordRun(
      env,
      'job_b',
      runOf('20261120120000', T0 + 12 * 3_600_000, { status: 'failed', files: [], error: 'Access denied.' }),
    );
    expect(await store.listRuns(env, 'job_a', 20)).toEqual([
      runOf('20261120060000', T0 + 6 * 3_600_000),
      runOf('20261120000000', T0),
    ]);
    expect(await store.listRuns(env, 'job_a', 1)).toEqual([runOf('20261120060000', T0 + 6 * 3_600_000)]);
    expect((await store.get(env, 'job_a'))!.lastRunAt).toBe(T0 + 6 * 3_600_000);
    expect((await store.get(env, 'job_a'))!.version).toBe(1);
    expect((await store.listRuns(env, 'job_b', 20))[0].error).toBe('Access denied.');
  });
}

const customerFailure = (runId: string, finishedAt: number, errorCode = 'access_denied'): JobRunFailureOutcome => ({
  runId,
  status: 'failed',
  finishedAt,
  failureClass: 'customer',
  errorCode,
});

async function failingJobsOf(store: FailingJobsStore, environmentId: string) {
  const found = [];
  for await (const record of store.listFailingJobs()) if (record.environmentId === environmentId) found.push(record);
  return found.sort((a, b) => a.jobId.localeCompare(b.jobId));
}

/** The jobs' failure sequences and the exactly-once claims of their warning emails. */
export function failingJobsStoreContract(make: () => ExportJobStore & FailingJobsStore): void {
  test('a customer-side failure starts the sequence, later ones keep its start, transient ones change nothing, a success ends it', async () => {
    const store = make();
    const env = freshEnv();
    await store.recordRunOutcome(env, 'job_a', {
      runId: '20261120000000',
      status: 'failed',
      finishedAt: T0,
      failureClass: 'transient',
      errorCode: 'internal_error',
    });
    expect(await failingJobsOf(store, env)).toEqual([]);
    await store.recordRunOutcome(env, 'job_a', customerFailure('20261120060000', T0 + 1000, 'invalid_credentials'));
    await store.recordRunOutcome(env, 'job_a', customerFailure('20261120120000', T0 + 2000, 'access_denied'));
    await store.recordRunOutcome(env, 'job_a', {
      runId: '20261120180000',
      status: 'failed',
      finishedAt: T0 + 3000,
      failureClass: 'internal',
      errorCode: 'internal_error',
    });
    await store.recordRunOutcome(env, 'job_b', customerFailure('20261120060000', T0 + 5000, 'bucket_not_found'));
    expect(await failingJobsOf(store, env)).toEqual([
      {
        environmentId: env,
        jobId: 'job_a',
        failingSince: T0 + 1000,
        failingErrorCode: 'access_denied',
        emailsSent: [],
      },
      {
        environmentId: env,
        jobId: 'job_b',
        failingSince: T0 + 5000,
        failingErrorCode: 'bucket_not_found',
        emailsSent: [],
      },
    ]);
    await store.recordRunOutcome(env, 'job_a', { runId: '20261121000000', status: 'successful' });
    expect((await failingJobsOf(store, env)).map((record) => record.jobId)).toEqual(['job_b']);
  });

  test('an outcome older than the last one recorded (a slow run) does not undo it', async () => {
    const store = make();
    const env = freshEnv();
    await store.recordRunOutcome(env, 'job_a', { runId: '20261120120000', status: 'successful' });
    await store.recordRunOutcome(env, 'job_a', customerFailure('20261120060000', T0));
    expect(await failingJobsOf(store, env)).toEqual([]);
    await store.recordRunOutcome(env, 'job_a', customerFailure('20261120180000', T0 + 1));
    await store.recordRunOutcome(env, 'job_a', { runId: '20261120120000', status: 'successful' });
    expect((await failingJobsOf(store, env)).map((record) => record.failingSince)).toEqual([T0 + 1]);
  });

  test('each email is claimed once per sequence; a release gives it back; an ended sequence claims nothing', async () => {
    const store = make();
    const env = freshEnv();
    await store.recordRunOutcome(env, 'job_a', customerFailure('20261120060000', T0));
    expect(await store.claimJobEmail(env, 'job_a', T0 + 1, 1)).toBe(false); // another sequence's start
    expect(await store.claimJobEmail(env, 'job_missing', T0, 1)).toBe(false);
    expect(await store.claimJobEmail(env, 'job_a', T0, 1)).toBe(true);
    expect(await store.claimJobEmail(env, 'job_a', T0, 1)).toBe(false);
    expect(await store.claimJobEmail(env, 'job_a', T0, 2)).toBe(true);
    await store.releaseJobEmail(env, 'job_a', T0, 2);
    expect((await failingJobsOf(store, env))[0].emailsSent).toEqual([1]);
    expect(await store.claimJobEmail(env, 'job_a', T0, 2)).toBe(true);
    await store.endJobSequence(env, 'job_a', T0 + 1); // not this sequence: nothing ends
    expect(await failingJobsOf(store, env)).toHaveLength(1);
    await store.endJobSequence(env, 'job_a', T0);
    expect(await failingJobsOf(store, env)).toEqual([]);
    expect(await store.claimJobEmail(env, 'job_a', T0, 3)).toBe(false);
    // A new sequence after the end starts afresh.
    await store.recordRunOutcome(env, 'job_a', customerFailure('20261121060000', T0 + 9000));
    expect(await failingJobsOf(store, env)).toEqual([
      {
        environmentId: env,
        jobId: 'job_a',
        failingSince: T0 + 9000,
        failingErrorCode: 'access_denied',
        emailsSent: [],
      },
    ]);
  });

  test('the emails sent are listed in number order, whatever the order of their claims', async () => {
    const store = make();
    const env = freshEnv();
    await store.recordRunOutcome(env, 'job_a', customerFailure('20261120060000', T0));
    for (const email of [3, 1, 2]) expect(await store.claimJobEmail(env, 'job_a', T0, email)).toBe(true);
    expect((await failingJobsOf(store, env))[0].emailsSent).toEqual([1, 2, 3]);
  });

  test('of 5 parallel claims of the same email exactly one wins, for each email', async () => {
    const store = make();
    const env = freshEnv();
    await store.recordRunOutcome(env, 'job_a', customerFailure('20261120060000', T0));
    for (const email of [1, 2, 3]) {
      const results = await Promise.all(Array.from({ length: 5 }, () => store.claimJobEmail(env, 'job_a', T0, email)));
      expect(results.filter(Boolean)).toHaveLength(1);
    }
    expect((await failingJobsOf(store, env))[0].emailsSent).toEqual([1, 2, 3]);
  });
}
