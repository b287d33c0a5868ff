/**
 * ManualExportService against in-memory fakes of its ports (the fakes keep the stores' contract:
 * test/support/store-contract.ts): requests, duplicate deliveries, failures and their messages,
 * abandoned jobs, the download view.
 */
import type { Readable } from 'node:stream';
import type { Caller } from '../../lambdas/core/access';
import { InternalFailureError, NotFoundError, PlanRequiredError, UnauthorizedError } from '../../lambdas/core/errors';
import { RUN_TIME_LIMIT_MS } from '../../lambdas/core/export/pipeline';
import { storedIngestKey } from '../../lambdas/core/ingest-keys';
import { logger } from '../../lambdas/core/log';
import {
  ManualExportService,
  MAX_CONCURRENT_MANUAL_EXPORTS,
  TooManyExportsError,
} from '../../lambdas/core/manual-export';
import { DAY_MS, type CompanyUsage, type Environment, type Plan } from '../../lambdas/core/model';
import type {
  DownloadLinks,
  ExportDispatcher,
  ManualExportJob,
  ManualExportRequest,
  ObjectSink,
} from '../../lambdas/ports';
import { FakeClock, FakeManualExportStore, FakeTenantStore, FakeUsageStore } from '../support/fakes';
import { RecordingMetrics } from '../support/recording-metrics';

const ORG = 'org_acme';
const ENV = 'env_prod';
const member: Caller = { organizationId: ORG, role: 'member' };
const REQUESTED_AT = Date.parse('2026-03-04T10:30:00Z');
const MINUTE = 60_000;
const LINK_SECONDS = 900;

class RecordingDispatcher implements ExportDispatcher {
  readonly requests: ManualExportRequest[] = [];
  error: Error | undefined;
  /** What the invoked worker does before the error is answered (an invocation whose answer was lost). */
  delivered: ((request: ManualExportRequest) => Promise<unknown>) | undefined;
  async dispatchManualExport(request: ManualExportRequest): Promise<void> {
    this.requests.push(request);
    await this.delivered?.(request);
    if (this.error) throw this.error;
  }
}

/** The exports bucket: what was written, or the error a write throws after reading the body. */
class MemorySink implements ObjectSink {
  readonly objects = new Map<string, string>();
  writes = 0;
  error: Error | undefined;
  /** Runs while the body is read, e.g. to let the time limit strike mid-export. */
  whileWriting: (() => void) | undefined;
  async write(key: string, body: Readable): Promise<void> {
    this.writes++;
    const chunks: Buffer[] = [];
    for await (const chunk of body) {
      chunks.push(Buffer.from(chunk as Buffer));
      this.whileWriting?.();
    }
    if (this.error) throw this.error;
    this.objects.set(key, Buffer.concat(chunks).toString('utf8'));
  }
}

const links: DownloadLinks = {
  createDownloadUrl: async (key, { fileName, expiresInSeconds }) =>
    `https://exports.test/${key}?name=${encodeURIComponent(fileName)}&expires=${expiresInSeconds}`,
};

function company(id: string): CompanyUsage {
  const day = Math.floor(REQUESTED_AT / DAY_MS) - 1;
  return {
    company: {
      companyId: id,
      name: `Company ${id}`,
      attributes: {},
      firstSeen: day * DAY_MS,
      seenDays: new Map([[day, day * DAY_MS + 1]]),
    },
    usage: [
      { eventKey: 'export', firstUsed: day * DAY_MS + 1, usedDays: new Map([[day, day * DAY_MS + 1]]), feedback: [] },
    ],
  };
}

function environment(id: string, name: string): Environment {
  const { hash, prefix } = storedIngestKey(`ik_${id}_key_0000000000`);
  return { id, organizationId: ORG, name, ingestKeyHash: hash, ingestKeyPrefix: prefix, createdAt: 0 };
}

async function setup(plan: Plan = 'pro', jobs = new FakeManualExportStore()) {
  const tenants = new FakeTenantStore();
  const usage = new FakeUsageStore();
  const dispatcher = new RecordingDispatcher();
  const sink = new MemorySink();
  const clock = new FakeClock(REQUESTED_AT);
  const metrics = new RecordingMetrics();
  let ids = 0;
  await tenants.createOrganization({ id: ORG, name: 'Acme', plan, createdAt: 0 });
  await tenants.createEnvironment(environment(ENV, 'Production'));
  await tenants.putFeature(ENV, {
    id: 'f_export',
    key: 'export',
    name: 'Export',
    adoption: { minActiveDays: 5, windowDays: 28 },
  });
  await usage.putCompanyUsage(ENV, company('c1'));
  await usage.putCompanyUsage(ENV, company('c2'));
  const service = new ManualExportService({
    tenants,
    usage,
    jobs,
    dispatcher,
    sink,
    links,
    clock,
    newId: (prefix) => `${prefix}_${++ids}`,
    downloadLinkSeconds: LINK_SECONDS,
    metrics,
  });
  return { service, tenants, usage, jobs, dispatcher, sink, clock, metrics };
}

