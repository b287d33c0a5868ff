/**
 * A bulk retried after a failure stores what one success stores: DynamoDB writes fail on the Nth write
 * (a client middleware), the same bulk is sent again, and the stored usage equals a clean run's. Also
 * the same bulk delivered twice and three times at once. Against dynalite.
 */
import { DynamoDbUsageStore, FOLD_FEEDBACK_AT } from '../../lambdas/adapters/dynamodb/usage-store';
import { IngestService, ingestItemId, ingestItemIds, type IngestItem } from '../../lambdas/core/ingest';
import { DAY_MS, tallyByDay, type Environment } from '../../lambdas/core/model';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import { FakeTenantStore } from '../support/fakes';
import { fakeIngestRecorders } from '../support/ingest-log-fakes';
import { systemClock } from '../../lambdas/services';

const TABLE = 'usage';
const DAY0 = 20_400; // 2025-11-09
const at = (day: number, hour: number) => (DAY0 + day) * DAY_MS + hour * 3_600_000;
const WRITES = new Set(['UpdateItemCommand', 'PutItemCommand', 'BatchWriteItemCommand']);

let emulators: RunningEmulators;
let clients: EmulatorClients;
let ingest: IngestService;
let usage: DynamoDbUsageStore;
let envCounter = 0;
const freshEnv = (): Environment => ({ id: `idem_${++envCounter}` }) as Environment;

/** Writes sent so far, and the write that fails (1-based; 0: none). */
let writes = 0;
let failAtWrite = 0;
/**
 * Requests not yet answered. A failed ingest answers at its first failed write while its other lanes
 * go on writing; the emulator must not stop under them (dynalite throws on a closed database and
 * crashes the process, which ends a mutation run's in-band Jest).
 */
let inFlight = 0;

beforeAll(async () => {
  emulators = await startEmulators();
  clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, { configTable: 'config', usageTable: TABLE });
  clients.documentClient.middlewareStack.add(
    (next, context) => (args) => {
      if (WRITES.has(context.commandName ?? '') && ++writes === failAtWrite) {
        return Promise.reject(new Error(`injected fault on write ${writes} (${context.commandName})`));
      }
      inFlight++;
      return next(args).finally(() => inFlight--);
    },
    { step: 'initialize', name: 'injectWriteFault' },
  );
  usage = new DynamoDbUsageStore({ client: clients.documentClient, tableName: TABLE });
  ingest = new IngestService({
    tenants: new FakeTenantStore(),
    usage,
    clock: systemClock,
    ...fakeIngestRecorders(systemClock),
  });
});

afterAll(async () => {
  while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  clients?.destroy();
  await emulators?.stop();
});

/** Users linked by company calls, events with and without a company, feedback enough to fold, repeats. */
const bulk: IngestItem[] = [
  { type: 'company', companyId: 'acme', userId: 'ann', attributes: { name: 'Acme', tier: 'gold' }, at: at(0, 9) },
  { type: 'company', companyId: 'globex', userId: 'bob', attributes: { name: 'Globex' }, at: at(0, 10) },
  { type: 'user', userId: 'cyd', at: at(0, 11) },
  ...Array.from({ length: 12 }, (_, i): IngestItem => ({
    type: 'event',
    event: 'search',
    userId: 'ann',
    at: at(i, 14),
  })),
  ...Array.from({ length: 6 }, (_, i): IngestItem => ({
    type: 'event',
    event: 'export',
    userId: 'bob',
    companyId: 'globex',
    at: at(2 * i, 8),
  })),
  { type: 'company', companyId: 'acme', attributes: { tier: 'platinum', seats: 12 }, at: at(3, 9) },
  ...Array.from({ length: FOLD_FEEDBACK_AT + 4 }, (_, i): IngestItem => ({
    type: 'feedback',
    companyId: 'acme',
    featureKey: 'search',
    score: i % 6 === 0 ? null : (i % 5) + 1,
    at: at(i % 12, 16),
  })),
  // The same feedback twice in one request: two records.
  { type: 'feedback', userId: 'bob', featureKey: 'export', score: 2, at: at(4, 12) },
  { type: 'feedback', userId: 'bob', featureKey: 'export', score: 2, at: at(4, 12) },
  { type: 'event', event: 'search', userId: 'cyd', at: at(5, 5) }, // unattributed
];
const FEEDBACK_RECORDS = FOLD_FEEDBACK_AT + 6;

