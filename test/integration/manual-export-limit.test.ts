/**
 * At most 2 manual exports of an environment at once, held by conditional writes on dynalite: parallel
 * starts never take more, and a slot comes back when its job finishes, fails or its lease ends.
 */
import type { Readable } from 'node:stream';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbManualExportStore } from '../../lambdas/adapters/dynamodb/manual-export-store';
import { DynamoDbTenantStore } from '../../lambdas/adapters/dynamodb/tenant-store';
import { DynamoDbUsageStore } from '../../lambdas/adapters/dynamodb/usage-store';
import type { Caller } from '../../lambdas/core/access';
import {
  ManualExportService,
  MAX_CONCURRENT_MANUAL_EXPORTS,
  TooManyExportsError,
} from '../../lambdas/core/manual-export';
import { TenancyService } from '../../lambdas/core/tenancy';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import type { ExportDispatcher, ManualExportRequest } from '../../lambdas/ports';
import { newId, newIngestKey } from '../../lambdas/services';
import { FakeClock } from '../support/fakes';
import { RecordingMetrics } from '../support/recording-metrics';

const TABLES = { configTable: 'config', usageTable: 'usage' };
const OPERATOR: Caller = { organizationId: 'ops', role: 'operator' };

let emulators: RunningEmulators;
let clients: EmulatorClients;
let tenancy: TenancyService;
let jobs: DynamoDbManualExportStore;
const clock = new FakeClock(Date.parse('2026-05-04T09:00:00Z'));

/** Records what would be invoked asynchronously; the test runs the jobs when it wants. */
class RecordingDispatcher implements ExportDispatcher {
  readonly dispatched: ManualExportRequest[] = [];
  failNext = false;
  async dispatchManualExport(request: ManualExportRequest): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('Lambda invoke failed');
    }
    this.dispatched.push(request);
  }
}

function manualExports(dispatcher: ExportDispatcher, metrics?: RecordingMetrics): ManualExportService {
  const client = clients.documentClient;
  return new ManualExportService({
    tenants: new DynamoDbTenantStore({ client, tableName: TABLES.configTable }),
    usage: new DynamoDbUsageStore({ client, tableName: TABLES.usageTable }),
    jobs,
    dispatcher,
    sink: { write: async (_key: string, body: Readable) => void (await body.toArray()) },
    links: { createDownloadUrl: async (key) => `https://downloads.example/${key}` },
    clock,
    newId,
    downloadLinkSeconds: 3600,
    metrics,
  });
}

