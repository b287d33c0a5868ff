/**
 * Run claims on dynalite, with real concurrency: the conditional writes that make a scheduled run or a
 * manual export job run once per delivery storm, and let a retry take over a claim whose worker was
 * lost (still `running` past its deadline), but never a live one.
 */
import { DynamoDbExportRunStore } from '../../lambdas/adapters/dynamodb/automatic-export-stores';
import { DynamoDbManualExportStore } from '../../lambdas/adapters/dynamodb/manual-export-store';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import type { ExportRun } from '../../lambdas/ports';
import { injectDynamoDbWriteFaults, type DynamoDbWriteFaults } from '../support/dynamodb-write-faults';

const TABLES = { configTable: 'config', usageTable: 'usage' };
const PARALLEL = 16;
const T0 = Date.parse('2026-03-10T00:00:00Z');
const MINUTE = 60_000;

let emulators: RunningEmulators;
let clients: EmulatorClients;
let runs: DynamoDbExportRunStore;
let jobs: DynamoDbManualExportStore;
let faults: DynamoDbWriteFaults;
let counter = 0;
const freshEnv = () => `env_claims_${++counter}`;

beforeAll(async () => {
  emulators = await startEmulators();
  clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, TABLES);
  faults = injectDynamoDbWriteFaults(clients.dynamodb);
  runs = new DynamoDbExportRunStore({ client: clients.documentClient, tableName: TABLES.configTable });
  jobs = new DynamoDbManualExportStore({ client: clients.documentClient, tableName: TABLES.configTable });
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

const parallel = <T>(count: number, make: (index: number) => Promise<T>): Promise<T[]> =>
  Promise.all(Array.from({ length: count }, (_, index) => make(index)));

const runClaim = (
  environmentId: string,
  startedAt: number,
  attempts: number,
  timeLimitMs = 10 * MINUTE,
): ExportRun => ({
  environmentId,
  snapshotAt: T0,
  cadence: 'daily',
  status: 'running',
  startedAt,
  deadlineAt: startedAt + timeLimitMs,
  claimId: `claim-${startedAt}-${attempts}`,
  attempts,
});

describe('DynamoDbExportRunStore.claim', () => {
  it('lets exactly one of parallel claims of a new snapshot win', async () => {
    const env = freshEnv();

    const claimed = await parallel(PARALLEL, (index) => runs.claim(runClaim(env, T0 + index, 1)));

    expect(claimed.filter(Boolean)).toHaveLength(1);
    const winner = claimed.indexOf(true);
    expect(await runs.getRun(env, T0)).toMatchObject({ status: 'running', startedAt: T0 + winner });
  });

  it('lets exactly one win among duplicate invocations started in the same millisecond (told apart by their claim ids)', async () => {
    const env = freshEnv();

    const claimed = await parallel(PARALLEL, (index) =>
      runs.claim({ ...runClaim(env, T0, 1), claimId: `invocation-${index}` }),
    );

    expect(claimed.filter(Boolean)).toHaveLength(1);
    expect(await runs.getRun(env, T0)).toMatchObject({ claimId: `invocation-${claimed.indexOf(true)}` });
  });

  it('never steals a running claim before its deadline, even at the deadline itself', async () => {
    const env = freshEnv();
    const live = runClaim(env, T0, 1);
    expect(await runs.claim(live)).toBe(true);

    const claimed = await parallel(PARALLEL, (index) =>
      runs.claim(runClaim(env, T0 + (index * (live.deadlineAt - T0)) / (PARALLEL - 1), 2)),
    );

    expect(claimed).toEqual(new Array(PARALLEL).fill(false));
    expect(await runs.getRun(env, T0)).toMatchObject({ startedAt: T0, attempts: 1, status: 'running' });
  });

  it('lets exactly one of parallel retries take over a running claim past its deadline', async () => {
    const env = freshEnv();
    const lost = runClaim(env, T0, 1);
    await runs.claim(lost);
    const afterDeadline = lost.deadlineAt + MINUTE;

    const claimed = await parallel(PARALLEL, (index) => runs.claim(runClaim(env, afterDeadline + index, 2)));

    expect(claimed.filter(Boolean)).toHaveLength(1);
    expect(await runs.getRun(env, T0)).toMatchObject({
      status: 'running',
      attempts: 2,
      startedAt: afterDeadline + claimed.indexOf(true),
    });
  });

  it("drops the lost run's late outcome and keeps the outcome of the run that took over", async () => {
    const env = freshEnv();
    const lost = runClaim(env, T0, 1);
    await runs.claim(lost);
    const retry = runClaim(env, lost.deadlineAt + MINUTE, 2);
    expect(await runs.claim(retry)).toBe(true);
    const failed = {
      status: 'failed' as const,
      finishedAt: retry.startedAt,
      durationMs: 1,
      error: 'late',
      errorCode: 'internal_error',
      failureClass: 'transient' as const,
    };
    const succeeded = {
      status: 'successful' as const,
      finishedAt: retry.startedAt + 5,
      durationMs: 5,
      rowCount: 3,
      byteCount: 30,
      objectKey: 'k.csv',
    };

    const [late, current] = await Promise.all([
      runs.finish(env, T0, lost.claimId, failed),
      runs.finish(env, T0, retry.claimId, succeeded),
    ]);

    expect([late, current]).toEqual([false, true]);
    expect(await runs.getRun(env, T0)).toMatchObject({ status: 'successful', attempts: 2, objectKey: 'k.csv' });
  });

  it('recognizes its own claim when the SDK retries the write after its answer was lost, and no one else', async () => {
    const env = freshEnv();
    const claim = runClaim(env, T0, 1);
    faults.inject({ kind: 'answerLost', operation: 'PutItem', bodyIncludes: [`ENV#${env}"`, 'RUN#'] });

    expect(await runs.claim(claim)).toBe(true);
    expect(faults.pending()).toBe(0);
    const others = await parallel(PARALLEL, (index) => runs.claim(runClaim(env, T0 + 1 + index, 1)));

    expect(others).toEqual(new Array(PARALLEL).fill(false));
    expect(await runs.getRun(env, T0)).toMatchObject({ startedAt: T0, attempts: 1, status: 'running' });
  });

  it('lets exactly one of parallel retries claim a failed run again', async () => {
    const env = freshEnv();
    const first = runClaim(env, T0, 1);
    await runs.claim(first);
    await runs.finish(env, T0, first.claimId, {
      status: 'failed',
      finishedAt: T0 + 1,
      durationMs: 1,
      error: 'x',
      errorCode: 'temporarily_unavailable',
      failureClass: 'transient' as const,
    });

    const claimed = await parallel(PARALLEL, (index) => runs.claim(runClaim(env, T0 + MINUTE + index, 2)));

    expect(claimed.filter(Boolean)).toHaveLength(1);
  });
});

/** A worker's claim of a manual export job, its id derived from its times. */
const manualClaim = (at: number, deadlineAt: number) => ({ claimId: `claim-${at}-${deadlineAt}`, at, deadlineAt });

describe('DynamoDbManualExportStore.claim', () => {
  const pendingJob = async (environmentId: string, id: string) =>
    jobs.create({ id, environmentId, aggregation: 'snapshot', status: 'pending', requestedAt: T0 });

  it('lets exactly one of parallel deliveries of a pending job claim it, until its deadline', async () => {
    const env = freshEnv();
    await pendingJob(env, 'exp_1');

    const claimed = await parallel(PARALLEL, (index) =>
      jobs.claim(env, 'exp_1', manualClaim(T0 + index, T0 + index + 10 * MINUTE)),
    );

    expect(claimed.filter(Boolean)).toHaveLength(1);
    const at = T0 + claimed.indexOf(true);
    expect(await jobs.get(env, 'exp_1')).toMatchObject({
      status: 'running',
      startedAt: at,
      deadlineAt: at + 10 * MINUTE,
    });
  });

  it('lets exactly one win among duplicate deliveries claiming in the same millisecond', async () => {
    const env = freshEnv();
    await pendingJob(env, 'exp_6');

    const claimed = await parallel(PARALLEL, (index) =>
      jobs.claim(env, 'exp_6', { ...manualClaim(T0, T0 + MINUTE), claimId: `delivery-${index}` }),
    );

    expect(claimed.filter(Boolean)).toHaveLength(1);
  });

  it('never steals a live claim, and lets exactly one retry take over a claim past its deadline', async () => {
    const env = freshEnv();
    await pendingJob(env, 'exp_2');
    await jobs.claim(env, 'exp_2', manualClaim(T0, T0 + 10 * MINUTE));

    const early = await parallel(PARALLEL, (index) =>
      jobs.claim(env, 'exp_2', manualClaim(T0 + index * MINUTE * 0.6, T0 + 30 * MINUTE)),
    );
    expect(early).toEqual(new Array(PARALLEL).fill(false));

    const late = await parallel(PARALLEL, (index) =>
      jobs.claim(env, 'exp_2', manualClaim(T0 + 11 * MINUTE + index, T0 + 25 * MINUTE)),
    );
    expect(late.filter(Boolean)).toHaveLength(1);
  });

  it("drops the lost worker's late outcome, keeping the outcome of the worker that took over", async () => {
    const env = freshEnv();
    await pendingJob(env, 'exp_3');
    await jobs.claim(env, 'exp_3', manualClaim(T0, T0 + MINUTE));
    const takeover = T0 + 2 * MINUTE;
    expect(await jobs.claim(env, 'exp_3', manualClaim(takeover, takeover + MINUTE))).toBe(true);

    const lostFinish = await jobs.finish(
      env,
      'exp_3',
      { status: 'failed', finishedAt: takeover, error: 'late' },
      manualClaim(T0, T0 + MINUTE).claimId,
    );
    const done = {
      status: 'done' as const,
      finishedAt: takeover + 1,
      rowCount: 1,
      byteCount: 10,
      objectKey: 'k.csv',
      fileName: 'f.csv',
    };
    const currentFinish = await jobs.finish(env, 'exp_3', done, manualClaim(takeover, takeover + MINUTE).claimId);

    expect([lostFinish, currentFinish]).toEqual([false, true]);
    expect(await jobs.get(env, 'exp_3')).toMatchObject({ status: 'done', objectKey: 'k.csv' });
  });

  it('recognizes its own claim when the SDK retries the write after its answer was lost', async () => {
    const env = freshEnv();
    await pendingJob(env, 'exp_5');
    faults.inject({ kind: 'answerLost', operation: 'UpdateItem', bodyIncludes: [`ENV#${env}"`, 'MANUAL#exp_5"'] });

    expect(await jobs.claim(env, 'exp_5', manualClaim(T0, T0 + MINUTE))).toBe(true);
    expect(faults.pending()).toBe(0);
    expect(await jobs.claim(env, 'exp_5', manualClaim(T0 + 1, T0 + MINUTE))).toBe(false);
  });

  it('never claims a finished job again', async () => {
    const env = freshEnv();
    await pendingJob(env, 'exp_4');
    await jobs.claim(env, 'exp_4', manualClaim(T0, T0 + MINUTE));
    await jobs.finish(
      env,
      'exp_4',
      { status: 'failed', finishedAt: T0 + 1, error: 'x' },
      manualClaim(T0, T0 + MINUTE).claimId,
    );

    const claimed = await parallel(PARALLEL, (index) =>
      jobs.claim(env, 'exp_4', manualClaim(T0 + 60 * MINUTE + index, T0 + 90 * MINUTE)),
    );

    expect(claimed).toEqual(new Array(PARALLEL).fill(false));
  });
});