/** What an export reads, with feedback as daily tallies (however much of it is folded yet). */
async function storedState(environment: Environment) {
  const companies = [];
  for await (const { company, usage: records } of usage.streamCompanyUsage(environment.id)) {
    companies.push({
      company: { ...company, seenDays: [...company.seenDays] },
      usage: records.map((r) => ({ ...r, usedDays: [...r.usedDays], feedback: tallyByDay(r.feedback) })),
    });
  }
  const users = await Promise.all(['ann', 'bob', 'cyd'].map((u) => usage.findUserCompany(environment.id, u)));
  return { companies, users };
}

const feedbackCount = (state: Awaited<ReturnType<typeof storedState>>) =>
  state.companies.flatMap((c) => c.usage.flatMap((u) => u.feedback)).reduce((sum, t) => sum + t.count, 0);

let clean: Awaited<ReturnType<typeof storedState>>;
let writesOfOneSuccess = 0;

beforeAll(async () => {
  const environment = freshEnv();
  writes = 0;
  await ingest.ingest(environment, bulk);
  writesOfOneSuccess = writes;
  clean = await storedState(environment);
});

describe('item identity', () => {
  test('is derived from the content and the ordinal among identical items, per environment', () => {
    const ids = ingestItemIds('env_a', bulk);
    expect(ingestItemIds('env_a', bulk)).toEqual(ids);
    expect(new Set(ids).size).toBe(bulk.length);
    const twin = bulk.length - 3;
    expect(ids[twin]).toBe(ingestItemId('env_a', bulk[twin], 0));
    expect(ids[twin + 1]).toBe(ingestItemId('env_a', bulk[twin + 1], 1));
    expect(ingestItemId('env_b', bulk[twin], 0)).not.toBe(ids[twin]);
    expect(ingestItemId('env_a', { ...bulk[twin], score: 3 } as IngestItem, 0)).not.toBe(ids[twin]);
    expect(ids[twin]).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});

describe('a bulk retried after a failure stores what one success stores', () => {
  test('the clean run counts every record once', () => {
    expect(feedbackCount(clean)).toBe(FEEDBACK_RECORDS);
    expect(clean.users).toEqual(['acme', 'globex', undefined]);
    expect(writesOfOneSuccess).toBeGreaterThan(FEEDBACK_RECORDS);
  });

  test.each([0.02, 0.35, 0.65, 0.98])('a fault at %p of the writes, then the same bulk again', async (share) => {
    const environment = freshEnv();
    writes = 0;
    failAtWrite = Math.max(1, Math.round(share * writesOfOneSuccess));
    await expect(ingest.ingest(environment, bulk)).rejects.toThrow('injected fault');
    failAtWrite = 0;
    await ingest.ingest(environment, bulk);
    expect(await storedState(environment)).toEqual(clean);
  });

  test('two faults in a row, then a success; and a success sent again', async () => {
    const environment = freshEnv();
    for (const share of [0.5, 0.3]) {
      writes = 0;
      failAtWrite = Math.round(share * writesOfOneSuccess);
      await expect(ingest.ingest(environment, bulk)).rejects.toThrow('injected fault');
    }
    failAtWrite = 0;
    await ingest.ingest(environment, bulk);
    await ingest.ingest(environment, bulk);
    expect(await storedState(environment)).toEqual(clean);
  });

  test('the same bulk delivered twice and three times at once', async () => {
    for (const copies of [2, 3]) {
      const environment = freshEnv();
      await Promise.all(Array.from({ length: copies }, () => ingest.ingest(environment, bulk)));
      expect(await storedState(environment)).toEqual(clean);
    }
  });
});
