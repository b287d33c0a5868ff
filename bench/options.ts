/**
 * The benchmark's command line: `npm run bench -- --companies 5000 --features 20 --days 200 --sizes 2500,5000`.
 * Every flag has a default matching the issue (5,000 companies x 20 features x 200 days, measured at
 * half and full size so that memory can be seen to stay flat as the tenant grows).
 */
import { cpus } from 'node:os';
import type { FileFormatName } from '../lambdas/core/export/job-files';

/** The export-job section's formats, in the order measured. */
export const JOB_FORMATS: readonly FileFormatName[] = ['json', 'csv', 'parquet', 'xml'];

export interface BenchOptions {
  /** The full tenant size; `sizes` defaults to half and full of it. */
  companies: number;
  features: number;
  days: number;
  seed: number;
  /** The tenant's last day of data and the export's "now" (fixed so cached tenants stay valid). */
  endAt: number;
  /** Tenant sizes (companies) measured, ascending. */
  sizes: number[];
  /** Concurrent putCompanyUsage calls while loading a tenant into dynalite. */
  loadConcurrency: number;
  duckdbThreads: number;
  /** Run the end-to-end export into s3rver. */
  s3: boolean;
  /** Run the time breakdown (store read only, rows in memory, CSV in memory) on the largest size. */
  breakdown: boolean;
  duckdb: boolean;
  /** Write V8 CPU profiles of the measured child processes into .bench/profiles. */
  cpuProf: boolean;
  /** Drop the cached tenants (the dynalite data under .bench/data) before starting. */
  fresh: boolean;
  /** Keep the exported CSV files under .bench/out (removed at the end by default: they are large). */
  keepFiles: boolean;
  /** Times each export is run; the run with the median time is reported (all times are kept). */
  repeat: number;
  /** How the measured export process runs: `bundle` (esbuild, like the deployed Lambda) or `tsx`. */
  runner: 'bundle' | 'tsx';
  /** Raw event log section: records written and read at each size, ascending (empty: skipped). */
  rawSizes: number[];
  /** Only the raw event log section (no export). */
  rawOnly: boolean;
  /** Raw revisions section: records in the log at each size, ascending (empty: skipped). */
  revisionSizes: number[];
  /** Only the raw revisions section. */
  revisionsOnly: boolean;
  /** Export-job section: events per measured size, run unless --no-jobs; --jobs-only runs it alone. */
  jobSizes: number[];
  /** Export-job section: the formats measured (default all four). */
  jobFormats: FileFormatName[];
  jobs: boolean;
  jobsOnly: boolean;
}

