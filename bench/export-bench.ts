/**
 * `npm run bench`: the 6m-weekly company export of synthetic tenants, measured.
 *
 *   parent (this process)      starts the emulators, loads the tenants (cached), starts one child per
 *                              measurement, prints the tables, writes .bench/results.json
 *   emulator-server.ts x 2     dynalite (data under .bench/data, persisted) and s3rver, each in its own
 *                              process: their CPU and memory never count as the export's
 *   export-run.ts              one measured run per process, bundled by esbuild like the deployed
 *                              Lambda (or run with tsx: --runner tsx): its peak RSS is the export's own
 *   duckdb-run.ts              the DuckDB reference on the rows the export produced
 *
 * Flags: see bench/options.ts or `npm run bench -- --help`.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { dataPoints } from '../lambdas/core/periods';
import { ensureTables } from '../lambdas/local/emulators';
import { bundleExportRun } from './bundle';
import { benchClients } from './clients';
import type { DuckDbResult, DuckDbSpec } from './duckdb-run';
import type { RunResult, RunSpec } from './export-run';
import { runExportJobBench } from './export-job-bench';
import { ensureTenantLoaded, type LoadResult } from './load';
import { machineCpuTimes, machineInfo } from './machine';
import { parseOptions, type BenchOptions } from './options';
import { runChild, startEmulatorProcess, type EmulatorProcess } from './processes';
import { runRawLogBench } from './raw-log-bench';
import { runRawRevisionsBench } from './raw-revisions-bench';
import { fixed, int, mb, mbFromKb, table } from './report';
import { CONFIG_TABLE, USAGE_TABLE, type TenantSpec } from './tenant';

const ROOT = resolve(__dirname, '..');
const BENCH_DATA = join(ROOT, '.bench');
const RSS_TARGET_MB = 256;
/** Peak RSS counts as flat when the largest tenant's is within this fraction of the smallest's. */
const FLAT_TOLERANCE = 0.15;

interface MeasuredRun extends RunResult {
  /** CPU seconds dynalite spent during the run (its own process). */
  dynaliteCpuSeconds: number;
  /** CPU seconds s3rver spent during the run (s3 stage only). */
  s3rverCpuSeconds: number;
  /** CPU seconds the rest of the machine (other processes) spent during the run: noise in the figures. */
  otherCpuSeconds?: number;
  stealSeconds?: number;
  /** Every repetition's seconds; the reported run is the median one. */
  repeats: number[];
  /** Every repetition's peak RSS; maxRssKb is the highest of them. */
  maxRssKbRepeats?: number[];
  /** Node.js flags of the export process beyond the runner's (e.g. a heap limit). */
  nodeFlags: string[];
}

interface SizeResult {
  companies: number;
  environmentId: string;
  load: LoadResult;
  file: MeasuredRun;
  s3?: MeasuredRun;
  duckdb?: DuckDbResult;
  /** Our file export's rows/s over DuckDB's COPY rows/s. */
  ratioToDuckDb?: { detectedTypes: number; allVarchar: number; oneThread: number };
}

