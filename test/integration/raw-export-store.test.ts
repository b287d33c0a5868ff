/** The raw export store on dynalite: the shared contract, with real concurrency for the lease and the mark. */
import { DynamoDbFailingExportsStore } from '../../lambdas/adapters/dynamodb/automatic-export-stores';
import { DynamoDbRawExportStore, rawExportFailingStore } from '../../lambdas/adapters/dynamodb/raw-export-store';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import { rawExportStoreContract } from '../support/raw-export-store-contract';

const TABLES = { configTable: 'config', usageTable: 'usage' };

let emulators: RunningEmulators;
let clients: EmulatorClients;

beforeAll(async () => {
  emulators = await startEmulators();
  clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, TABLES);
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

describe('DynamoDbRawExportStore (contract)', () =>
  rawExportStoreContract(
    () => new DynamoDbRawExportStore({ client: clients.documentClient, tableName: TABLES.configTable }),
  ));

describe('the raw exports in the failing index', () => {
  test("listed apart from the automatic exports' sequences; each email claimed once by concurrent checks; a success ends it", async () => {
    const options = { client: clients.documentClient, tableName: TABLES.configTable };
    const store = new DynamoDbRawExportStore(options);
    const failing = rawExportFailingStore(options);
    const env = 'env_rawfailing';
    await store.claimRun(env, { claimId: 'a', at: 1_000, until: 2_000 });
    await store.finishRun(env, 'a', {
      status: 'failed',
      startedAt: 1_000,
      finishedAt: 1_500,
      error: 'Access denied.',
      errorCode: 'access_denied',
      failureClass: 'customer',
    });
    const listed = [];
    for await (const status of failing.listFailing()) listed.push(status);
    expect(listed).toEqual([
      expect.objectContaining({ environmentId: env, failingSince: 1_500, failingErrorCode: 'access_denied' }),
    ]);
    const automatic = [];
    for await (const status of new DynamoDbFailingExportsStore(options).listFailing()) automatic.push(status);
    expect(automatic).toEqual([]);
    const claims = await Promise.all(Array.from({ length: 6 }, () => failing.claimEmail(env, 1_500, 1)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect((await store.getProgress(env))?.emailsSent).toEqual([1]);
    // Claimed out of order (a later check's email first): listed in number order.
    expect(await failing.claimEmail(env, 1_500, 3)).toBe(true);
    expect(await failing.claimEmail(env, 1_500, 2)).toBe(true);
    expect((await store.getProgress(env))?.emailsSent).toEqual([1, 2, 3]);
    await store.claimRun(env, { claimId: 'b', at: 3_000, until: 4_000 });
    await store.finishRun(env, 'b', { status: 'successful', startedAt: 3_000, totalRevisions: 0 });
    const after = [];
    for await (const status of failing.listFailing()) after.push(status);
    expect(after).toEqual([]);
  });
});
