/**
 * `npm run bench`: the 6m-weekly company export of synthetic tenants, measured.
 *
 *   parent (this process)      starts the emulators, loads the tenants (cached), starts one child per
 *                              measurement, prints the tables, writes .bench/results.json
 *   emulator-server.ts x 2     dynalite (data under .bench/data, persisted) and s3rver, each in its own
 *                              process: their CPU and memory never count as the export's
 *   export-run.ts x N          one measured run each: its peak RSS (maxRSS) is the export's own
 *   duckdb-run.ts              the DuckDB reference on the rows the export produced
 *
 * Flags: see bench/options.ts or `npm run bench -- --help`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { dataPoints } from '../lambdas/core/periods';
import { createEmulatorClients, ensureTables } from '../lambdas/local/emulators';
import type { DuckDbResult, DuckDbSpec } from './duckdb-run';
import type { RunResult, RunSpec } from './export-run';
import { ensureTenantLoaded, type LoadResult } from './load';
import { parseOptions, type BenchOptions } from './options';
import { runChild, startEmulatorProcess, type EmulatorProcess } from './processes';
import { fixed, int, mb, mbFromKb, table } from './report';
import { CONFIG_TABLE, environmentIdOf, USAGE_TABLE, type TenantSpec } from './tenant';

const ROOT = resolve(__dirname, '..');
const BENCH_DATA = join(ROOT, '.bench');
const RSS_TARGET_MB = 256;

interface MeasuredRun extends RunResult {
  /** CPU seconds dynalite spent during the run (its own process). */
  dynaliteCpuSeconds: number;
  /** CPU seconds s3rver spent during the run (s3 stage only). */
  s3rverCpuSeconds: number;
  /** sha256 of the produced file (file stage, with --prototypes: proves the prototypes' bytes identical). */
  sha256?: string;
}

interface SizeResult {
  companies: number;
  environmentId: string;
  load: LoadResult;
  file: MeasuredRun;
  s3?: MeasuredRun;
  duckdb?: DuckDbResult;
  /** Our file export's rows/s over DuckDB's COPY rows/s. */
  ratioToDuckDb?: { detectedTypes: number; allVarchar: number };
}