const log = (line = '') => process.stdout.write(line + '\n');

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const rawLogSection = () =>
    runRawLogBench({ rawSizes: options.rawSizes, duckdbThreads: options.duckdbThreads, benchDir: BENCH_DATA }, log);
  const revisionsSection = () => runRawRevisionsBench({ sizes: options.revisionSizes, benchDir: BENCH_DATA }, log);
  if (options.rawOnly) {
    await rawLogSection();
    return;
  }
  if (options.revisionsOnly) {
    await revisionsSection();
    return;
  }
  const dataDir = join(BENCH_DATA, 'data');
  const outDir = join(BENCH_DATA, 'out');
  const profileDir = join(BENCH_DATA, 'profiles');
  const bundleFile = join(BENCH_DATA, 'build', 'export-run.js');
  if (options.fresh) await rm(dataDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  if (options.cpuProf) await mkdir(profileDir, { recursive: true });

  const jobBench = () =>
    runExportJobBench(
      {
        jobSizes: options.jobSizes,
        jobFormats: options.jobFormats,
        duckdb: options.duckdb,
        duckdbThreads: options.duckdbThreads,
        benchDir: BENCH_DATA,
      },
      log,
    );
  if (options.jobsOnly) {
    await jobBench();
    return;
  }

  const points = dataPoints('6m-weekly', options.endAt);
  const machine = machineInfo();
  log(
    `Export benchmark: 6m-weekly (${points.length} data points, ${points[0].date} .. ${points[points.length - 1].date}), ` +
      `${options.features} features, ${options.days} days of usage, sizes ${options.sizes.join(', ')} companies, seed ${options.seed}`,
  );
  log(
    `Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGb} GB, Node ${machine.node}, ${machine.platform}; ` +
      `load average ${machine.loadAverageAtStart.join(' ')}`,
  );
  log(
    `Export process: ${options.runner === 'bundle' ? 'bundled by esbuild like the deployed Lambda (minified CJS, source maps)' : 'run with tsx'}` +
      `${options.repeat > 1 ? `; each measurement run ${options.repeat} times, median reported` : ''}`,
  );
  log();

  if (options.runner === 'bundle') await bundleExportRun(join(__dirname, 'export-run.ts'), bundleFile, options.cpuProf);
  const exportRunner =
    options.runner === 'bundle'
      ? { script: bundleFile, execArgv: ['--enable-source-maps'] }
      : { script: 'export-run.ts', execArgv: undefined };

  const started = performance.now();
  const dynamodb = await startEmulatorProcess('dynamodb', dataDir);
  let s3: EmulatorProcess | undefined;
  try {
    const clients = benchClients({ dynamodbEndpoint: dynamodb.endpoint });
    await ensureTables(clients.dynamodb, { configTable: CONFIG_TABLE, usageTable: USAGE_TABLE });

    // Loading: not part of any export figure.
    const tenants: { spec: TenantSpec; load: LoadResult }[] = [];
    const describeLoad = (load: LoadResult) =>
      load.loaded
        ? `Loaded ${load.environmentId}: ${int(load.companies)} companies, ${int(load.items)} items in ${fixed(load.seconds)} s (${int(load.itemsPerSecond)} items/s, concurrency ${options.loadConcurrency})`
        : `Cached ${load.environmentId}: ${int(load.companies)} companies, ${int(load.items)} items (loaded earlier in ${fixed(load.seconds)} s, ${int(load.itemsPerSecond)} items/s)`;
    for (const companies of options.sizes) {
      const spec: TenantSpec = {
        companies,
        features: options.features,
        days: options.days,
        seed: options.seed,
        endAt: options.endAt,
      };
      const load = await ensureTenantLoaded(clients.documentClient, spec, options.loadConcurrency, log);
      log(describeLoad(load));
      tenants.push({ spec, load });
    }
    const largest = tenants[tenants.length - 1];
    clients.destroy();
    if (options.s3) s3 = await startEmulatorProcess('s3');
    log();

    type Spec = Omit<RunSpec, 'dynamodbEndpoint' | 's3Endpoint'>;
    const measureOnce = async (spec: Spec, nodeFlags: string[]): Promise<MeasuredRun> => {
      const dynamoBefore = await dynamodb.usage();
      const s3Before = s3 ? await s3.usage() : undefined;
      const parentBefore = process.cpuUsage();
      const machineBefore = machineCpuTimes();
      const profileArgs = options.cpuProf
        ? [
            '--cpu-prof',
            '--cpu-prof-dir',
            profileDir,
            '--cpu-prof-name',
            `${spec.label.replace(/[^\w.-]+/g, '_')}.cpuprofile`,
          ]
        : [];
      const result = await runChild<RunResult>(
        exportRunner.script,
        { ...spec, dynamodbEndpoint: dynamodb.endpoint, s3Endpoint: s3?.endpoint, sampleMemoryMs: 1000 },
        { execArgv: exportRunner.execArgv, extraExecArgv: [...nodeFlags, ...profileArgs] },
      );
      const machineAfter = machineCpuTimes();
      const parentCpu = process.cpuUsage(parentBefore);
      const dynamoAfter = await dynamodb.usage();
      const s3After = s3 ? await s3.usage() : undefined;
      const cpuSeconds = (
        a: { userMicros: number; systemMicros: number },
        b: { userMicros: number; systemMicros: number },
      ) => (b.userMicros + b.systemMicros - a.userMicros - a.systemMicros) / 1e6;
      const dynaliteCpuSeconds = cpuSeconds(dynamoBefore, dynamoAfter);
      const s3rverCpuSeconds = s3Before && s3After ? cpuSeconds(s3Before, s3After) : 0;
      const measured: MeasuredRun = {
        ...result,
        dynaliteCpuSeconds,
        s3rverCpuSeconds,
        repeats: [result.seconds],
        nodeFlags,
      };
      if (machineBefore && machineAfter) {
        const ours =
          result.processCpuSeconds + dynaliteCpuSeconds + s3rverCpuSeconds + (parentCpu.user + parentCpu.system) / 1e6;
        measured.otherCpuSeconds = Math.max(0, machineAfter.busySeconds - machineBefore.busySeconds - ours);
        measured.stealSeconds = machineAfter.stealSeconds - machineBefore.stealSeconds;
      }
      return measured;
    };

    const measure = async (spec: Spec, { nodeFlags = [] as string[] } = {}): Promise<MeasuredRun> => {
      const runs: MeasuredRun[] = [];
      for (let i = 0; i < options.repeat; i++) runs.push(await measureOnce(spec, nodeFlags));
      const byTime = [...runs].sort((a, b) => a.seconds - b.seconds);
      const median = byTime[Math.floor((byTime.length - 1) / 2)];
      median.repeats = runs.map((r) => r.seconds);
      // Time: the median run. Memory: the highest peak of all runs (the target is a ceiling).
      median.maxRssKb = Math.max(...runs.map((r) => r.maxRssKb));
      median.maxRssKbRepeats = runs.map((r) => r.maxRssKb);
      const result = median;
      log(
        `  ${spec.label}: ${int(result.rows)} rows, ${mb(result.bytes)} MB in ${fixed(result.seconds, 2)} s = ` +
          `${int(result.rowsPerSecond)} rows/s, ${fixed(result.mbPerSecond)} MB/s; peak RSS ${mbFromKb(result.maxRssKb)} MB; ` +
          `CPU: export ${fixed(result.cpuUserSeconds + result.cpuSystemSeconds)} s, dynalite ${fixed(result.dynaliteCpuSeconds)} s` +
          (spec.stage === 's3' ? `, s3rver ${fixed(result.s3rverCpuSeconds)} s` : '') +
          (result.otherCpuSeconds !== undefined ? `, other processes ${fixed(result.otherCpuSeconds)} s` : '') +
          (runs.length > 1
            ? ` [runs: ${runs.map((r) => `${fixed(r.seconds, 1)} s/${mbFromKb(r.maxRssKb)} MB`).join(', ')}]`
            : ''),
      );
      return result;
    };

    const sizes: SizeResult[] = [];
    for (const { spec, load } of tenants) {
      log(`Tenant of ${int(spec.companies)} companies:`);
      const outFile = join(outDir, `${load.environmentId}.csv`);
      const file = await measure({
        label: `export to local file (${spec.companies})`,
        tenant: spec,
        source: 'store',
        stage: 'file',
        outFile,
      });
      const size: SizeResult = { companies: spec.companies, environmentId: load.environmentId, load, file };
      if (options.duckdb) {
        const duckdb = await runChild<DuckDbResult>('duckdb-run.ts', {
          csvFile: outFile,
          outPrefix: join(outDir, `${load.environmentId}-duckdb`),
          threads: options.duckdbThreads,
          repeat: options.repeat,
        } satisfies DuckDbSpec);
        size.duckdb = duckdb;
        const [typed, varchar, oneThread] = duckdb.copies;
        size.ratioToDuckDb = {
          detectedTypes: file.rowsPerSecond / typed.rowsPerSecond,
          allVarchar: file.rowsPerSecond / varchar.rowsPerSecond,
          oneThread: file.rowsPerSecond / oneThread.rowsPerSecond,
        };
        for (const copy of duckdb.copies) {
          log(
            `  DuckDB ${duckdb.version} COPY t TO csv (${copy.columns}, threads = ${copy.threads}): ${int(copy.rows)} rows, ${mb(copy.bytes)} MB in ` +
              `${fixed(copy.seconds, 2)} s = ${int(copy.rowsPerSecond)} rows/s, ${fixed(copy.mbPerSecond)} MB/s` +
              (copy.repeats.length > 1 ? ` [runs: ${copy.repeats.map((s) => fixed(s, 2)).join(', ')} s]` : ''),
          );
        }
        log(
          `  ours / DuckDB (rows/s): ${fixed(size.ratioToDuckDb.detectedTypes, 3)} (reference: detected types, ${typed.threads} threads), ` +
            `${fixed(size.ratioToDuckDb.allVarchar, 3)} (all VARCHAR), ${fixed(size.ratioToDuckDb.oneThread, 3)} (1 thread)`,
        );
      }
      if (!options.keepFiles) await rm(outFile, { force: true });
      if (options.s3) {
        size.s3 = await measure({
          label: `export to s3rver (${spec.companies})`,
          tenant: spec,
          source: 'store',
          stage: 's3',
        });
      }
      sizes.push(size);
      log();
    }

    // Where the time goes, on the largest tenant.
    const breakdown: MeasuredRun[] = [];
    if (options.breakdown) {
      log(`Breakdown (${int(largest.spec.companies)} companies):`);
      const base = { tenant: largest.spec };
      breakdown.push(await measure({ ...base, label: 'store: read only', source: 'store', stage: 'read' }));
      breakdown.push(await measure({ ...base, label: 'memory: rows only', source: 'memory', stage: 'rows' }));
      breakdown.push(
        await measure({ ...base, label: 'memory: rows + csv (bytes discarded)', source: 'memory', stage: 'encode' }),
      );
      const memoryFile = join(outDir, 'memory.csv');
      breakdown.push(
        await measure({
          ...base,
          label: 'memory: rows + csv + file',
          source: 'memory',
          stage: 'file',
          outFile: memoryFile,
        }),
      );
      await rm(memoryFile, { force: true });
      log();
    }

    const totalSeconds = (performance.now() - started) / 1000;
    printSummary(options, machine, sizes, breakdown);
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
          targets: targetsOf(sizes),
          totalSeconds,
        },
        null,
        2,
      ) + '\n',
    );
    log(`Results written to ${resultsFile} (whole benchmark: ${fixed(totalSeconds, 0)} s).`);
    log();
    if (options.rawSizes.length > 0) await rawLogSection();
    if (options.revisionSizes.length > 0) await revisionsSection();
  } finally {
    await Promise.all([dynamodb.stop(), s3?.stop()]);
  }
  if (options.jobs) {
    log();
    await jobBench();
  }
}

