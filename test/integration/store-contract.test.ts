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
import { DynamoDbManualExportStore } from '../../lambdas/adapters/dynamodb/manual-export-store';
import { createEmulatorClients, ensureTables, startEmulators, type EmulatorClients, type RunningEmulators } from '../../lambdas/local/emulators';
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
