/**
 * The destination and export-job stores on dynalite: the shared contract (the fakes pass the same
 * cases), with real concurrency for the version-conditional writes, and the listing past a page of
 * DynamoDB results.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbDestinationStore, DynamoDbExportJobStore } from '../../lambdas/adapters/dynamodb/export-job-stores';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import { pageOfJobs } from '../../lambdas/core/export-jobs';
import {
  destinationStoreContract,
  exportJobStoreContract,
  failingJobsStoreContract,
  jobOf,
} from '../support/export-job-store-contracts';

const TABLES = { configTable: 'config', usageTable: 'usage' };

let emulators: RunningEmulators;
let clients: EmulatorClients;
const options = () => ({ client: clients.documentClient, tableName: TABLES.configTable });

beforeAll(async () => {
  emulators = await startEmulators();
  clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, TABLES);
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

describe('DynamoDbDestinationStore (contract)', () =>
  destinationStoreContract(() => new DynamoDbDestinationStore(options())));
describe('DynamoDbExportJobStore (contract)', () =>
  exportJobStoreContract(() => new DynamoDbExportJobStore(options())));
describe('DynamoDbExportJobStore failure sequences (contract)', () =>
  failingJobsStoreContract(() => new DynamoDbExportJobStore(options())));

describe('DynamoDbExportJobStore listing', () => {
  test('65 jobs with large items come back whole, filtered and paged by the core through every page', async () => {
    const store = new DynamoDbExportJobStore(options());
    const env = 'env_listing';
    // ~20 KB each: the query needs more than one DynamoDB page (1 MB).
    const events = Array.from({ length: 80 }, (_, i) => `event_${i}_${'x'.repeat(240)}`);
    await Promise.all(
      Array.from({ length: 65 }, (_, i) =>
        store.create(
          jobOf(env, `job_${String(i).padStart(3, '0')}`, 1, {
            createdAt: 1_000 + i,
            type: 'selectedEvents',
            events,
            format: i % 2 === 0 ? 'parquet' : 'json',
          }),
        ),
      ),
    );
    const jobs = await store.list(env);
    expect(jobs).toHaveLength(65);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = pageOfJobs(jobs, { format: 'parquet', pageSize: 10, cursor });
      seen.push(...page.items.map((job) => job.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 33 }, (_, i) => `job_${String(64 - 2 * i).padStart(3, '0')}`));
  });
});

describe('DynamoDbExportJobStore run history', () => {
  test("a run's item carries the table's TTL attribute: it expires 400 days after the run started", async () => {
    const store = new DynamoDbExportJobStore(options());
    const env = 'env_run_ttl';
    const startedAt = Date.parse('2026-11-20T06:00:00.750Z');
    await store.create(jobOf(env, 'job_a'));
    await store.recordRun(env, 'job_a', {
      runId: '20261120060000',
      window: { from: startedAt - 3_600_000, to: startedAt },
      status: 'successful',
      startedAt,
      finishedAt: startedAt + 1000,
      files: [],
    });
    const { Item } = await clients.documentClient.send(
      new GetCommand({ TableName: TABLES.configTable, Key: { pk: `ENV#${env}`, sk: 'JOBRUN#job_a#20261120060000' } }),
    );
    expect(Item?.expiresAt).toBe(Date.parse('2026-11-20T06:00:00Z') / 1000 + 400 * 24 * 3600);
  });
});