function targetsOf(sizes: SizeResult[]) {
  const peaks = sizes.flatMap((s) => [s.file.maxRssKb, ...(s.s3 ? [s.s3.maxRssKb] : [])]).map((kb) => kb / 1024);
  const filePeaks = sizes.map((s) => s.file.maxRssKb / 1024);
  const s3Peaks = sizes.flatMap((s) => (s.s3 ? [s.s3.maxRssKb / 1024] : []));
  const flat = (peaks: number[]) => peaks.length < 2 || peaks[peaks.length - 1] <= peaks[0] * (1 + FLAT_TOLERANCE);
  const ratios = sizes.flatMap((s) => (s.ratioToDuckDb ? [s.ratioToDuckDb.detectedTypes] : []));
  return {
    peakRssUnder256Mb: { met: Math.max(...peaks) < RSS_TARGET_MB, maxPeakMb: Math.max(...peaks) },
    peakRssFlat: {
      met: flat(filePeaks) && flat(s3Peaks),
      tolerance: FLAT_TOLERANCE,
      filePeaksMb: filePeaks,
      s3PeaksMb: s3Peaks,
    },
    oneItemPerPair: {
      met: sizes.every((s) => s.file.itemsPerPair <= 1),
      itemsPerPair: sizes.map((s) => s.file.itemsPerPair),
    },
    halfOfDuckDb: ratios.length === 0 ? undefined : { met: ratios.every((r) => r >= 0.5), ratios },
  };
}

