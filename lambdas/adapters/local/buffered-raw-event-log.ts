/**
 * The raw event log of local mode: what Firehose does on AWS, in-process. Records are buffered per
 * environment and receive hour, and each buffer becomes one gzip JSON-lines object in the local S3,
 * under the same keys and names as Firehose writes (`raw/<envId>/<yyyy>/<mm>/<dd>/<hh>/<name>`). A
 * buffer is written when it reaches its size, at the latest one flush interval after its first
 * record, and on close (Ctrl-C). Each object is one PutObject: visible only when complete.
 *
 * Objects of one environment and hour are written one after the other, in the order their records
 * came, and named by their first record's receive time plus a time-ordered uuid: names sort in
 * receive order. A failed write is tried again (later records of that hour wait behind it), so a
 * record accepted with a 200 is never dropped while the process lives.
 */
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { logger } from '../../core/log';
import { HOUR_MS } from '../../core/model';
import { encodeRawRecord, hourPrefix, rawObjectName, type RawRecord } from '../../core/raw-log';
import type { RawEventLog } from '../../ports';

const compress = promisify(gzip);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The local log's stand-in for Firehose's stream name and version in object names. */
export const LOCAL_RAW_STREAM = 'local-raw-events';
const LOCAL_RAW_STREAM_VERSION = 1;

let lastUuidMs = 0;
let uuidSequence = 0;

/**
 * A UUID version 7: its first 48 bits are the time in ms and the next 12 a sequence within the
 * millisecond, so uuids made one after the other in this process sort as text in the order made.
 */
export function timeOrderedUuid(now = Date.now()): string {
  if (now > lastUuidMs) {
    lastUuidMs = now;
    uuidSequence = 0;
  } else if (++uuidSequence > 0xfff) {
    lastUuidMs++;
    uuidSequence = 0;
  }
  const random = randomBytes(8);
  random[0] = (random[0] & 0x3f) | 0x80; // RFC 9562 variant
  const hex =
    lastUuidMs.toString(16).padStart(12, '0') +
    '7' +
    uuidSequence.toString(16).padStart(3, '0') +
    random.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export interface BufferedRawEventLogOptions {
  client: S3Client;
  bucket: string;
  /** Uncompressed bytes of one environment and hour that make an object. @default 8 MiB */
  maxObjectBytes?: number;
  /** The longest a record waits in a buffer, in ms. @default 5,000 */
  flushIntervalMs?: number;
}

interface PendingObject {
  environmentId: string;
  firstReceivedAt: number;
  lines: string[];
  bytes: number;
}

export class BufferedRawEventLog implements RawEventLog {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly maxObjectBytes: number;
  /** Per environment and hour: the records not yet cut into an object. */
  private readonly buffers = new Map<string, PendingObject>();
  /** Per environment and hour: the write of its latest object, which the next one waits for. */
  private readonly writes = new Map<string, Promise<void>>();
  /** Bytes cut into objects and not yet written: appends wait when too many are. */
  private unwrittenBytes = 0;
  private readonly timer: NodeJS.Timeout;
  private closing = false;

  constructor(options: BufferedRawEventLogOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.maxObjectBytes = options.maxObjectBytes ?? 8 * 1024 * 1024;
    this.timer = setInterval(() => this.cutAll(), options.flushIntervalMs ?? 5_000);
    this.timer.unref();
  }

  async append(records: readonly RawRecord[]): Promise<void> {
    for (const record of records) {
      const key = `${record.environmentId}\n${Math.floor(record.receivedAt / HOUR_MS)}`;
      let buffer = this.buffers.get(key);
      if (!buffer) {
        buffer = { environmentId: record.environmentId, firstReceivedAt: record.receivedAt, lines: [], bytes: 0 };
        this.buffers.set(key, buffer);
      }
      const line = encodeRawRecord(record);
      buffer.lines.push(line);
      buffer.bytes += line.length;
      if (buffer.bytes >= this.maxObjectBytes) this.cut(key);
    }
    // Back-pressure: a writer faster than the bucket waits instead of filling memory.
    if (this.unwrittenBytes > 4 * this.maxObjectBytes) await Promise.all(this.writes.values());
  }

  /** Writes every buffered record now and waits until all objects are written. */
  async flush(): Promise<void> {
    this.cutAll();
    await Promise.all(this.writes.values());
  }

  /** Stops the timer and writes everything buffered (local mode's shutdown). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.closing = true;
    await this.flush();
  }

  private cutAll(): void {
    for (const key of [...this.buffers.keys()]) this.cut(key);
  }

  private cut(key: string): void {
    const buffer = this.buffers.get(key)!;
    this.buffers.delete(key);
    // Named now, in the order objects are cut, so names follow the order of their records.
    const objectKey =
      hourPrefix(buffer.environmentId, buffer.firstReceivedAt) +
      rawObjectName(LOCAL_RAW_STREAM, LOCAL_RAW_STREAM_VERSION, buffer.firstReceivedAt, timeOrderedUuid());
    this.unwrittenBytes += buffer.bytes;
    const previous = this.writes.get(key) ?? Promise.resolve();
    // A write fails only on close, after its attempts; the next one is still tried.
    const write = previous.catch(() => undefined).then(() => this.write(objectKey, buffer));
    this.writes.set(key, write);
    write
      .finally(() => {
        this.unwrittenBytes -= buffer.bytes;
        if (this.writes.get(key) === write) this.writes.delete(key);
      })
      .catch(() => undefined); // reported to flush() and close(), which wait for it
  }

  private async write(objectKey: string, buffer: PendingObject): Promise<void> {
    const body = await compress(Buffer.from(buffer.lines.join(''), 'utf8'));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: body }));
        return;
      } catch (error) {
        logger.warn('Raw event log object not written yet; trying again', {
          objectKey,
          attempt,
          error: error as Error,
        });
        if (this.closing && attempt >= 5) throw error;
        await sleep(Math.min(5_000, 100 * 2 ** attempt));
      }
    }
  }
}
