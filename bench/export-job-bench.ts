/**
 * The export-job section of `npm run bench`: N events of 20 names with 8 properties each, as raw log
 * objects (gzip JSON lines under `raw/<envId>/<yyyy>/<mm>/<dd>/<hh>/`, one object per 5 minutes of
 * receive time, the raw log's record encoding), exported by the job run in each format, side by side
 * with DuckDB writing the same records from the same objects with COPY ... TO (gzip). Each run is its
 * own process, so its peak RSS is its own. Objects are generated once per size and kept under
 * .bench/jobs.
 */
import { createWriteStream } from 'node:fs';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { FileFormatName } from '../lambdas/core/export/job-files';
import { encodeRawRecord } from '../lambdas/core/raw-log';
import type { ExportJobRunBenchResult, ExportJobRunBenchSpec } from './export-job-run';
import { runChild } from './processes';

const ENVIRONMENT = 'env-jobs-bench';
const START = Date.UTC(2026, 10, 22);
const SPAN_MS = 24 * 3_600_000;
const OBJECT_MS = 5 * 60_000;
const NAMES = Array.from({ length: 20 }, (_, i) => `event_${String(i).padStart(2, '0')}`);
const RSS_TARGET_MB = 256;

const pad = (n: number) => String(n).padStart(2, '0');

/** The i-th synthetic event: 8 properties of mixed types, as an SDK sends them. */
function rawLine(index: number, count: number): string {
  const receivedAt = START + Math.floor((index * SPAN_MS) / count);
  const name = NAMES[index % NAMES.length];
  const user = (index * 7919) % 100_000;
  return encodeRawRecord({
    id: `job${index.toString(36).padStart(8, '0')}`,
    environmentId: ENVIRONMENT,
    receivedAt,
    type: 'event',
    userId: `user-${user}`,
    companyId: `company-${user % 2_500}`,
    event: name,
    timestamp: receivedAt - (index % 5_000),
    attributes: {
      plan: ['free', 'pro', 'enterprise'][index % 3],
      rows: index % 10_000,
      durationMs: (index * 37) % 60_000,
      price: (index % 1000) / 4,
      beta: index % 2 === 0,
      source: `source-${index % 40}`,
      title: `Report "${index % 500}", quarterly`,
      country: ['FR', 'DE', 'US', 'JP', 'BR'][index % 5],
    },
    context: { active: true, ip: `10.0.${(index >> 8) & 255}.${index & 255}` },
  });
}