describe('request', () => {
  test("creates a pending job as of now, holding one of the environment's slots, and dispatches it", async () => {
    const { service, jobs, dispatcher } = await setup();
    const view = await service.request(member, ENV, '30d-daily');
    expect(view).toEqual({
      id: 'exp_1',
      aggregation: '30d-daily',
      status: 'pending',
      requestedAt: '2026-03-04T10:30:00.000Z',
      startedAt: null,
      finishedAt: null,
      rowCount: null,
      byteCount: null,
      fileName: null,
      downloadUrl: null,
      expiresAt: null,
      error: null,
    });
    expect(dispatcher.requests).toEqual([{ environmentId: ENV, jobId: 'exp_1' }]);
    expect(await jobs.get(ENV, 'exp_1')).toEqual({
      id: 'exp_1',
      environmentId: ENV,
      aggregation: '30d-daily',
      status: 'pending',
      requestedAt: REQUESTED_AT,
      slot: 0,
    });
  });

  test(`a start beyond ${MAX_CONCURRENT_MANUAL_EXPORTS} pending or running is refused until one finishes`, async () => {
    const { service, jobs, dispatcher } = await setup();
    for (let i = 0; i < MAX_CONCURRENT_MANUAL_EXPORTS; i++) await service.request(member, ENV, 'snapshot');
    await expect(service.request(member, ENV, 'snapshot')).rejects.toBeInstanceOf(TooManyExportsError);
    expect(dispatcher.requests).toHaveLength(MAX_CONCURRENT_MANUAL_EXPORTS);
    await service.run(ENV, 'exp_1');
    expect((await service.request(member, ENV, 'snapshot')).status).toBe('pending');
    expect((await jobs.get(ENV, 'exp_4'))?.slot).toBe((await jobs.get(ENV, 'exp_1'))?.slot);
  });

  test('a refused start tells how many run at once and when to try again', async () => {
    const { service } = await setup();
    for (let i = 0; i < MAX_CONCURRENT_MANUAL_EXPORTS; i++) await service.request(member, ENV, 'snapshot');
    await expect(service.request(member, ENV, 'snapshot')).rejects.toMatchObject({
      name: 'TooManyExportsError',
      limit: MAX_CONCURRENT_MANUAL_EXPORTS,
      retryAfterSeconds: 30,
      message:
        `At most ${MAX_CONCURRENT_MANUAL_EXPORTS} manual exports of an environment run at once, and ` +
        `${MAX_CONCURRENT_MANUAL_EXPORTS} are pending or running. Wait until one is done or failed (GET its status), ` +
        'then start this one again, in 30 seconds or later.',
    });
  });

  test('a job that could not be stored frees its slot and fails the request with the error', async () => {
    const storeDown = new Error('DynamoDB unavailable');
    const jobs = new (class extends FakeManualExportStore {
      override async create(): Promise<void> {
        throw storeDown;
      }
    })();
    const { service, dispatcher } = await setup('pro', jobs);
    await expect(service.request(member, ENV, 'snapshot')).rejects.toBe(storeDown);
    expect([...jobs.slots.keys()]).toEqual([]);
    expect(dispatcher.requests).toEqual([]);
  });

  test('a failed dispatch fails the job with a message to try again, and the request with the error', async () => {
    const { service, jobs, dispatcher, clock } = await setup();
    dispatcher.error = new Error('Lambda throttled');
    clock.advance(5);
    await expect(service.request(member, ENV, 'snapshot')).rejects.toBe(dispatcher.error);
    expect(await jobs.get(ENV, 'exp_1')).toMatchObject({
      status: 'failed',
      finishedAt: REQUESTED_AT + 5,
      error: 'The export could not be started. Please try again.',
    });
    // Its slot is free again: nothing holds it.
    expect([...jobs.slots.keys()]).toEqual([]);
  });

  test('a dispatch reported failed although its worker ran leaves the job to the worker: done, counted once', async () => {
    const { service, jobs, dispatcher, metrics } = await setup();
    dispatcher.error = new Error('socket timeout after the invocation was accepted');
    dispatcher.delivered = ({ environmentId, jobId }) => service.run(environmentId, jobId);
    await expect(service.request(member, ENV, 'snapshot')).rejects.toBe(dispatcher.error);
    const job = await jobs.get(ENV, 'exp_1');
    expect(job).toMatchObject({ status: 'done', rowCount: 2 });
    expect(job?.error).toBeUndefined();
    expect(metrics.counts).toEqual({
      'ExportRunOutcomes {"style":"manual","outcome":"successful"}': 1,
      RowsExported: 2,
    });
    expect([...jobs.slots.keys()]).toEqual([]);
  });

  test('a dispatch reported failed while its worker runs the job leaves the job running, its slot held', async () => {
    const { service, jobs, dispatcher, metrics } = await setup();
    dispatcher.error = new Error('socket timeout after the invocation was accepted');
    dispatcher.delivered = ({ environmentId, jobId }) =>
      jobs.claim(environmentId, jobId, {
        claimId: 'claim_worker',
        at: REQUESTED_AT,
        deadlineAt: REQUESTED_AT + RUN_TIME_LIMIT_MS,
      });
    await expect(service.request(member, ENV, 'snapshot')).rejects.toBe(dispatcher.error);
    expect(await jobs.get(ENV, 'exp_1')).toMatchObject({ status: 'running', claimId: 'claim_worker' });
    expect(jobs.slots.get(`${ENV}/0`)?.jobId).toBe('exp_1');
    expect(metrics.counts).toEqual({});
  });

  test('needs a caller of the environment on a plan with manual export', async () => {
    const free = await setup('free');
    await expect(free.service.request(member, ENV, 'snapshot')).rejects.toBeInstanceOf(PlanRequiredError);
    expect(free.dispatcher.requests).toEqual([]);
    const { service, jobs } = await setup();
    await expect(service.request(undefined, ENV, 'snapshot')).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(
      service.request({ organizationId: 'org_other', role: 'member' }, ENV, 'snapshot'),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(jobs.jobs.size).toBe(0);
  });
});

describe('run', () => {
  test('exports every company x feature into the exports bucket and records the outcome', async () => {
    const { service, jobs, sink, clock } = await setup();
    await service.request(member, ENV, 'snapshot');
    clock.advance(MINUTE);
    await service.run(ENV, 'exp_1');
    const key = 'manual/env_prod/exp_1/production_snapshot_2026-03-04.csv';
    expect([...sink.objects.keys()]).toEqual([key]);
    const csv = sink.objects.get(key)!;
    expect(
      csv
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(',')[0]),
    ).toEqual(['Company ID', 'c1', 'c2']);
    expect(await jobs.get(ENV, 'exp_1')).toEqual({
      id: 'exp_1',
      environmentId: ENV,
      aggregation: 'snapshot',
      status: 'done',
      requestedAt: REQUESTED_AT,
      slot: 0,
      startedAt: REQUESTED_AT + MINUTE,
      deadlineAt: REQUESTED_AT + MINUTE + RUN_TIME_LIMIT_MS,
      claimId: jobs.claims[0].claimId,
      finishedAt: REQUESTED_AT + MINUTE,
      rowCount: 2,
      byteCount: Buffer.byteLength(csv),
      objectKey: key,
      fileName: 'production_snapshot_2026-03-04.csv',
    });
  });

  test('a job delivered twice, even at once, runs once', async () => {
    const { service, jobs, sink } = await setup();
    await service.request(member, ENV, 'snapshot');
    await Promise.all([service.run(ENV, 'exp_1'), service.run(ENV, 'exp_1')]);
    await service.run(ENV, 'exp_1');
    expect(sink.writes).toBe(1);
    expect(jobs.claims.map((c) => c.claimed)).toEqual([true, false, false]);
    expect(new Set(jobs.claims.map((c) => c.claimId)).size).toBe(3);
    expect((await jobs.get(ENV, 'exp_1'))?.status).toBe('done');
  });

  test('a job whose worker was lost is taken over past its deadline, not before; the lost worker records nothing', async () => {
    const { service, jobs, sink, clock } = await setup();
    await service.request(member, ENV, 'snapshot');
    // A first worker claimed it and was lost.
    const deadlineAt = REQUESTED_AT + RUN_TIME_LIMIT_MS;
    await jobs.claim(ENV, 'exp_1', { claimId: 'claim_lost', at: REQUESTED_AT, deadlineAt });
    clock.set(deadlineAt);
    await service.run(ENV, 'exp_1');
    expect(sink.objects.size).toBe(0);
    expect(await jobs.get(ENV, 'exp_1')).toMatchObject({ status: 'running', claimId: 'claim_lost' });
    clock.advance(1);
    await service.run(ENV, 'exp_1');
    expect(jobs.claims.at(-1)).toEqual({ id: 'exp_1', claimId: expect.any(String), at: deadlineAt + 1, claimed: true });
    const done = await jobs.get(ENV, 'exp_1');
    expect(done).toMatchObject({ status: 'done', startedAt: deadlineAt + 1, claimId: jobs.claims.at(-1)!.claimId });
    expect(
      await jobs.finish(ENV, 'exp_1', { status: 'failed', finishedAt: deadlineAt + 2, error: 'late' }, 'claim_lost'),
    ).toBe(false);
    expect(await jobs.get(ENV, 'exp_1')).toEqual(done);
  });

  test('a failure is recorded with a message for the customer, never the error itself', async () => {
    const { service, jobs, sink, clock } = await setup();
    await service.request(member, ENV, 'snapshot');
    sink.error = new Error('S3 SlowDown: arn:aws:s3:::internal-bucket');
    clock.advance(2 * MINUTE);
    const logged = jest.spyOn(logger, 'error').mockImplementation(() => {});
    await expect(service.run(ENV, 'exp_1')).resolves.toBeUndefined();
    // The cause goes to the operators' log instead.
    expect(logged).toHaveBeenCalledWith('Manual export failed', {
      environmentId: ENV,
      jobId: 'exp_1',
      error: sink.error,
    });
    logged.mockRestore();
    expect(await jobs.get(ENV, 'exp_1')).toMatchObject({
      status: 'failed',
      finishedAt: REQUESTED_AT + 2 * MINUTE,
      error: 'The export failed on our side. Please start it again; if it keeps failing, contact support.',
    });
    const view = await service.get(member, ENV, 'exp_1');
    expect(view).toMatchObject({
      status: 'failed',
      downloadUrl: null,
      expiresAt: null,
      error: expect.stringContaining('on our side'),
    });
  });

  test('an export stopped by its time limit says so', async () => {
    const { service, jobs, sink } = await setup();
    await service.request(member, ENV, 'snapshot');
    const timeLimit = new AbortController();
    sink.whileWriting = () => timeLimit.abort(new Error('timed out'));
    await service.run(ENV, 'exp_1', { signal: timeLimit.signal });
    expect(sink.objects.size).toBe(0);
    expect(await jobs.get(ENV, 'exp_1')).toMatchObject({
      status: 'failed',
      error: 'The export did not finish within its time limit. Please try a shorter aggregation or contact support.',
    });
  });

  test('an environment deleted meanwhile fails the job with that message', async () => {
    const { service, jobs, tenants } = await setup();
    await service.request(member, ENV, 'snapshot');
    tenants.environments.delete(ENV);
    await service.run(ENV, 'exp_1');
    expect(await jobs.get(ENV, 'exp_1')).toMatchObject({
      status: 'failed',
      error: `Environment ${ENV} no longer exists.`,
    });
  });

  test('a job created before slots existed finishes without releasing any slot', async () => {
    const { service, jobs } = await setup();
    const legacy: ManualExportJob = {
      id: 'exp_old',
      environmentId: ENV,
      aggregation: 'snapshot',
      status: 'pending',
      requestedAt: REQUESTED_AT,
    };
    await jobs.create(legacy);
    const releaseSlot = jest.spyOn(jobs, 'releaseSlot');
    await service.run(ENV, 'exp_old');
    expect((await jobs.get(ENV, 'exp_old'))?.status).toBe('done');
    expect(releaseSlot).not.toHaveBeenCalled();
  });

  test('a claimed job the store cannot read back is an internal failure', async () => {
    const jobs = new (class extends FakeManualExportStore {
      override async get(): Promise<ManualExportJob | undefined> {
        return undefined;
      }
    })();
    const { service, sink } = await setup('pro', jobs);
    await service.request(member, ENV, 'snapshot');
    const run = service.run(ENV, 'exp_1');
    await expect(run).rejects.toBeInstanceOf(InternalFailureError);
    await expect(run).rejects.toThrow('Manual export exp_1 claimed but not found.');
    expect(sink.writes).toBe(0);
  });

  test('an unknown job does nothing', async () => {
    const { service, sink, jobs } = await setup();
    await expect(service.run(ENV, 'exp_unknown')).resolves.toBeUndefined();
    expect(sink.objects.size).toBe(0);
    expect(jobs.jobs.size).toBe(0);
  });
});

