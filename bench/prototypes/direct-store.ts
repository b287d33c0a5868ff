/**
 * PROTOTYPE (not used by the service): the usage-store stream with read-ahead (prefetch-store.ts) and
 * items decoded straight from DynamoDB's AttributeValues into the domain model.
 *
 * The adapter reads through lib-dynamodb's DocumentClient: the SDK turns the JSON response into
 * AttributeValue objects, lib-dynamodb unmarshalls them into plain objects (a `{N: "..."}` per day,
 * converted to a number), and toDayMap turns those objects into Maps again (Object.entries, Number,
 * sort). Here the low-level client's AttributeValues go directly into the Maps: one pass, no
 * intermediate objects, no sort (integer-like object keys already iterate in ascending order; the
 * adoption model checks the order anyway and sorts only when needed).
 */
import { DynamoDBClient, QueryCommand, type AttributeValue, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import type { AttributeValue as ModelValue, CompanyRecord, FeatureUsageRecord, FeedbackEntry } from '../../lambdas/core/model';
import type { StreamedCompanyUsage } from '../../lambdas/ports';

type RawItem = Record<string, AttributeValue>;
const COMPANY_PREFIX = 'C#';
const USAGE_INFIX = '#U#';

/** Pages of one Query, the next one requested as soon as the current one arrives. */
export async function* readAheadPages(client: DynamoDBClient, input: QueryCommandInput): AsyncGenerator<RawItem[]> {
  let next: Promise<QueryCommandOutput> | undefined = client.send(new QueryCommand(input));
  try {
    while (next) {
      const page: QueryCommandOutput = await next;
      next = page.LastEvaluatedKey ? client.send(new QueryCommand({ ...input, ExclusiveStartKey: page.LastEvaluatedKey })) : undefined;
      yield page.Items ?? [];
    }
  } finally {
    next?.catch(() => undefined);
  }
}

export function companiesQuery(tableName: string, environmentId: string): QueryCommandInput {
  return {
    TableName: tableName,
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
    ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
    ExpressionAttributeValues: { ':pk': { S: `ENV#${environmentId}` }, ':prefix': { S: COMPANY_PREFIX } },
  };
}

/** Groups the items of the company Query into companies, as the adapter does. */
export async function* groupCompanies(
  pages: AsyncIterable<RawItem[]>,
  toCompany: (item: RawItem) => CompanyRecord,
  toUsage: (item: RawItem) => FeatureUsageRecord,
): AsyncGenerator<StreamedCompanyUsage> {
  let current: { sk: string; company: CompanyRecord; usage: FeatureUsageRecord[]; itemsRead: number } | undefined;
  for await (const items of pages) {
    for (const item of items) {
      const sk = item.sk.S!;
      const infix = sk.indexOf(USAGE_INFIX, COMPANY_PREFIX.length);
      if (infix === -1) {
        if (current) yield { company: current.company, usage: current.usage, itemsRead: current.itemsRead };
        current = { sk, company: toCompany(item), usage: [], itemsRead: 1 };
      } else if (current?.sk === sk.slice(0, infix)) {
        current.usage.push(toUsage(item));
        current.itemsRead++;
      }
    }
  }
  if (current) yield { company: current.company, usage: current.usage, itemsRead: current.itemsRead };
}

export function directCompanyUsage(client: DynamoDBClient, tableName: string, environmentId: string): AsyncGenerator<StreamedCompanyUsage> {
  return groupCompanies(readAheadPages(client, companiesQuery(tableName, environmentId)), toCompanyRecord, toFeatureUsageRecord);
}

export function modelValue(value: AttributeValue | undefined): ModelValue {
  if (value === undefined || value.NULL) return null;
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  return null;
}

export function attributesOf(value: AttributeValue | undefined): Record<string, ModelValue> {
  const attributes: Record<string, ModelValue> = {};
  const map = value?.M;
  if (map) for (const key in map) attributes[key] = modelValue(map[key]);
  return attributes;
}

export function feedbackOf(value: AttributeValue | undefined): FeedbackEntry[] {
  return (value?.L ?? []).map((entry) => {
    const m = entry.M ?? {};
    const score = m.score?.N;
    return { at: Number(m.at?.N), score: score === undefined ? null : Number(score) };
  });
}

function dayMapOf(value: AttributeValue | undefined): Map<number, number> {
  const days = new Map<number, number>();
  const map = value?.M;
  if (map) for (const day in map) days.set(Number(day), Number(map[day].N));
  return days;
}

function toCompanyRecord(item: RawItem): CompanyRecord {
  const attributes = attributesOf(item.attrs);
  const name = attributes.name;
  return {
    companyId: item.companyId.S!,
    name: name === undefined || name === null ? null : String(name),
    attributes,
    firstSeen: Number(item.firstSeen.N),
    seenDays: dayMapOf(item.seen),
  };
}

function toFeatureUsageRecord(item: RawItem): FeatureUsageRecord {
  return {
    eventKey: item.eventKey.S!,
    firstUsed: item.firstUsed?.N === undefined ? null : Number(item.firstUsed.N),
    usedDays: dayMapOf(item.used),
    feedback: feedbackOf(item.feedback),
  };
}