/** Writes the raw objects of `count` events into `rawDir` unless they are there already. */
async function ensureRawObjects(rawDir: string, count: number, log: (line?: string) => void): Promise<void> {
  const done = join(rawDir, '.complete');
  if (
    await access(done).then(
      () => true,
      () => false,
    )
  )
    return;
  await rm(rawDir, { recursive: true, force: true });
  const started = performance.now();
  let index = 0;
  for (let objectStart = START; objectStart < START + SPAN_MS; objectStart += OBJECT_MS) {
    const date = new Date(objectStart);
    const hour = `${date.getUTCFullYear()}/${pad(date.getUTCMonth() + 1)}/${pad(date.getUTCDate())}/${pad(date.getUTCHours())}`;
    const path = join(rawDir, 'raw', ENVIRONMENT, hour, `bench-1-${date.toISOString().replace(/[:.]/g, '-')}.jsonl.gz`);
    await mkdir(dirname(path), { recursive: true });
    const gzip = createGzip();
    const written = finished(gzip.pipe(createWriteStream(path)));
    let text = '';
    while (index < count && START + Math.floor((index * SPAN_MS) / count) < objectStart + OBJECT_MS) {
      text += rawLine(index++, count);
      if (text.length > 1 << 20) {
        if (!gzip.write(text)) await new Promise((resolve) => gzip.once('drain', resolve));
        text = '';
      }
    }
    gzip.end(text);
    await written;
  }
  await writeFile(done, '');
  log(
    `Generated ${count.toLocaleString('en-US')} raw events in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

interface JobBenchRow {
  events: number;
  format: FileFormatName;
  ours: ExportJobRunBenchResult;
  duckdb?: ExportJobRunBenchResult;
}

export async function runExportJobBench(
  options: {
    jobSizes: number[];
    jobFormats: FileFormatName[];
    duckdb: boolean;
    duckdbThreads: number;
    benchDir: string;
  },
  log: (line?: string) => void,
): Promise<JobBenchRow[]> {
  log(`Export jobs: ${NAMES.length} event names, 8 properties each, gzip; sizes ${options.jobSizes.join(', ')} events`);
  const rows: JobBenchRow[] = [];
  for (const events of options.jobSizes) {
    const rawDir = join(options.benchDir, 'jobs', `raw-${events}`);
    await ensureRawObjects(rawDir, events, log);
    for (const format of options.jobFormats) {
      const base: ExportJobRunBenchSpec = {
        mode: 'ours',
        format,
        rawDir,
        environmentId: ENVIRONMENT,
        window: { from: START, to: START + SPAN_MS },
        outDir: join(options.benchDir, 'jobs', 'out'),
      };
      const ours = await runChild<ExportJobRunBenchResult>('export-job-run.ts', base);
      if (ours.records !== events) throw new Error(`The ${format} export wrote ${ours.records} events of ${events}.`);
      log(`  ${events.toLocaleString('en-US')} events, ${format}: ${describe(ours)}`);
      let duckdb: ExportJobRunBenchResult | undefined;
      // DuckDB writes no XML: the XML export is compared with its JSON.
      if (options.duckdb && format !== 'xml') {
        duckdb = await runChild<ExportJobRunBenchResult>('export-job-run.ts', {
          ...base,
          mode: 'duckdb',
          threads: options.duckdbThreads,
        });
        log(`  ${events.toLocaleString('en-US')} events, DuckDB COPY ${format}: ${describe(duckdb)}`);
      }
      rows.push({ events, format, ours, duckdb });
    }
  }
  printSummary(rows, options.jobFormats, options.duckdbThreads, log);
  return rows;
}

const mb = (bytes: number) => bytes / 1e6;
const describe = (r: ExportJobRunBenchResult) =>
  `${r.seconds.toFixed(2)} s (CPU ${r.cpuSeconds.toFixed(2)} s), ${Math.round(r.records / r.seconds).toLocaleString('en-US')} events/s, ` +
  `${(mb(r.bytes) / r.seconds).toFixed(1)} MB/s written (${mb(r.bytes).toFixed(1)} MB in ${r.files} files), peak RSS ${Math.round(r.maxRssKb / 1024)} MB`;

function printSummary(
  rows: JobBenchRow[],
  formats: FileFormatName[],
  threads: number,
  log: (line?: string) => void,
): void {
  log();
  log(
    `Export jobs summary (MB = 10^6 bytes written, gzip; DuckDB on ${threads} threads writes one file, ours one per name, day and 100 MB)`,
  );
  log('| events | format | run | s | CPU s | events/s | MB/s | peak RSS MB | ours / DuckDB |');
  log('| -----: | ------ | --- | -: | ----: | -------: | ---: | ----------: | ------------: |');
  const json = (events: number) => rows.find((r) => r.events === events && r.format === 'json')?.duckdb;
  for (const row of rows) {
    const reference = row.duckdb ?? (row.format === 'xml' ? json(row.events) : undefined);
    const ratio = reference
      ? (row.ours.records / row.ours.seconds / (reference.records / reference.seconds)).toFixed(2)
      : '-';
    const cells = (name: string, r: ExportJobRunBenchResult, last: string) =>
      `| ${row.events.toLocaleString('en-US')} | ${row.format} | ${name} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${Math.round(r.records / r.seconds).toLocaleString('en-US')} | ` +
      `${(mb(r.bytes) / r.seconds).toFixed(1)} | ${Math.round(r.maxRssKb / 1024)} | ${last} |`;
    log(cells('ours', row.ours, row.format === 'xml' ? `${ratio} (vs DuckDB JSON)` : ratio));
    if (row.duckdb) log(cells('DuckDB COPY', row.duckdb, ''));
  }
  const peaks = rows.map((r) => r.ours.maxRssKb / 1024);
  log();
  log(
    `Targets: peak RSS < ${RSS_TARGET_MB} MB: ${Math.max(...peaks) < RSS_TARGET_MB ? 'met' : 'NOT met'} (max ${Math.round(Math.max(...peaks))} MB)`,
  );
  const sizes = [...new Set(rows.map((r) => r.events))];
  if (sizes.length > 1) {
    for (const format of formats) {
      const [small, large] = [sizes[0], sizes[sizes.length - 1]].map(
        (events) => rows.find((r) => r.events === events && r.format === format)!.ours.maxRssKb,
      );
      log(
        `  ${format}: peak RSS ${Math.round(small / 1024)} MB at ${sizes[0].toLocaleString('en-US')} events, ${Math.round(large / 1024)} MB at ${sizes[sizes.length - 1].toLocaleString('en-US')}`,
      );
    }
  }
}
