/**
 * The DuckDB reference, in its own process: load the CSV our export produced into a DuckDB table
 * (read_csv, not timed), then time `COPY t TO '<file>.csv' (HEADER)` on the same rows: with the
 * column types read_csv detects (DuckDB formats timestamps and numbers itself, as our export does;
 * the reference), with every column VARCHAR (DuckDB only quotes and writes text), and with the
 * detected types on one thread. Started by
 * bench/export-bench.ts with a DuckDbSpec as JSON in argv[2]; answers a DuckDbResult over IPC.
 */
import { rm, stat } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { finishChild } from './processes';

export interface DuckDbSpec {
  csvFile: string;
  /** Where the COPY outputs go (removed once measured). */
  outPrefix: string;
  threads: number;
  /** COPY runs per table; the median is reported. */
  repeat?: number;
}

export interface DuckDbCopy {
  columns: 'detected types' | 'all VARCHAR';
  threads: number;
  rows: number;
  bytes: number;
  seconds: number;
  rowsPerSecond: number;
  mbPerSecond: number;
  /** Loading the CSV into the table (not part of `seconds`). */
  loadSeconds: number;
  /** Every COPY's seconds; `seconds` is their median. */
  repeats: number[];
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
  // The reference (detected types, all threads) first, then all VARCHAR, then one thread: the export
  // is one Node.js thread, so DuckDB on one thread shows what a single core does.
  for (const [columns, option, copyThreads] of [
    ['detected types', '', threads],
    ['all VARCHAR', ', all_varchar = true', threads],
    ['detected types', '', 1],
  ] as const) {
    const loadStarted = performance.now();
    await connection.run(`SET threads = ${threads}`);
    await connection.run(
      `CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv(${quoted(spec.csvFile)}, header = true${option})`,
    );
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const rows = Number((await connection.runAndReadAll('SELECT count(*) FROM t')).getRows()[0][0]);
    const outFile = `${spec.outPrefix}-${columns === 'all VARCHAR' ? 'varchar' : 'typed'}.csv`;
    const repeats: number[] = [];
    let bytes = 0;
    await connection.run(`SET threads = ${copyThreads}`);
    for (let i = 0; i < (spec.repeat ?? 1); i++) {
      const started = performance.now();
      await connection.run(`COPY t TO ${quoted(outFile)} (HEADER)`);
      repeats.push((performance.now() - started) / 1000);
      bytes = (await stat(outFile)).size;
      await rm(outFile, { force: true });
    }
    const seconds = [...repeats].sort((a, b) => a - b)[Math.floor((repeats.length - 1) / 2)];
    copies.push({
      columns,
      threads: copyThreads,
      rows,
      bytes,
      seconds,
      rowsPerSecond: rows / seconds,
      mbPerSecond: bytes / 1e6 / seconds,
      loadSeconds,
      repeats,
    });
    await connection.run('DROP TABLE t');
  }
  connection.closeSync();
  const result: DuckDbResult = { version, threads, copies, maxRssKb: process.resourceUsage().maxRSS };
  finishChild(result);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
