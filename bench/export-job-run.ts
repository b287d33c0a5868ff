/**
 * One measured export-job run, in its own process (its peak RSS is the run's own), started by
 * bench/export-job-bench.ts with an ExportJobRunBenchSpec as JSON in argv[2]; answers over IPC.
 *
 *   ours     runExportJob over the raw log objects (allEvents, the format, gzip) into LocalFileSink
 *   duckdb   DuckDB reading the same objects (read_json) and writing the same records with COPY ... TO
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalFileSink } from '../lambdas/adapters/local/file-sink';
import { runExportJob } from '../lambdas/core/export-job-run';
import { rawObjectRecords } from '../lambdas/adapters/s3/raw-object-records';
import { inWindow, type RawRecord } from '../lambdas/core/raw-log';
import type { RawEventReader } from '../lambdas/ports';
import type { FileFormatName } from '../lambdas/core/export/job-files';
import { finishChild } from './processes';

export interface ExportJobRunBenchSpec {
  mode: 'ours' | 'duckdb';
  format: FileFormatName;
  /** The directory holding `raw/<envId>/...` objects. */
  rawDir: string;
  environmentId: string;
  window: { from: number; to: number };
  outDir: string;
  threads?: number;
}

export interface ExportJobRunBenchResult {
  records: number;
  seconds: number;
  /** CPU time of the process (all its threads), less sensitive than `seconds` to a loaded machine. */
  cpuSeconds: number;
  /** Bytes of the files written (compressed). */
  bytes: number;
  files: number;
  maxRssKb: number;
}

/**
 * The raw log's objects read from a directory in key order (the receive order), decoded by the S3
 * reader's `rawObjectRecords`: what the S3 reader does over the bucket, without the emulator's HTTP in
 * the measurement.
 */
class DirectoryRawEventReader implements RawEventReader {
  constructor(private readonly rawDir: string) {}

  async *readBatches(environmentId: string, window: { from: number; to: number }): AsyncIterable<RawRecord[]> {
    const root = join(this.rawDir, 'raw', environmentId);
    const files = (await readdir(root, { recursive: true })).filter((name) => name.endsWith('.jsonl.gz')).sort();
    for (const file of files) {
      for await (const records of rawObjectRecords(createReadStream(join(root, file)))) {
        const inside = records.filter((record) => inWindow(window, record.receivedAt));
        if (inside.length > 0) yield inside;
      }
    }
  }
}

const cpuSecondsSince = (start: NodeJS.CpuUsage) => {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1e6;
};

async function ours(spec: ExportJobRunBenchSpec): Promise<ExportJobRunBenchResult> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const { files } = await runExportJob(
    {
      environmentId: spec.environmentId,
      organizationId: 'org-bench',
      jobId: `bench-${spec.format}`,
      type: 'allEvents',
      format: spec.format,
      compression: 'gzip',
      keyPrefix: '',
      window: { ...spec.window, by: 'receiveTime' },
      runScheduledAt: spec.window.to,
    },
    {
      rawEvents: new DirectoryRawEventReader(spec.rawDir),
      profiles: { listProfiles: () => none(), listProfilesChangedSince: () => none() },
      sink: new LocalFileSink({ directory: spec.outDir }),
    },
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    records: files.reduce((sum, file) => sum + file.records, 0),
    seconds,
    cpuSeconds: cpuSecondsSince(cpu),
    bytes: files.reduce((sum, file) => sum + file.bytes, 0),
    files: files.length,
    maxRssKb: process.resourceUsage().maxRSS,
  };
}

async function* none(): AsyncIterable<never> {}

/** DuckDB's COPY of the same records (events: name, time, user, properties) to the same format, gzip. */
async function duckdb(spec: ExportJobRunBenchSpec): Promise<ExportJobRunBenchResult> {
  // Loaded only here: the native library would count in our runs' peak RSS otherwise.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: String(spec.threads ?? 1) });
  const connection = await instance.connect();
  const glob = join(spec.rawDir, 'raw', spec.environmentId, '**', '*.jsonl.gz').replace(/'/g, "''");
  const target = join(spec.outDir, `duckdb.${spec.format}`);
  const options = {
    csv: 'FORMAT csv, HEADER, COMPRESSION gzip',
    json: 'FORMAT json, COMPRESSION gzip',
    xml: 'FORMAT json, COMPRESSION gzip',
    parquet: 'FORMAT parquet, COMPRESSION gzip',
  }[spec.format];
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = await connection.runAndReadAll(
    `COPY (SELECT event AS eventName, make_timestamp_ms(timestamp::BIGINT) AS ts, userId AS identity, attributes
           FROM read_json('${glob}', format = 'newline_delimited', compression = 'gzip')
           WHERE type = 'event' AND receivedAt >= ${spec.window.from} AND receivedAt < ${spec.window.to})
     TO '${target.replace(/'/g, "''")}' (${options})`,
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuSecondsSince(cpu);
  const records = Number(result.getRows()[0]?.[0] ?? 0);
  connection.closeSync();
  instance.closeSync();
  const { size } = await stat(target);
  return { records, seconds, cpuSeconds, bytes: size, files: 1, maxRssKb: process.resourceUsage().maxRSS };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as ExportJobRunBenchSpec;
  await rm(spec.outDir, { recursive: true, force: true });
  await mkdir(spec.outDir, { recursive: true });
  const result = await (spec.mode === 'ours' ? ours(spec) : duckdb(spec));
  await rm(spec.outDir, { recursive: true, force: true });
  finishChild(result);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