beforeAll(async () => {
  emulators = await startEmulators();
  clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, TABLES);
  const tenants = new DynamoDbTenantStore({ client: clients.documentClient, tableName: TABLES.configTable });
  tenancy = new TenancyService({ tenants, clock, newId, newIngestKey, ingestKeyGraceMs: 0 });
  jobs = new DynamoDbManualExportStore({ client: clients.documentClient, tableName: TABLES.configTable });
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

async function proEnvironment(): Promise<{ environmentId: string; member: Caller }> {
  const organization = await tenancy.createOrganization(OPERATOR, { name: 'Acme', plan: 'pro' });
  const environment = await tenancy.createEnvironment(OPERATOR, organization.id, 'Production');
  return { environmentId: environment.id, member: { organizationId: organization.id, role: 'member' } };
}

const outcomes = (results: PromiseSettledResult<unknown>[]) => ({
  accepted: results.filter((r) => r.status === 'fulfilled').length,
  refused: results.filter((r) => r.status === 'rejected' && r.reason instanceof TooManyExportsError).length,
});

describe('manual export concurrency limit on dynalite', () => {
  it(`5 parallel starts: exactly ${MAX_CONCURRENT_MANUAL_EXPORTS} accepted, the others refused and nothing stored for them`, async () => {
    const dispatcher = new RecordingDispatcher();
    const service = manualExports(dispatcher);
    const { environmentId, member } = await proEnvironment();

    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => service.request(member, environmentId, 'snapshot')),
    );

    expect(outcomes(results)).toEqual({ accepted: 2, refused: 3 });
    expect(dispatcher.dispatched).toHaveLength(2);
    const { Items = [] } = await clients.documentClient.send(
      new QueryCommand({
        TableName: TABLES.configTable,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :jobs)',
        ExpressionAttributeValues: { ':pk': `ENV#${environmentId}`, ':jobs': 'MANUAL#' },
      }),
    );
    expect(Items.map((item) => item.id).sort()).toEqual(dispatcher.dispatched.map((request) => request.jobId).sort());
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!
      .reason as TooManyExportsError;
    expect(refused).toMatchObject({ limit: 2, retryAfterSeconds: 30 });
    expect(refused.message).toMatch(/At most 2 manual exports of an environment run at once/);
    // A second environment has its own slots.
    const other = await proEnvironment();
    await expect(service.request(other.member, other.environmentId, 'snapshot')).resolves.toMatchObject({
      status: 'pending',
    });
  });

  it('a finished job frees its slot, and only one', async () => {
    const dispatcher = new RecordingDispatcher();
    const service = manualExports(dispatcher);
    const { environmentId, member } = await proEnvironment();
    await service.request(member, environmentId, 'snapshot');
    await service.request(member, environmentId, '30d-daily');
    await expect(service.request(member, environmentId, 'snapshot')).rejects.toBeInstanceOf(TooManyExportsError);

    const [first] = dispatcher.dispatched;
    await service.run(first.environmentId, first.jobId);
    expect((await jobs.get(environmentId, first.jobId))?.status).toBe('done');
    // A duplicate delivery of the finished job frees nothing more.
    await service.run(first.environmentId, first.jobId);

    const results = await Promise.allSettled(
      Array.from({ length: 3 }, () => service.request(member, environmentId, 'snapshot')),
    );
    expect(outcomes(results)).toEqual({ accepted: 1, refused: 2 });
  });

  it('counts each finished job once, by outcome, with its rows, bytes and duration, however often it is delivered', async () => {
    const dispatcher = new RecordingDispatcher();
    const metrics = new RecordingMetrics();
    const service = manualExports(dispatcher, metrics);
    const { environmentId, member } = await proEnvironment();
    await service.request(member, environmentId, 'snapshot');
    dispatcher.failNext = true;
    await expect(service.request(member, environmentId, 'snapshot')).rejects.toThrow('Lambda invoke failed');
    const [job] = dispatcher.dispatched;
    await Promise.all([service.run(job.environmentId, job.jobId), service.run(job.environmentId, job.jobId)]);
    await service.run(job.environmentId, job.jobId);

    const done = (await jobs.get(environmentId, job.jobId))!;
    expect(metrics.counts).toEqual({
      'ExportRunOutcomes {"style":"manual","outcome":"successful"}': 1,
      'ExportRunOutcomes {"style":"manual","outcome":"failed"}': 1,
      RowsExported: done.rowCount,
    });
    expect(metrics.measures['BytesExported (bytes)']).toEqual([done.byteCount]);
    // Only the job that ran has a duration (the fake clock stands still); the undispatched one never started.
    expect(metrics.measures['ExportRunDuration (ms)']).toEqual([0]);
  });

  it('a job that could not be dispatched fails and frees its slot', async () => {
    const dispatcher = new RecordingDispatcher();
    const service = manualExports(dispatcher);
    const { environmentId, member } = await proEnvironment();
    await service.request(member, environmentId, 'snapshot');
    dispatcher.failNext = true;
    await expect(service.request(member, environmentId, 'snapshot')).rejects.toThrow('Lambda invoke failed');

    await expect(service.request(member, environmentId, 'snapshot')).resolves.toMatchObject({ status: 'pending' });
    await expect(service.request(member, environmentId, 'snapshot')).rejects.toBeInstanceOf(TooManyExportsError);
  });

  it('slots of jobs that never finish come back when their lease ends (76 minutes)', async () => {
    const dispatcher = new RecordingDispatcher();
    const service = manualExports(dispatcher);
    const { environmentId, member } = await proEnvironment();
    await service.request(member, environmentId, 'snapshot');
    await service.request(member, environmentId, 'snapshot');

    clock.advance(75 * 60_000);
    await expect(service.request(member, environmentId, 'snapshot')).rejects.toBeInstanceOf(TooManyExportsError);
    clock.advance(60_000);
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () => service.request(member, environmentId, 'snapshot')),
    );
    expect(outcomes(results)).toEqual({ accepted: 2, refused: 2 });

    // The abandoned first job, delivered late after all, does not free the slot its successor holds.
    const [abandoned] = dispatcher.dispatched;
    await service.run(abandoned.environmentId, abandoned.jobId);
    await expect(service.request(member, environmentId, 'snapshot')).rejects.toBeInstanceOf(TooManyExportsError);
  });
});
