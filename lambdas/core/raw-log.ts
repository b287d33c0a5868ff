/**
 * The raw event log: every accepted ingest item, appended per environment as one JSON line, kept in
 * gzip objects under `raw/<envId>/<yyyy>/<mm>/<dd>/<hh>/<name>.jsonl.gz` by receive time (UTC).
 * This module is the log's format: records, their encoding, object keys and names, receive windows.
 * The log is at-least-once: a client's retry may append a record again (with the same `id`).
 */
import { HOUR_MS } from './model';

export const RAW_RECORD_TYPES = ['event', 'user', 'company', 'feedback', 'alias'] as const;
export type RawRecordType = (typeof RAW_RECORD_TYPES)[number];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One accepted ingest item. Times are epoch milliseconds; absent fields are left out of the line. */
export interface RawRecord {
  /** The item's identity: a retried request repeats it, so readers can drop duplicates. */
  id: string;
  /** The environment the item belongs to (also the log's partition on AWS). */
  environmentId: string;
  /** When the service accepted the item: the log's order and the windows readers ask for. */
  receivedAt: number;
  type: RawRecordType;
  userId?: string;
  companyId?: string;
  /** The event name (`event`); for `feedback`, the feature key. */
  event?: string;
  /** When the item happened, as the client said (its receive time when the client said nothing). */
  timestamp?: number;
  /** Event properties, user or company attributes, feedback fields (score, comment, ...), as sent. */
  attributes?: Record<string, JsonValue>;
  /** The client's context object, as sent. */
  context?: JsonValue;
  /** `alias`: the other identity of `userId`. */
  alias?: string;
}

/** The fields of a line, in the order they are written. */
const FIELDS = [
  'id',
  'environmentId',
  'receivedAt',
  'type',
  'userId',
  'companyId',
  'event',
  'timestamp',
  'attributes',
  'context',
  'alias',
] as const;

export class RawRecordFormatError extends Error {
  override readonly name = 'RawRecordFormatError';
}

/** The log could not take the records now (Firehose throttled or failed some): the client retries later. */
export class RawLogUnavailableError extends Error {
  override readonly name = 'RawLogUnavailableError';
}

/** One JSON line, newline included, with the fields in a fixed order and absent ones left out. */
export function encodeRawRecord(record: RawRecord): string {
  const ordered: Record<string, unknown> = {};
  for (const field of FIELDS) {
    if (record[field] !== undefined) ordered[field] = record[field];
  }
  return JSON.stringify(ordered) + '\n';
}

const isText = (value: unknown): value is string => typeof value === 'string';
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isObject = (value: unknown): value is Record<string, JsonValue> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks a parsed line is a record: the required fields and the types of the optional ones. Cheap on
 * purpose (no schema library): readers check every record of millions.
 */
export function asRawRecord(value: unknown): RawRecord {
  if (!isObject(value)) throw new RawRecordFormatError('A raw record must be a JSON object.');
  const record = value as Partial<Record<keyof RawRecord, unknown>>;
  const wrong =
    (!isText(record.id) && 'id') ||
    (!isText(record.environmentId) && 'environmentId') ||
    (!isTime(record.receivedAt) && 'receivedAt') ||
    (!(RAW_RECORD_TYPES as readonly unknown[]).includes(record.type) && 'type') ||
    (record.userId !== undefined && !isText(record.userId) && 'userId') ||
    (record.companyId !== undefined && !isText(record.companyId) && 'companyId') ||
    (record.event !== undefined && !isText(record.event) && 'event') ||
    (record.timestamp !== undefined && !isTime(record.timestamp) && 'timestamp') ||
    (record.attributes !== undefined && !isObject(record.attributes) && 'attributes') ||
    (record.alias !== undefined && !isText(record.alias) && 'alias');
  if (wrong) throw new RawRecordFormatError(`A raw record has a missing or invalid "${wrong}".`);
  return record as RawRecord;
}

export function decodeRawRecord(line: string): RawRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new RawRecordFormatError('A raw record line is not JSON.', { cause: error });
  }
  return asRawRecord(parsed);
}

/** Receive times from `from` (included) to `to` (excluded), epoch ms. */
export interface ReceiveWindow {
  from: number;
  to: number;
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** `yyyy/mm/dd/hh` of the UTC hour holding `at`. */
export function hourPath(at: number): string {
  const date = new Date(at);
  return `${date.getUTCFullYear()}/${pad(date.getUTCMonth() + 1)}/${pad(date.getUTCDate())}/${pad(date.getUTCHours())}`;
}

export const RAW_PREFIX = 'raw/';

/** `raw/<envId>/<yyyy>/<mm>/<dd>/<hh>/`: the objects of records received in that hour. */
export function hourPrefix(environmentId: string, at: number): string {
  return `${RAW_PREFIX}${environmentId}/${hourPath(at)}/`;
}

/** The hour prefixes of a window, in time order: one per UTC hour it touches. */
export function hourPrefixes(environmentId: string, window: ReceiveWindow): string[] {
  const prefixes: string[] = [];
  if (window.to <= window.from) return prefixes;
  for (let hour = Math.floor(window.from / HOUR_MS) * HOUR_MS; hour < window.to; hour += HOUR_MS) {
    prefixes.push(hourPrefix(environmentId, hour));
  }
  return prefixes;
}

export const inWindow = (window: ReceiveWindow, at: number): boolean => at >= window.from && at < window.to;

export const RAW_OBJECT_EXTENSION = '.jsonl.gz';

/**
 * An object's name as Amazon Data Firehose writes it with dynamic partitioning:
 * `<stream>-<version>-<yyyy>-<mm>-<dd>-<hh>-<mm>-<ss>-<uuid>.jsonl.gz`, the time being that of the
 * object's oldest record. Within an hour's prefix the stream and version are the same, and the
 * zero-padded time sorts as text: names sort in receive order, the uuid breaking ties of one second
 * (the local log uses time-ordered uuids so that ties sort too).
 */
export function rawObjectName(stream: string, version: number, oldestReceivedAt: number, uuid: string): string {
  const date = new Date(oldestReceivedAt);
  const time = [
    date.getUTCFullYear(),
    pad(date.getUTCMonth() + 1),
    pad(date.getUTCDate()),
    pad(date.getUTCHours()),
    pad(date.getUTCMinutes()),
    pad(date.getUTCSeconds()),
  ].join('-');
  return `${stream}-${version}-${time}-${uuid}${RAW_OBJECT_EXTENSION}`;
}

/** The environment's part of the log: `raw/<envId>/`, under which keys sort in receive order. */
export const environmentPrefix = (environmentId: string): string => `${RAW_PREFIX}${environmentId}/`;

export class RawObjectKeyError extends Error {
  override readonly name = 'RawObjectKeyError';
}

/** The start (epoch ms) of the UTC receive hour of an object, from its key `raw/<envId>/<yyyy>/<mm>/<dd>/<hh>/<name>`. */
export function objectHour(key: string): number {
  const match = /^raw\/[^/]+\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/[^/]+$/.exec(key);
  if (!match) throw new RawObjectKeyError(`Not a raw event log object key: ${key}`);
  const [, year, month, day, hour] = match;
  return Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour));
}
