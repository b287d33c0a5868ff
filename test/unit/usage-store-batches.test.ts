/**
 * The usage store's batch writes when DynamoDB leaves part of a batch unprocessed (throttling), which
 * no emulator does: the client is stubbed (aws-sdk-client-mock) to answer with unprocessed items. What
 * is left is sent again with backoff until written, and after BATCH_ATTEMPTS the write fails loudly
 * rather than losing items. The stores' behaviour otherwise is tested on dynalite.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbUsageStore } from '../../lambdas/adapters/dynamodb/usage-store';
import type { CompanyUsage } from '../../lambdas/core/model';

const TABLE = 'usage';
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const dynamodb = mockClient(client);
const store = new DynamoDbUsageStore({ client, tableName: TABLE });

const company: CompanyUsage = {
  company: { companyId: 'acme', name: null, attributes: {}, firstSeen: 0, seenDays: new Map() },
  usage: ['search', 'export', 'share'].map((eventKey) => ({
    eventKey,
    firstUsed: null,
    usedDays: new Map(),
    feedback: [],
  })),
};

type PutRequests = { PutRequest: { Item: Record<string, unknown> } }[];
const sentBatches = () =>
  dynamodb.commandCalls(BatchWriteCommand).map((call) => call.args[0].input.RequestItems![TABLE] as PutRequests);

beforeEach(() => dynamodb.reset());
afterEach(() => jest.useRealTimers());

it('sends the unprocessed items again, and only those, until none is left', async () => {
  dynamodb
    .on(BatchWriteCommand)
    .callsFakeOnce((input: { RequestItems: Record<string, PutRequests> }) => ({
      UnprocessedItems: { [TABLE]: input.RequestItems[TABLE].slice(2) },
    }))
    .resolves({});
  await store.putCompanyUsage('env1', company);
  const [first, second, ...more] = sentBatches();
  expect(first).toHaveLength(4); // the company and its three usage items
  expect(second).toEqual(first.slice(2));
  expect(more).toEqual([]);
});

it('fails after 8 attempts that each left items unprocessed, waiting longer each time', async () => {
  jest.useFakeTimers();
  dynamodb.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, PutRequests> }) => ({
    UnprocessedItems: { [TABLE]: input.RequestItems[TABLE].slice(-3) },
  }));
  const written = store.putCompanyUsage('env1', company);
  const outcome = written.then(
    () => undefined,
    (error: unknown) => error,
  );
  // The pauses between attempts: 100, 200, 400, 800, 1600, then 2000 ms at most.
  await jest.advanceTimersByTimeAsync(100 + 200 + 400 + 800 + 1600 + 2000 - 1);
  expect(sentBatches()).toHaveLength(6);
  await jest.advanceTimersByTimeAsync(1);
  expect(sentBatches()).toHaveLength(7);
  await jest.advanceTimersByTimeAsync(2000);
  expect(await outcome).toEqual(new Error('DynamoDB left 3 items unprocessed after 8 attempts.'));
  expect(sentBatches().map((batch) => batch.length)).toEqual([4, 3, 3, 3, 3, 3, 3, 3]);
});