function printSummary(
  options: BenchOptions,
  machine: { cpus: number },
  sizes: SizeResult[],
  breakdown: MeasuredRun[],
): void {
  log("Summary (MB = 10^6 bytes; peak RSS = the export process's maxRSS; the emulators run in other processes)");
  log();
  log(
    table(
      ['companies', 'run', 'rows', 'MB', 's', 'rows/s', 'MB/s', 'peak RSS MB', 'items/pair', 'ours / DuckDB'],
      sizes.flatMap((s) => {
        const rows: (string | number)[][] = [
          [
            int(s.companies),
            'export -> local file',
            int(s.file.rows),
            mb(s.file.bytes),
            fixed(s.file.seconds, 2),
            int(s.file.rowsPerSecond),
            fixed(s.file.mbPerSecond),
            mbFromKb(s.file.maxRssKb),
            fixed(s.file.itemsPerPair, 3),
            s.ratioToDuckDb ? fixed(s.ratioToDuckDb.detectedTypes, 3) : '-',
          ],
        ];
        if (s.duckdb) {
          for (const copy of s.duckdb.copies) {
            rows.push([
              int(s.companies),
              `DuckDB COPY (${copy.columns}, ${copy.threads} thread${copy.threads > 1 ? 's' : ''})`,
              int(copy.rows),
              mb(copy.bytes),
              fixed(copy.seconds, 2),
              int(copy.rowsPerSecond),
              fixed(copy.mbPerSecond),
              '-',
              '-',
              '-',
            ]);
          }
        }
        if (s.s3) {
          rows.push([
            int(s.companies),
            'export -> s3rver (end to end)',
            int(s.s3.rows),
            mb(s.s3.bytes),
            fixed(s.s3.seconds, 2),
            int(s.s3.rowsPerSecond),
            fixed(s.s3.mbPerSecond),
            mbFromKb(s.s3.maxRssKb),
            fixed(s.s3.itemsPerPair, 3),
            '-',
          ]);
        }
        return rows;
      }),
      ['right', 'left'],
    ),
  );
  log(
    `DuckDB: ${sizes[0]?.duckdb ? `${sizes[0].duckdb.version}, threads = ${sizes[0].duckdb.threads} (the machine has ${machine.cpus} cores)` : 'not run'}; ` +
      '"ours / DuckDB" = our rows/s over DuckDB\'s COPY with the column types read_csv detects, on all threads.',
  );
  log();
  const details = breakdown;
  if (details.length > 0) {
    log(
      table(
        ['run', 'rows', 's', 'rows/s', 'MB/s', 'CPU export s', 'CPU dynalite s', 'CPU other s', 'peak RSS MB'],
        details.map((r) => [
          r.label,
          int(r.rows),
          fixed(r.seconds, 2),
          r.rows ? int(r.rowsPerSecond) : '-',
          r.bytes ? fixed(r.mbPerSecond) : '-',
          fixed(r.cpuUserSeconds + r.cpuSystemSeconds),
          fixed(r.dynaliteCpuSeconds),
          r.otherCpuSeconds === undefined ? '-' : fixed(r.otherCpuSeconds),
          r.source === 'memory' ? `(${mbFromKb(r.maxRssKb)})` : mbFromKb(r.maxRssKb),
        ]),
        ['left'],
      ),
    );
    log(
      'memory runs: the tenant is generated in memory before the timed part, so their peak RSS (in parentheses) includes it.',
    );
    log('CPU other = CPU time of other processes on the machine during the run (noise).');
    log();
  }
  const targets = targetsOf(sizes);
  const mark = (met: boolean | undefined) => (met === undefined ? 'n/a' : met ? 'met' : 'NOT met');
  log('Targets:');
  log(
    `  peak RSS < ${RSS_TARGET_MB} MB: ${mark(targets.peakRssUnder256Mb.met)} (max ${fixed(targets.peakRssUnder256Mb.maxPeakMb, 0)} MB)`,
  );
  log(
    `  peak RSS flat as the tenant grows (within ${FLAT_TOLERANCE * 100}%): ${mark(targets.peakRssFlat.met)} ` +
      `(file: ${targets.peakRssFlat.filePeaksMb.map((p, i) => `${int(sizes[i].companies)} companies ${fixed(p, 0)} MB`).join(', ')}` +
      (targets.peakRssFlat.s3PeaksMb.length > 0
        ? `; s3rver: ${targets.peakRssFlat.s3PeaksMb.map((p, i) => `${int(sizes[i].companies)} companies ${fixed(p, 0)} MB`).join(', ')}`
        : '') +
      ')',
  );
  log(
    `  <= 1 item read per pair: ${mark(targets.oneItemPerPair.met)} (${targets.oneItemPerPair.itemsPerPair.map((x) => fixed(x, 3)).join(', ')})`,
  );
  log(
    `  >= half of DuckDB's throughput: ${mark(targets.halfOfDuckDb?.met)}` +
      (targets.halfOfDuckDb ? ` (ratios ${targets.halfOfDuckDb.ratios.map((r) => fixed(r, 3)).join(', ')})` : ''),
  );
  if (options.sizes.length < 2) log('  (one size only: pass --sizes A,B to see memory across sizes)');
  log();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
