/**
 * PROTOTYPE (not used by the service): a compact item format for the usage history, as DESIGN.md
 * suggests ("a bitmap of active days"): each day history (company `seen`, feature `used`) is one
 * Binary attribute of 8 bytes per active day (uint32 epoch day, uint32 ms of that day's latest
 * timestamp, little endian) instead of a Map with one Number attribute per day.
 *
 * Measured here for the export's read side only: loaded in a separate environment
 * (`<environmentId>-compact`), read with read-ahead and direct decoding (direct-store.ts).
 * What it would take on the write side is in the benchmark's report: a per-day conditional
 * `SET used.#day` no longer works on a blob, so ingest would write recent days to a small map and a
 * compaction (conditional read-modify-write) would fold them into the blob.
 */
import { DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DAY_MS, type CompanyRecord, type CompanyUsage, type DayLastSeen, type FeatureUsageRecord } from '../../lambdas/core/model';
import type { StreamedCompanyUsage } from '../../lambdas/ports';
import { attributesOf, companiesQuery, feedbackOf, groupCompanies, readAheadPages } from './direct-store';

type RawItem = Record<string, AttributeValue>;
const sortKey = (companyId: string) => 'C#' + Buffer.from(companyId, 'utf8').toString('hex');

export function packDays(days: DayLastSeen): Uint8Array {
  const sorted = [...days].sort(([a], [b]) => a - b);
  const bytes = Buffer.alloc(sorted.length * 8);
  sorted.forEach(([day, ms], i) => {
    bytes.writeUInt32LE(day, i * 8);
    bytes.writeUInt32LE(ms - day * DAY_MS, i * 8 + 4);
  });
  return bytes;
}

export function unpackDays(bytes: Uint8Array | undefined): Map<number, number> {
  const days = new Map<number, number>();
  if (!bytes) return days;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = 0; offset + 8 <= bytes.byteLength; offset += 8) {
    const day = view.getUint32(offset, true);
    days.set(day, day * DAY_MS + view.getUint32(offset + 4, true));
  }
  return days;
}

/** putCompanyUsage in the compact format (BatchWriteItem, 25 items a request, unprocessed items resent). */
export async function putCompactCompanyUsage(
  client: DynamoDBDocumentClient,
  tableName: string,
  environmentId: string,
  { company, usage }: CompanyUsage,
): Promise<void> {
  const pk = `ENV#${environmentId}`;
  const attrs = company.name === null ? { ...company.attributes } : { ...company.attributes, name: company.name };
  const items: Record<string, unknown>[] = [
    { pk, sk: sortKey(company.companyId), companyId: company.companyId, firstSeen: company.firstSeen, seenDays: packDays(company.seenDays), attrs },
    ...usage.map((record) => ({
      pk,
      sk: `${sortKey(company.companyId)}#U#${record.eventKey}`,
      eventKey: record.eventKey,
      ...(record.firstUsed === null ? {} : { firstUsed: record.firstUsed }),
      usedDays: packDays(record.usedDays),
      feedback: record.feedback.map((entry) => ({ at: entry.at, score: entry.score })),
    })),
  ];
  for (let start = 0; start < items.length; start += 25) {
    let requests = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt >= 8) throw new Error('Unprocessed items remain after 8 attempts.');
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      const { UnprocessedItems } = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
      requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
    }
  }
}

function toCompanyRecord(item: RawItem): CompanyRecord {
  const attributes = attributesOf(item.attrs);
  const name = attributes.name;
  return {
    companyId: item.companyId.S!,
    name: name === undefined || name === null ? null : String(name),
    attributes,
    firstSeen: Number(item.firstSeen.N),
    seenDays: unpackDays(item.seenDays?.B),
  };
}

function toFeatureUsageRecord(item: RawItem): FeatureUsageRecord {
  return {
    eventKey: item.eventKey.S!,
    firstUsed: item.firstUsed?.N === undefined ? null : Number(item.firstUsed.N),
    usedDays: unpackDays(item.usedDays?.B),
    feedback: feedbackOf(item.feedback),
  };
}

export function compactCompanyUsage(client: DynamoDBClient, tableName: string, environmentId: string): AsyncGenerator<StreamedCompanyUsage> {
  return groupCompanies(readAheadPages(client, companiesQuery(tableName, environmentId)), toCompanyRecord, toFeatureUsageRecord);
}
