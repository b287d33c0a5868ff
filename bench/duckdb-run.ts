/**
 * The DuckDB reference, in its own process: load the CSV our export produced into a DuckDB table
 * (read_csv, not timed), then time `COPY t TO '<file>.csv' (HEADER)` on the same rows. Twice: with
 * the column types read_csv detects (DuckDB formats timestamps and numbers itself, as our export
 * does) and with every column VARCHAR (DuckDB only quotes and writes text). Started by
 * bench/export-bench.ts with a DuckDbSpec as JSON in argv[2]; answers a DuckDbResult over IPC.
 */
import { rm, stat } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';

export interface DuckDbSpec {
  csvFile: string;
  /** Where the COPY outputs go (removed once measured). */
  outPrefix: string;
  threads: number;
}

export interface DuckDbCopy {
  columns: 'detected types' | 'all VARCHAR';
  rows: number;
  bytes: number;
  seconds: number;
  rowsPerSecond: number;
  mbPerSecond: number;
  /** Loading the CSV into the table (not part of `seconds`). */
  loadSeconds: number;
}

export interface DuckDbResult {
  version: string;
  threads: number;
  copies: DuckDbCopy[];
  maxRssKb: number;
}

const quoted = (text: string) => `'${text.replace(/'/g, "''")}'`;

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as DuckDbSpec;
  const instance = await DuckDBInstance.create(':memory:', { threads: String(spec.threads) });
  const connection = await instance.connect();
  const version = String((await connection.runAndReadAll('SELECT version()')).getRows()[0][0]);
  const threads = Number((await connection.runAndReadAll("SELECT current_setting('threads')")).getRows()[0][0]);
  const copies: DuckDbCopy[] = [];
  for (const [columns, option] of [
    ['detected types', ''],
    ['all VARCHAR', ', all_varchar = true'],
  ] as const) {
    const loadStarted = performance.now();
    await connection.run(`CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv(${quoted(spec.csvFile)}, header = true${option})`);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const rows = Number((await connection.runAndReadAll('SELECT count(*) FROM t')).getRows()[0][0]);
    const outFile = `${spec.outPrefix}-${columns === 'all VARCHAR' ? 'varchar' : 'typed'}.csv`;
    const started = performance.now();
    await connection.run(`COPY t TO ${quoted(outFile)} (HEADER)`);
    const seconds = (performance.now() - started) / 1000;
    const { size: bytes } = await stat(outFile);
    await rm(outFile, { force: true });
    copies.push({ columns, rows, bytes, seconds, rowsPerSecond: rows / seconds, mbPerSecond: bytes / 1e6 / seconds, loadSeconds });
    await connection.run('DROP TABLE t');
  }
  connection.closeSync();
  const result: DuckDbResult = { version, threads, copies, maxRssKb: process.resourceUsage().maxRSS };
  if (process.send) process.send(result, () => process.exit(0));
  else {
    console.log(JSON.stringify(result, null, 2));
    process.exit(0);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