const log = (line = '') => process.stdout.write(line + '\n');

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dataDir = join(BENCH_DATA, 'data');
  const outDir = join(BENCH_DATA, 'out');
  const profileDir = join(BENCH_DATA, 'profiles');
  if (options.fresh) await rm(dataDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  if (options.cpuProf) await mkdir(profileDir, { recursive: true });

  const points = dataPoints('6m-weekly', options.endAt);
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
  log(`Export benchmark: 6m-weekly (${points.length} data points, ${points[0].date} .. ${points[points.length - 1].date}), ` +
    `${options.features} features, ${options.days} days of usage, sizes ${options.sizes.join(', ')} companies, seed ${options.seed}`);
  log(`Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGb} GB, Node ${machine.node}, ${machine.platform}`);
  log();

  const started = performance.now();
  const dynamodb = await startEmulatorProcess('dynamodb', dataDir);
  let s3: EmulatorProcess | undefined;
  const stopAll = async () => {
    await Promise.all([dynamodb.stop(), s3?.stop()]);
  };
  try {
    const clients = createEmulatorClients({ dynamodbEndpoint: dynamodb.endpoint, s3Endpoint: 'http://127.0.0.1:9', sesEndpoint: 'http://127.0.0.1:9' });
    await ensureTables(clients.dynamodb, { configTable: CONFIG_TABLE, usageTable: USAGE_TABLE });

    // Loading: not part of any export figure.
    const tenants: { spec: TenantSpec; load: LoadResult }[] = [];
    for (const companies of options.sizes) {
      const spec: TenantSpec = { companies, features: options.features, days: options.days, seed: options.seed, endAt: options.endAt };
      const load = await ensureTenantLoaded(clients.documentClient, spec, options.loadConcurrency, log);
      log(
        load.loaded
          ? `Loaded ${load.environmentId}: ${int(load.companies)} companies, ${int(load.items)} items in ${fixed(load.seconds)} s (${int(load.itemsPerSecond)} items/s, concurrency ${options.loadConcurrency})`
          : `Cached ${load.environmentId}: ${int(load.companies)} companies, ${int(load.items)} items (loaded earlier in ${fixed(load.seconds)} s, ${int(load.itemsPerSecond)} items/s)`,
      );
      tenants.push({ spec, load });
    }
    clients.destroy();
    if (options.s3) s3 = await startEmulatorProcess('s3');
    log();

    const measure = async (spec: Omit<RunSpec, 'dynamodbEndpoint' | 's3Endpoint'>, hash = false): Promise<MeasuredRun> => {
      const dynamoBefore = await dynamodb.usage();
      const s3Before = s3 ? await s3.usage() : undefined;
      const profileArgs = options.cpuProf
        ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${spec.label.replace(/[^\w.-]+/g, '_')}.cpuprofile`]
        : [];
      const result = await runChild<RunResult>(
        'export-run.ts',
        { ...spec, dynamodbEndpoint: dynamodb.endpoint, s3Endpoint: s3?.endpoint },
        profileArgs,
      );
      const dynamoAfter = await dynamodb.usage();
      const s3After = s3 ? await s3.usage() : undefined;
      const cpuSeconds = (a: { userMicros: number; systemMicros: number }, b: { userMicros: number; systemMicros: number }) =>
        (b.userMicros + b.systemMicros - a.userMicros - a.systemMicros) / 1e6;
      const measured: MeasuredRun = {
        ...result,
        dynaliteCpuSeconds: cpuSeconds(dynamoBefore, dynamoAfter),
        s3rverCpuSeconds: s3Before && s3After ? cpuSeconds(s3Before, s3After) : 0,
      };
      if (hash && spec.outFile) measured.sha256 = await sha256Of(spec.outFile);
      log(
        `  ${spec.label}: ${int(result.rows)} rows, ${mb(result.bytes)} MB in ${fixed(result.seconds, 2)} s = ` +
          `${int(result.rowsPerSecond)} rows/s, ${fixed(result.mbPerSecond)} MB/s; peak RSS ${mbFromKb(result.maxRssKb)} MB; ` +
          `CPU export ${fixed(result.cpuUserSeconds + result.cpuSystemSeconds)} s, dynalite ${fixed(measured.dynaliteCpuSeconds)} s` +
          (spec.stage === 's3' ? `, s3rver ${fixed(measured.s3rverCpuSeconds)} s` : ''),
      );
      return measured;
    };

    const sizes: SizeResult[] = [];
    const largest = tenants[tenants.length - 1];
    const largestFile = join(outDir, `${environmentIdOf(largest.spec)}.csv`);
    for (const { spec, load } of tenants) {
      log(`Tenant of ${int(spec.companies)} companies:`);
      const outFile = join(outDir, `${load.environmentId}.csv`);
      const file = await measure(
        { label: `export to file (${spec.companies})`, tenant: spec, source: 'store', stage: 'file', encoder: 'csv', outFile },
        options.prototypes && spec === largest.spec,
      );
      const size: SizeResult = { companies: spec.companies, environmentId: load.environmentId, load, file };
      if (options.duckdb) {
        const duckdb = await runChild<DuckDbResult>('duckdb-run.ts', {
          csvFile: outFile,
          outPrefix: join(outDir, `${load.environmentId}-duckdb`),
          threads: options.duckdbThreads,
        } satisfies DuckDbSpec);
        size.duckdb = duckdb;
        const [typed, varchar] = duckdb.copies;
        size.ratioToDuckDb = { detectedTypes: file.rowsPerSecond / typed.rowsPerSecond, allVarchar: file.rowsPerSecond / varchar.rowsPerSecond };
        for (const copy of duckdb.copies) {
          log(
            `  DuckDB ${duckdb.version} COPY TO csv (${copy.columns}, ${duckdb.threads} threads): ${int(copy.rows)} rows, ${mb(copy.bytes)} MB in ` +
              `${fixed(copy.seconds, 2)} s = ${int(copy.rowsPerSecond)} rows/s, ${fixed(copy.mbPerSecond)} MB/s`,
          );
        }
        log(`  ours / DuckDB (rows/s): ${fixed(size.ratioToDuckDb.detectedTypes, 3)} (detected types), ${fixed(size.ratioToDuckDb.allVarchar, 3)} (all VARCHAR)`);
      }
      if (spec !== largest.spec || !options.prototypes) {
        if (!options.keepFiles) await rm(outFile, { force: true });
      }
      if (options.s3) {
        size.s3 = await measure({ label: `export to s3rver (${spec.companies})`, tenant: spec, source: 'store', stage: 's3', encoder: 'csv' });
      }
      sizes.push(size);
      log();
    }

    // Where the time goes, on the largest tenant.
    const breakdown: MeasuredRun[] = [];
    if (options.breakdown) {
      log(`Breakdown (${int(largest.spec.companies)} companies):`);
      const base = { tenant: largest.spec, encoder: 'csv' as const };
      breakdown.push(await measure({ ...base, label: 'store read only', source: 'store', stage: 'read' }));
      breakdown.push(await measure({ ...base, label: 'memory: rows only', source: 'memory', stage: 'rows' }));
      breakdown.push(await measure({ ...base, label: 'memory: rows + csv (bytes discarded)', source: 'memory', stage: 'encode' }));
      const memoryFile = join(outDir, 'memory.csv');
      breakdown.push(await measure({ ...base, label: 'memory: rows + csv + file', source: 'memory', stage: 'file', outFile: memoryFile }));
      await rm(memoryFile, { force: true });
      log();
    }

    // The proposed changes, prototyped in bench/prototypes, on the largest tenant.
    const prototypes: MeasuredRun[] = [];
    if (options.prototypes) {
      log(`Prototypes (${int(largest.spec.companies)} companies):`);
      const base = { tenant: largest.spec };
      prototypes.push(await measure({ ...base, label: 'store read-ahead: read only', source: 'store-prefetch', stage: 'read', encoder: 'csv' }));
      prototypes.push(await measure({ ...base, label: 'memory: rows + fast csv (bytes discarded)', source: 'memory', stage: 'encode', encoder: 'fast-csv' }));
      const protoFile = join(outDir, 'prototype.csv');
      prototypes.push(
        await measure({ ...base, label: 'store read-ahead + csv + file', source: 'store-prefetch', stage: 'file', encoder: 'csv', outFile: protoFile }, true),
      );
      prototypes.push(
        await measure({ ...base, label: 'store + fast csv + file', source: 'store', stage: 'file', encoder: 'fast-csv', outFile: protoFile }, true),
      );
      prototypes.push(
        await measure({ ...base, label: 'store read-ahead + fast csv + file', source: 'store-prefetch', stage: 'file', encoder: 'fast-csv', outFile: protoFile }, true),
      );
      const reference = sizes[sizes.length - 1].file.sha256;
      for (const run of prototypes) {
        if (run.sha256 !== undefined) log(`  ${run.label}: output ${run.sha256 === reference ? 'byte-identical to' : 'DIFFERS from'} the service's export`);
      }
      await rm(protoFile, { force: true });
      if (!options.keepFiles) await rm(largestFile, { force: true });
      log();
    }

    const totalSeconds = (performance.now() - started) / 1000;
    printSummary(options, machine, sizes, breakdown, prototypes);
    const resultsFile = join(BENCH_DATA, 'results.json');
    await writeFile(
      resultsFile,
      JSON.stringify(
        {
          generatedAt: new Date().toISOString(),
          machine,
          options: { ...options, endAt: new Date(options.endAt).toISOString() },
          aggregation: '6m-weekly',
          dataPoints: points.length,
          sizes,
          breakdown,
          prototypes,
          targets: targetsOf(sizes),
          totalSeconds,
        },
        null,
        2,
      ) + '\n',
    );
    log(`Results written to ${resultsFile} (whole benchmark: ${fixed(totalSeconds, 0)} s).`);
  } finally {
    await stopAll();
  }
}

