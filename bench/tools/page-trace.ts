/**
 * Traces the usage-store Query page by page against a running dynalite: request sent, response
 * parsed, items, with an optional synthetic consumer cost per item (busy wait), with and without
 * read-ahead. `tsx bench/tools/page-trace.ts <endpoint> <environmentId> <consumerMicrosPerItem> <prefetch 0|1>`
 */
import { QueryCommand, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { createEmulatorClients } from '../../lambdas/local/emulators';
import { USAGE_TABLE } from '../tenant';

async function main(): Promise<void> {
  const [endpoint, environmentId, perItem = '0', prefetch = '0'] = process.argv.slice(2);
  const clients = createEmulatorClients({ dynamodbEndpoint: endpoint, s3Endpoint: endpoint, sesEndpoint: endpoint });
  const input: QueryCommandInput = {
    TableName: USAGE_TABLE,
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
    ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
    ExpressionAttributeValues: { ':pk': `ENV#${environmentId}`, ':prefix': 'C#' },
  };
  const t0 = performance.now();
  const send = (key?: Record<string, unknown>) => {
    const sentAt = performance.now() - t0;
    return clients.documentClient
      .send(new QueryCommand({ ...input, ...(key ? { ExclusiveStartKey: key } : {}) }))
      .then((page): [QueryCommandOutput, number, number] => [page, sentAt, performance.now() - t0]);
  };
  let next: ReturnType<typeof send> | undefined = send();
  let pages = 0;
  let items = 0;
  let waited = 0;
  const spin = (micros: number) => {
    const until = performance.now() + micros / 1000;
    while (performance.now() < until);
  };
  while (next) {
    const waitStart = performance.now();
    const [page, sentAt, doneAt] = await next;
    waited += performance.now() - waitStart;
    const lastKey = page.LastEvaluatedKey;
    next = undefined;
    if (prefetch === '1' && lastKey) next = send(lastKey);
    pages++;
    items += page.Items?.length ?? 0;
    if (pages <= 5 || pages % 50 === 0) {
      console.log(`page ${pages}: ${page.Items?.length} items, sent ${sentAt.toFixed(0)} ms, parsed ${doneAt.toFixed(0)} ms (${(doneAt - sentAt).toFixed(0)} ms)`);
    }
    // The consumer: per item, yielding to the event loop between items like an async generator does.
    for (let i = 0; i < (page.Items?.length ?? 0); i++) {
      spin(Number(perItem));
      await Promise.resolve();
    }
    if (prefetch !== '1' && lastKey) next = send(lastKey);
  }
  const total = performance.now() - t0;
  console.log(`${pages} pages, ${items} items in ${(total / 1000).toFixed(2)} s; waited for pages ${(waited / 1000).toFixed(2)} s`);
  clients.destroy();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
