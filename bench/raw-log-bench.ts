/**
 * The raw event log section of `npm run bench`: at each size, N synthetic records are written into the
 * local log (s3rver in its own process, objects kept under .bench/raw), then read back through the
 * reader, then read by DuckDB's read_json from the same object files; each in its own process, so
 * each peak RSS is that run's own. Targets: the reader at >= 0.5 x DuckDB (records/s), and the
 * reader's peak RSS flat (within 15 %) from the smallest to the largest size, under 256 MB.
 */
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmulatorProcess, runChild } from './processes';
import type { RawLogRunResult, RawLogRunSpec } from './raw-log-run';
import { fixed, int, mbFromKb, table } from './report';

export const RAW_BUCKET = 'bench-raw-events';
const START_AT = Date.UTC(2026, 11, 6, 12, 0, 0);
/** The records' receive times spread over a day (across a UTC day edge): 24 hour prefixes to list. */
const SPAN_HOURS = 24;
const RSS_TARGET_MB = 256;
const FLAT_TOLERANCE = 0.15;
const READER_TARGET_RATIO = 0.5;

export interface RawLogSize {
  records: number;
  write: RawLogRunResult;
  read: RawLogRunResult;
  duckdb: RawLogRunResult;
  /** Compressed bytes in the bucket. */
  objectBytes: number;
}

export async function runRawLogBench(
  options: { rawSizes: number[]; duckdbThreads: number; benchDir: string },
  log: (line?: string) => void,
) {
  log(
    `Raw event log: sizes ${options.rawSizes.map(int).join(', ')} records, receive times over ${SPAN_HOURS} h, bulks of 1,000`,
  );
  const sizes: RawLogSize[] = [];
  for (const records of options.rawSizes) {
    const dataDir = join(options.benchDir, 'raw', String(records));
    await rm(dataDir, { recursive: true, force: true });
    const s3 = await startEmulatorProcess('s3', dataDir);
    try {
      const base: RawLogRunSpec = {
        mode: 'write',
        s3Endpoint: s3.endpoint,
        bucket: RAW_BUCKET,
        environmentId: `bench-raw-${records}`,
        records,
        startAt: START_AT,
        spanHours: SPAN_HOURS,
      };
      const write = await runChild<RawLogRunResult>('raw-log-run.ts', base);
      log(
        `  ${int(records)} records written: ${fixed(write.seconds)} s, ${int(write.records / write.seconds)} items/s, ${write.objects} objects`,
      );
      const read = await runChild<RawLogRunResult>('raw-log-run.ts', { ...base, mode: 'read' });
      if (read.records !== records) throw new Error(`The reader returned ${read.records} records of ${records}.`);
      log(`  read back: ${fixed(read.seconds)} s, ${int(read.records / read.seconds)} records/s`);
      const objectsDir = join(dataDir, 's3', RAW_BUCKET, 'raw', base.environmentId);
      const glob = join(objectsDir, '*', '*', '*', '*', '*.jsonl.gz._S3rver_object');
      const duckdb = await runChild<RawLogRunResult>('raw-log-run.ts', {
        ...base,
        mode: 'duckdb',
        glob,
        threads: options.duckdbThreads,
      });
      if (duckdb.records !== records) throw new Error(`DuckDB read ${duckdb.records} records of ${records}.`);
      log(`  DuckDB read_json: ${fixed(duckdb.seconds)} s, ${int(duckdb.records / duckdb.seconds)} records/s`);
      sizes.push({ records, write, read, duckdb, objectBytes: await directoryBytes(objectsDir) });
    } finally {
      await s3.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }
  log();
  printRawLogSummary(sizes, log);
  const targets = rawLogTargets(sizes);
  await writeFile(
    join(options.benchDir, 'raw-log-results.json'),
    JSON.stringify({ generatedAt: new Date().toISOString(), sizes, targets }, null, 2) + '\n',
  );
  return { sizes, targets };
}

async function directoryBytes(directory: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(directory, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('._S3rver_object'))
      total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

function rawLogTargets(sizes: RawLogSize[]) {
  const ratios = sizes.map((s) => (s.read.seconds > 0 ? s.duckdb.seconds / s.read.seconds : 0));
  const readerPeaks = sizes.map((s) => s.read.maxRssKb / 1024);
  return {
    readerVsDuckDb: { met: ratios.every((r) => r >= READER_TARGET_RATIO), ratios },
    readerRssFlat: {
      met: readerPeaks.length < 2 || readerPeaks[readerPeaks.length - 1] <= readerPeaks[0] * (1 + FLAT_TOLERANCE),
      peaksMb: readerPeaks,
    },
    readerRssUnder256Mb: { met: Math.max(...readerPeaks) < RSS_TARGET_MB },
  };
}

function printRawLogSummary(sizes: RawLogSize[], log: (line?: string) => void): void {
  const mbps = (bytes: number, seconds: number) => fixed(bytes / 1e6 / seconds, 1);
  log('Raw event log summary (MB = 10^6 bytes of JSON lines, uncompressed; gzip objects in s3rver, another process)');
  log();
  log(
    table(
      ['records', 'run', 'seconds', 'records/s', 'MB/s', 'peak RSS MB', 'ours / DuckDB'],
      sizes.flatMap((s) => [
        [
          int(s.records),
          'ingest into the local log (bulks of 1,000)',
          fixed(s.write.seconds),
          int(s.records / s.write.seconds),
          mbps(s.write.jsonBytes, s.write.seconds),
          mbFromKb(s.write.maxRssKb),
          '',
        ],
        [
          int(s.records),
          'reader (S3RawEventReader)',
          fixed(s.read.seconds),
          int(s.records / s.read.seconds),
          mbps(s.write.jsonBytes, s.read.seconds),
          mbFromKb(s.read.maxRssKb),
          fixed(s.duckdb.seconds / s.read.seconds, 2),
        ],
        [
          int(s.records),
          `DuckDB read_json (${s.duckdb.duckdb?.threads} threads)`,
          fixed(s.duckdb.seconds),
          int(s.records / s.duckdb.seconds),
          mbps(s.write.jsonBytes, s.duckdb.seconds),
          mbFromKb(s.duckdb.maxRssKb),
          '',
        ],
      ]),
    ),
  );
  log();
  log(
    `Objects: ${sizes.map((s) => `${int(s.records)} records: ${s.write.objects} objects, ${fixed(s.write.jsonBytes / 1e6, 0)} MB JSON, ${fixed(s.objectBytes / 1e6, 0)} MB gzip`).join('; ')}`,
  );
  const targets = rawLogTargets(sizes);
  const mark = (met: boolean) => (met ? 'met' : 'NOT met');
  log('Targets:');
  log(
    `  reader >= ${READER_TARGET_RATIO} x DuckDB (records/s): ${mark(targets.readerVsDuckDb.met)} (${targets.readerVsDuckDb.ratios.map((r) => fixed(r, 2)).join(', ')})`,
  );
  log(
    `  reader peak RSS flat within ${FLAT_TOLERANCE * 100} %: ${mark(targets.readerRssFlat.met)} (${targets.readerRssFlat.peaksMb.map((p) => fixed(p, 0)).join(' -> ')} MB)`,
  );
  log(`  reader peak RSS < ${RSS_TARGET_MB} MB: ${mark(targets.readerRssUnder256Mb.met)}`);
  if (sizes.length < 2) log('  (one size only: pass --raw-sizes A,B to see memory across sizes)');
  log();
}