function targetsOf(sizes: SizeResult[]) {
  const peaks = sizes.flatMap((s) => [s.file.maxRssKb, ...(s.s3 ? [s.s3.maxRssKb] : [])]).map((kb) => kb / 1024);
  const filePeaks = sizes.map((s) => s.file.maxRssKb / 1024);
  const ratios = sizes.flatMap((s) => (s.ratioToDuckDb ? [s.ratioToDuckDb.detectedTypes] : []));
  return {
    peakRssUnder256Mb: { met: Math.max(...peaks) < RSS_TARGET_MB, maxPeakMb: Math.max(...peaks) },
    peakRssFlat: {
      // Flat: the largest tenant's peak within 10% of the smallest's although it has more companies.
      met: filePeaks[filePeaks.length - 1] <= filePeaks[0] * 1.1,
      filePeaksMb: filePeaks,
    },
    oneItemPerPair: { met: sizes.every((s) => s.file.itemsPerPair <= 1), itemsPerPair: sizes.map((s) => s.file.itemsPerPair) },
    halfOfDuckDb: ratios.length === 0 ? undefined : { met: ratios.every((r) => r >= 0.5), ratios },
  };
}

function printSummary(
  options: BenchOptions,
  machine: { cpus: number },
  sizes: SizeResult[],
  breakdown: MeasuredRun[],
  prototypes: MeasuredRun[],
): void {
  log('Summary (MB = 10^6 bytes; peak RSS = the export process\'s maxRSS; emulators run in other processes)');
  log();
  log(
    table(
      ['companies', 'run', 'rows', 'MB', 's', 'rows/s', 'MB/s', 'peak RSS MB', 'items/pair', 'vs DuckDB'],
      sizes.flatMap((s) => {
        const rows: (string | number)[][] = [
          [int(s.companies), 'export -> local file', int(s.file.rows), mb(s.file.bytes), fixed(s.file.seconds, 2), int(s.file.rowsPerSecond), fixed(s.file.mbPerSecond), mbFromKb(s.file.maxRssKb), fixed(s.file.itemsPerPair, 3), s.ratioToDuckDb ? fixed(s.ratioToDuckDb.detectedTypes, 3) : '-'],
        ];
        if (s.duckdb) {
          for (const copy of s.duckdb.copies) {
            rows.push([int(s.companies), `DuckDB COPY (${copy.columns})`, int(copy.rows), mb(copy.bytes), fixed(copy.seconds, 2), int(copy.rowsPerSecond), fixed(copy.mbPerSecond), mbFromKb(s.duckdb.maxRssKb), '-', '1']);
          }
        }
        if (s.s3) {
          rows.push([int(s.companies), 'export -> s3rver (end to end)', int(s.s3.rows), mb(s.s3.bytes), fixed(s.s3.seconds, 2), int(s.s3.rowsPerSecond), fixed(s.s3.mbPerSecond), mbFromKb(s.s3.maxRssKb), fixed(s.s3.itemsPerPair, 3), '-']);
        }
        return rows;
      }),
      ['right', 'left'],
    ),
  );
  log(`DuckDB: ${sizes[0]?.duckdb ? `${sizes[0].duckdb.version}, threads = ${sizes[0].duckdb.threads} (the machine's ${machine.cpus} cores)` : 'not run'}; "vs DuckDB" = our rows/s over DuckDB's (detected types).`);
  log();
  const details = [...breakdown, ...prototypes];
  if (details.length > 0) {
    log(
      table(
        ['run', 'rows', 's', 'rows/s', 'MB/s', 'CPU export s', 'CPU dynalite s', 'peak RSS MB'],
        details.map((r) => [r.label, int(r.rows), fixed(r.seconds, 2), r.rows ? int(r.rowsPerSecond) : '-', r.bytes ? fixed(r.mbPerSecond) : '-', fixed(r.cpuUserSeconds + r.cpuSystemSeconds), fixed(r.dynaliteCpuSeconds), mbFromKb(r.maxRssKb)]),
        ['left'],
      ),
    );
    log('(memory runs: the tenant is generated in memory first, so their peak RSS includes it; not an export figure)');
    log();
  }
  const targets = targetsOf(sizes);
  const mark = (met: boolean | undefined) => (met === undefined ? 'n/a' : met ? 'met' : 'NOT met');
  log('Targets:');
  log(`  peak RSS < ${RSS_TARGET_MB} MB: ${mark(targets.peakRssUnder256Mb.met)} (max ${fixed(targets.peakRssUnder256Mb.maxPeakMb, 0)} MB)`);
  log(`  peak RSS flat as the tenant grows: ${mark(targets.peakRssFlat.met)} (${targets.peakRssFlat.filePeaksMb.map((p, i) => `${int(sizes[i].companies)}: ${fixed(p, 0)} MB`).join(', ')})`);
  log(`  <= 1 item read per pair: ${mark(targets.oneItemPerPair.met)} (${targets.oneItemPerPair.itemsPerPair.map((x) => fixed(x, 3)).join(', ')})`);
  log(`  >= half of DuckDB's throughput: ${mark(targets.halfOfDuckDb?.met)}${targets.halfOfDuckDb ? ` (ratios ${targets.halfOfDuckDb.ratios.map((r) => fixed(r, 3)).join(', ')})` : ''}`);
  if (options.sizes.length < 2) log('  (one size only: pass --sizes A,B to see memory across sizes)');
  log();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
