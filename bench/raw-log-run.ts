/**
 * One measured raw event log run, in its own process (its peak RSS is the run's own), started by
 * bench/raw-log-bench.ts with a RawLogRunSpec as JSON in argv[2]; answers a RawLogRunResult over IPC.
 *
 *   write   N synthetic records into the local log (BufferedRawEventLog into s3rver), in bulks of
 *           1,000 as ingest appends them, then close(): items/s of the whole, gzip and PutObject included
 *   read    every record of the environment back through S3RawEventReader, each one touched
 *   duckdb  the same objects with DuckDB's read_json, every top-level field touched
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { BufferedRawEventLog } from '../lambdas/adapters/local/buffered-raw-event-log';
import { S3RawEventReader } from '../lambdas/adapters/s3/raw-event-reader';
import { encodeRawRecord, type RawRecord } from '../lambdas/core/raw-log';
import { benchClients } from './clients';
import { finishChild } from './processes';

export interface RawLogRunSpec {
  mode: 'write' | 'read' | 'duckdb';
  s3Endpoint: string;
  bucket: string;
  environmentId: string;
  records: number;
  /** Receive time of the first record; the records spread over `spanHours`. */
  startAt: number;
  spanHours: number;
  /** duckdb: the glob of the objects' files in s3rver's directory, and its threads. */
  glob?: string;
  threads?: number;
}

export interface RawLogRunResult {
  mode: RawLogRunSpec['mode'];
  records: number;
  seconds: number;
  /** JSON bytes (uncompressed) written or read. */
  jsonBytes: number;
  maxRssKb: number;
  /** write: objects written; duckdb: its version and threads. */
  objects?: number;
  duckdb?: { version: string; threads: number };
}

const BULK = 1_000;
const EVENTS = ['report_run', 'dashboard_viewed', 'export_started', 'alert_created', 'login', 'comment_added'];

/** A deterministic synthetic tracking item, as the SDKs send them (~330 bytes of JSON). */
function syntheticRecord(spec: RawLogRunSpec, index: number): RawRecord {
  const receivedAt = spec.startAt + Math.floor((index * spec.spanHours * 3_600_000) / spec.records);
  const user = (index * 7919) % 50_000;
  return {
    id: `bench${index.toString(36).padStart(8, '0')}xxxxxxxxx`,
    environmentId: spec.environmentId,
    receivedAt,
    type: 'event',
    userId: `user-${user}`,
    companyId: `company-${user % 2_500}`,
    event: EVENTS[index % EVENTS.length],
    timestamp: receivedAt - (index % 5_000),
    attributes: {
      rows: index % 10_000,
      format: index % 3 === 0 ? 'csv' : 'xlsx',
      durationMs: (index * 37) % 60_000,
      plan: 'enterprise',
      beta: index % 2 === 0,
    },
    context: { active: true, ip: `10.0.${(index >> 8) & 255}.${index & 255}`, userAgent: 'bucket-node-sdk/1.10.0' },
  };
}

async function write(spec: RawLogRunSpec): Promise<RawLogRunResult> {
  const clients = benchClients({ s3Endpoint: spec.s3Endpoint });
  let objects = 0;
  clients.s3.middlewareStack.add((next) => (args) => (objects++, next(args)), {
    step: 'initialize',
    name: 'countObjects',
  });
  const log = new BufferedRawEventLog({ client: clients.s3, bucket: spec.bucket });
  let jsonBytes = 0;
  const started = performance.now();
  for (let first = 0; first < spec.records; first += BULK) {
    const bulk = Array.from({ length: Math.min(BULK, spec.records - first) }, (_, i) =>
      syntheticRecord(spec, first + i),
    );
    for (const record of bulk) jsonBytes += Buffer.byteLength(encodeRawRecord(record));
    await log.append(bulk);
  }
  await log.close();
  const seconds = (performance.now() - started) / 1000;
  clients.destroy();
  return {
    mode: 'write',
    records: spec.records,
    seconds,
    jsonBytes,
    objects,
    maxRssKb: process.resourceUsage().maxRSS,
  };
}

async function read(spec: RawLogRunSpec): Promise<RawLogRunResult> {
  const clients = benchClients({ s3Endpoint: spec.s3Endpoint });
  const reader = new S3RawEventReader({ client: clients.s3, bucket: spec.bucket });
  const window = { from: spec.startAt, to: spec.startAt + spec.spanHours * 3_600_000 };
  let records = 0;
  let touched = 0;
  const started = performance.now();
  for await (const batch of reader.readBatches(spec.environmentId, window)) {
    for (const record of batch) {
      records++;
      // Every field read, as a consumer would.
      touched +=
        record.receivedAt +
        (record.userId?.length ?? 0) +
        (record.event?.length ?? 0) +
        (record.attributes ? 1 : 0) +
        (record.context ? 1 : 0);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  clients.destroy();
  if (touched === 0) throw new Error('Nothing was read.');
  return { mode: 'read', records, seconds, jsonBytes: 0, maxRssKb: process.resourceUsage().maxRSS };
}

async function duckdb(spec: RawLogRunSpec): Promise<RawLogRunResult> {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(spec.threads ?? 1) });
  const connection = await instance.connect();
  const version = String((await connection.runAndReadAll('SELECT version()')).getRows()[0][0]);
  const threads = Number((await connection.runAndReadAll("SELECT current_setting('threads')")).getRows()[0][0]);
  const started = performance.now();
  const reader = await connection.runAndReadAll(
    `SELECT count(*), sum(receivedAt), count(userId), count(event), count(attributes), count(context)
     FROM read_json('${spec.glob!.replace(/'/g, "''")}', format = 'newline_delimited', compression = 'gzip')`,
  );
  const seconds = (performance.now() - started) / 1000;
  const records = Number(reader.getRows()[0][0]);
  connection.closeSync();
  instance.closeSync();
  return {
    mode: 'duckdb',
    records,
    seconds,
    jsonBytes: 0,
    maxRssKb: process.resourceUsage().maxRSS,
    duckdb: { version, threads },
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as RawLogRunSpec;
  const run = { write, read, duckdb }[spec.mode];
  finishChild(await run(spec));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