describe('get', () => {
  test('a finished job has a download link valid for the configured time', async () => {
    const { service, clock } = await setup();
    await service.request(member, ENV, 'snapshot');
    await service.run(ENV, 'exp_1');
    clock.advance(10 * MINUTE);
    expect(await service.get(member, ENV, 'exp_1')).toMatchObject({
      status: 'done',
      rowCount: 2,
      fileName: 'production_snapshot_2026-03-04.csv',
      downloadUrl: `https://exports.test/manual/env_prod/exp_1/production_snapshot_2026-03-04.csv?name=production_snapshot_2026-03-04.csv&expires=${LINK_SECONDS}`,
      expiresAt: new Date(REQUESTED_AT + 10 * MINUTE + LINK_SECONDS * 1000).toISOString(),
      error: null,
    });
  });

  test('only a done job offers its file for download', async () => {
    const { service, jobs } = await setup();
    // A record that names a file but is not done (e.g. failed over a finished run before dispatch failures claimed first).
    await jobs.create({
      id: 'exp_raced',
      environmentId: ENV,
      aggregation: 'snapshot',
      status: 'failed',
      requestedAt: REQUESTED_AT,
      finishedAt: REQUESTED_AT,
      objectKey: 'manual/env_prod/exp_raced/production_snapshot_2026-03-04.csv',
      fileName: 'production_snapshot_2026-03-04.csv',
      error: 'The export could not be started. Please try again.',
    });
    expect(await service.get(member, ENV, 'exp_raced')).toMatchObject({
      status: 'failed',
      downloadUrl: null,
      expiresAt: null,
    });
  });

  test('an unknown job, or one of another environment, is not found', async () => {
    const { service, tenants } = await setup();
    await service.request(member, ENV, 'snapshot');
    await tenants.createEnvironment(environment('env_staging', 'Staging'));
    await expect(service.get(member, ENV, 'exp_nope')).rejects.toThrow(
      new NotFoundError(`Export exp_nope not found in environment ${ENV}.`),
    );
    await expect(service.get(member, 'env_staging', 'exp_1')).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.get({ organizationId: 'org_other', role: 'member' }, ENV, 'exp_1')).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe('operational metrics', () => {
  test('a successful run counts its outcome, duration, rows and bytes, once however often it is delivered', async () => {
    const { service, sink, clock, metrics } = await setup();
    await service.request(member, ENV, 'snapshot');
    clock.advance(MINUTE);
    // The export takes 7 seconds.
    sink.whileWriting = () => clock.set(REQUESTED_AT + MINUTE + 7_000);
    await service.run(ENV, 'exp_1');
    await service.run(ENV, 'exp_1');
    const csv = [...sink.objects.values()][0];
    expect(metrics.counts).toEqual({
      'ExportRunOutcomes {"style":"manual","outcome":"successful"}': 1,
      RowsExported: 2,
    });
    expect(metrics.measures).toEqual({
      'ExportRunDuration (ms)': [7_000],
      'BytesExported (bytes)': [Buffer.byteLength(csv)],
    });
  });

  test('a failed run counts a failure and its duration, no rows or bytes', async () => {
    const { service, sink, clock, metrics } = await setup();
    await service.request(member, ENV, 'snapshot');
    sink.error = new Error('S3 SlowDown');
    sink.whileWriting = () => clock.set(REQUESTED_AT + 3_000);
    const logged = jest.spyOn(logger, 'error').mockImplementation(() => {});
    await service.run(ENV, 'exp_1');
    logged.mockRestore();
    expect(metrics.counts).toEqual({ 'ExportRunOutcomes {"style":"manual","outcome":"failed"}': 1 });
    expect(metrics.measures).toEqual({ 'ExportRunDuration (ms)': [3_000] });
  });

  test('a job that could not be started counts a failure without a duration', async () => {
    const { service, dispatcher, metrics } = await setup();
    dispatcher.error = new Error('Lambda throttled');
    await expect(service.request(member, ENV, 'snapshot')).rejects.toBe(dispatcher.error);
    expect(metrics.counts).toEqual({ 'ExportRunOutcomes {"style":"manual","outcome":"failed"}': 1 });
    expect(metrics.measures).toEqual({});
  });
});
