/** The raw export store on dynalite: the shared contract, with real concurrency for the lease and the mark. */
import { DynamoDbRawExportStore } from '../../lambdas/adapters/dynamodb/raw-export-store';
import { createEmulatorClients, ensureTables, startEmulators, type EmulatorClients, type RunningEmulators } from '../../lambdas/local/emulators';
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
  rawExportStoreContract(() => new DynamoDbRawExportStore({ client: clients.documentClient, tableName: TABLES.configTable })));
