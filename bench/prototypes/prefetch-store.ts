/**
 * PROTOTYPE (not used by the service): DynamoDbUsageStore.streamCompanyUsage with read-ahead.
 *
 * The adapter's paginateQuery asks for page n+1 only once the export has consumed every company of
 * page n, so the store's time and the export's CPU time add up. Here the request for the next page
 * is sent as soon as a page arrives (its LastEvaluatedKey is all it needs), so the store works on
 * page n+1 while the export turns page n into rows: on DynamoDB the network round trip, on dynalite
 * the emulator's own CPU (another process, hence another core), overlap with the export's work.
 * At most one page (<= 1 MB) is held ahead, so memory stays flat.
 *
 * Grouping and item decoding are copied from lambdas/adapters/dynamodb/usage-store.ts unchanged.
 */
import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { AttributeValue, CompanyRecord, FeatureUsageRecord } from '../../lambdas/core/model';
import type { StreamedCompanyUsage } from '../../lambdas/ports';

type Item = Record<string, unknown>;
const COMPANY_PREFIX = 'C#';
const USAGE_INFIX = '#U#';

export async function* prefetchingCompanyUsage(
  client: DynamoDBDocumentClient,
  tableName: string,
  environmentId: string,
): AsyncGenerator<StreamedCompanyUsage> {
  const input: QueryCommandInput = {
    TableName: tableName,
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
    ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
    ExpressionAttributeValues: { ':pk': `ENV#${environmentId}`, ':prefix': COMPANY_PREFIX },
  };
  const trace = process.env.BENCH_TRACE_PAGES === '1';
  const t0 = performance.now();
  const ms = () => (performance.now() - t0).toFixed(0);
  const send = (pageInput: QueryCommandInput): Promise<QueryCommandOutput> => {
    if (!trace) return client.send(new QueryCommand(pageInput));
    const sentAt = ms();
    return client.send(new QueryCommand(pageInput)).then((page) => {
      process.stderr.write(`page: sent ${sentAt} ms, parsed ${ms()} ms, ${page.Items?.length} items\n`);
      return page;
    });
  };
  let next: Promise<QueryCommandOutput> | undefined = send(input);
  let current: { sk: string; company: CompanyRecord; usage: FeatureUsageRecord[]; itemsRead: number } | undefined;
  try {
    while (next) {
      const page: QueryCommandOutput = await next;
      // Read-ahead: the next page is on its way while this one is turned into rows.
      next = page.LastEvaluatedKey
        ? send({ ...input, ExclusiveStartKey: page.LastEvaluatedKey })
        : undefined;
      if (trace) process.stderr.write(`page: consumer took it at ${ms()} ms\n`);
      for (const item of page.Items ?? []) {
        const sk = item.sk as string;
        const infix = sk.indexOf(USAGE_INFIX, COMPANY_PREFIX.length);
        if (infix === -1) {
          if (current) yield { company: current.company, usage: current.usage, itemsRead: current.itemsRead };
          current = { sk, company: toCompanyRecord(item), usage: [], itemsRead: 1 };
        } else if (current?.sk === sk.slice(0, infix)) {
          current.usage.push(toFeatureUsageRecord(item));
          current.itemsRead++;
        }
      }
    }
    if (current) yield { company: current.company, usage: current.usage, itemsRead: current.itemsRead };
  } finally {
    // The consumer stopped early (or failed): nobody will await the page read ahead.
    next?.catch(() => undefined);
  }
}

function toCompanyRecord(item: Item): CompanyRecord {
  const attributes = (item.attrs ?? {}) as Record<string, AttributeValue>;
  const name = attributes.name;
  return {
    companyId: item.companyId as string,
    name: name === undefined || name === null ? null : String(name),
    attributes,
    firstSeen: item.firstSeen as number,
    seenDays: toDayMap(item.seen),
  };
}

function toFeatureUsageRecord(item: Item): FeatureUsageRecord {
  const feedback = (item.feedback ?? []) as { at: number; score?: number | null }[];
  return {
    eventKey: item.eventKey as string,
    firstUsed: typeof item.firstUsed === 'number' ? item.firstUsed : null,
    usedDays: toDayMap(item.used),
    feedback: feedback.map((entry) => ({ at: entry.at, score: entry.score ?? null })),
  };
}

function toDayMap(stored: unknown): Map<number, number> {
  return new Map(
    Object.entries((stored ?? {}) as Record<string, number>)
      .map(([day, ms]): [number, number] => [Number(day), ms])
      .sort(([a], [b]) => a - b),
  );
}