const HELP = `Usage: npm run bench -- [flags]

  --companies N        full tenant size (default 5000)
  --features N         features per tenant (default 20)
  --days N             days of usage history (default 200)
  --sizes A,B,...      tenant sizes to measure (default: half and full of --companies)
  --seed N             synthetic data seed (default 42)
  --end ISO            last instant of data and the export's "now" (default 2026-11-23T12:00:00Z)
  --load-concurrency N concurrent company loads into dynalite (default 16)
  --duckdb-threads N   DuckDB threads (default: the machine's cores)
  --no-s3              skip the end-to-end export into s3rver
  --no-breakdown       skip the time breakdown runs
  --no-duckdb          skip the DuckDB reference
  --cpu-prof           write CPU profiles of the export runs into .bench/profiles (function names kept)
  --fresh              drop the cached tenants and load them again
  --keep-files         keep the exported CSV files under .bench/out
  --repeat N           run each measurement N times and report the median (default 1)
  --runner R           bundle (default: esbuild-bundled like the Lambda) or tsx
  --raw-sizes A,B,...  raw event log section: records written, then read (default 1000000,4000000)
  --no-raw             skip the raw event log section
  --raw-only           only the raw event log section (e.g. --raw-only --raw-sizes 100000 for a quick run)
  --revision-sizes A,B raw revisions section: records in the log, copied as revisions (default 1000000,4000000)
  --no-revisions       skip the raw revisions section
  --revisions-only     only the raw revisions section
  --job-sizes A,B,...  export-job section: events per size (default 1000000; 1000000,4000000 shows memory flat)
  --job-formats F,...  export-job section: the formats measured (default json,csv,parquet,xml)
  --no-jobs            skip the export-job section
  --jobs-only          run only the export-job section
`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(HELP);
      process.exit(0);
    }
    if (!arg.startsWith('--')) throw new Error(`Unexpected argument "${arg}".\n\n${HELP}`);
    const eq = arg.indexOf('=');
    if (eq !== -1) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      flags.set(arg.slice(2), argv[++i]);
    } else {
      flags.set(arg.slice(2), true);
    }
  }
  const known = new Set([
    'companies',
    'features',
    'days',
    'sizes',
    'seed',
    'end',
    'load-concurrency',
    'duckdb-threads',
    'no-s3',
    'no-breakdown',
    'no-duckdb',
    'cpu-prof',
    'fresh',
    'keep-files',
    'repeat',
    'runner',
    'raw-sizes',
    'no-raw',
    'raw-only',
    'revision-sizes',
    'no-revisions',
    'revisions-only',
    'job-sizes',
    'job-formats',
    'no-jobs',
    'jobs-only',
  ]);
  for (const name of flags.keys()) {
    if (!known.has(name)) throw new Error(`Unknown flag --${name}.\n\n${HELP}`);
  }
  const integer = (name: string, fallback: number, min = 1): number => {
    const value = flags.get(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number of at least ${min}.`);
    return n;
  };
  const bool = (name: string): boolean => flags.get(name) === true || flags.get(name) === 'true';

  const companies = integer('companies', 5000);
  const list = (name: string): number[] | undefined => {
    const value = flags.get(name);
    if (typeof value !== 'string') return undefined;
    return value.split(',').map((s) => {
      const n = Number(s.trim());
      if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must list whole numbers, got "${s}".`);
      return n;
    });
  };
  const sizes = list('sizes') ?? [Math.max(1, Math.round(companies / 2)), companies];
  const formatsFlag = flags.get('job-formats');
  const jobFormats = typeof formatsFlag === 'string' ? formatsFlag.split(',').map((s) => s.trim()) : [...JOB_FORMATS];
  const unknownFormat = jobFormats.find((format) => !(JOB_FORMATS as readonly string[]).includes(format));
  if (unknownFormat !== undefined)
    throw new Error(`--job-formats lists ${JOB_FORMATS.join(', ')}, got "${unknownFormat}".`);
  const rawSizes = bool('no-raw') ? [] : (list('raw-sizes') ?? [1_000_000, 4_000_000]);
  const runner = flags.get('runner') ?? 'bundle';
  if (runner !== 'bundle' && runner !== 'tsx') throw new Error('--runner must be bundle or tsx.');
  const endFlag = flags.get('end');
  const endAt = typeof endFlag === 'string' ? Date.parse(endFlag) : Date.UTC(2026, 10, 23, 12, 0, 0);
  if (!Number.isFinite(endAt)) throw new Error('--end must be an ISO-8601 instant.');

  return {
    companies: Math.max(companies, ...sizes),
    features: integer('features', 20),
    days: integer('days', 200),
    seed: integer('seed', 42, 0),
    endAt,
    sizes: [...new Set(sizes)].sort((a, b) => a - b),
    loadConcurrency: integer('load-concurrency', 16),
    duckdbThreads: integer('duckdb-threads', cpus().length),
    s3: !bool('no-s3'),
    breakdown: !bool('no-breakdown'),
    duckdb: !bool('no-duckdb'),
    cpuProf: bool('cpu-prof'),
    fresh: bool('fresh'),
    keepFiles: bool('keep-files'),
    repeat: integer('repeat', 1),
    runner,
    rawSizes: [...new Set(rawSizes)].sort((a, b) => a - b),
    rawOnly: bool('raw-only'),
    revisionSizes: [...new Set(bool('no-revisions') ? [] : (list('revision-sizes') ?? [1_000_000, 4_000_000]))].sort(
      (a, b) => a - b,
    ),
    revisionsOnly: bool('revisions-only'),
    jobSizes: [...new Set(list('job-sizes') ?? [1_000_000])].sort((a, b) => a - b),
    jobFormats: jobFormats as FileFormatName[],
    jobs: !bool('no-jobs'),
    jobsOnly: bool('jobs-only'),
  };
}
