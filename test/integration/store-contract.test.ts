/**
 * The DynamoDB stores of the config table keep their contract (test/support/store-contract.ts) on
 * dynalite: exactly-once claims, refusals when stale and the ordering of outcomes are conditional
 * writes, here raced by parallel requests.
 */
import {
  DynamoDbAutomaticExportSettingsStore,
  DynamoDbExportRunStore,
  DynamoDbFailingExportsStore,
} from '../../lambdas/adapters/dynamodb/automatic-export-stores';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbManualExportStore } from '../../lambdas/adapters/dynamodb/manual-export-store';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import { describeConfigStoreContract } from '../support/store-contract';

const TABLES = { configTable: 'config', usageTable: 'usage' };

let emulators: RunningEmulators;
let clients: EmulatorClients;

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

describe('the DynamoDB stores on dynalite', () => {
  describeConfigStoreContract(async () => {
    emulators = await startEmulators();
    clients = createEmulatorClients(emulators);
    await ensureTables(clients.dynamodb, TABLES);
    const options = { client: clients.documentClient, tableName: TABLES.configTable };
    return {
      settings: new DynamoDbAutomaticExportSettingsStore(options),
      runs: new DynamoDbExportRunStore(options),
      failing: new DynamoDbFailingExportsStore(options),
      manualJobs: new DynamoDbManualExportStore(options),
    };
  });
});

describe('the items the DynamoDB stores leave in the config table', () => {
  const DAY_SECONDS = 24 * 3600;
  const item = async (pk: string, sk: string) =>
    (await clients.documentClient.send(new GetCommand({ TableName: TABLES.configTable, Key: { pk, sk } }))).Item;
  const options = () => ({ client: clients.documentClient, tableName: TABLES.configTable });

  test('runs and manual jobs expire by the table TTL: runs after 400 days, jobs after 30', async () => {
    const snapshotAt = Date.parse('2026-03-02T00:00:00Z');
    await new DynamoDbExportRunStore(options()).claim({
      environmentId: 'env_ttl',
      snapshotAt,
      cadence: 'daily',
      status: 'running',
      startedAt: snapshotAt + 5,
      deadlineAt: snapshotAt + 5 + 15 * 60_000,
      claimId: 'claim_ttl',
      attempts: 1,
    });
    expect(await item('ENV#env_ttl', `RUN#${String(snapshotAt).padStart(13, '0')}`)).toMatchObject({
      expiresAt: snapshotAt / 1000 + 400 * DAY_SECONDS,
    });
    const requestedAt = snapshotAt + 1500;
    await new DynamoDbManualExportStore(options()).create({
      id: 'exp_ttl',
      environmentId: 'env_ttl',
      aggregation: 'snapshot',
      status: 'pending',
      requestedAt,
    });
    expect(await item('ENV#env_ttl', 'MANUAL#exp_ttl')).toMatchObject({
      expiresAt: Math.floor(requestedAt / 1000) + 30 * DAY_SECONDS,
    });
  });

  test('the status item is in the sparse failing index only while a failure sequence runs', async () => {
    const runs = new DynamoDbExportRunStore(options());
    const failed = {
      status: 'failed',
      finishedAt: 20,
      durationMs: 10,
      error: 'denied',
      errorCode: 'access_denied',
    } as const;
    await runs.recordOutcome('env_index', 10, { ...failed, failureClass: 'transient' });
    expect(await item('ENV#env_index', 'EXPORT#STATUS')).not.toHaveProperty('failingPk');
    await runs.recordOutcome('env_index', 11, { ...failed, failureClass: 'customer' });
    expect(await item('ENV#env_index', 'EXPORT#STATUS')).toMatchObject({ failingPk: 'FAILING', failingSince: 20 });
    await new DynamoDbFailingExportsStore(options()).endSequence('env_index', 20);
    expect(await item('ENV#env_index', 'EXPORT#STATUS')).not.toHaveProperty('failingPk');
  });
});
