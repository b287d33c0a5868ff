/**
 * Export-job files read back by real readers: DuckDB (`read_json`, `read_csv`, `read_parquet`, gzip
 * included) and fast-xml-parser. Files are written by the local file sink, in small chunks so that
 * every event name spans several files; every event must come back exactly once with its properties.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { XMLParser } from 'fast-xml-parser';
import { LocalFileSink } from '../../lambdas/adapters/local/file-sink';
import { runExportJob, type ExportJobRunSpec } from '../../lambdas/core/export-job-run';
import type { Compression, FileFormatName } from '../../lambdas/core/export/job-files';
import { ArrayProfileStore, ArrayRawEventReader, eventRecord } from '../support/export-job-fixtures';

const AT = Date.UTC(2026, 10, 22, 23, 0, 0);
const NAMES = ['signup', 'a b/c', 'Ünïcode 🎉'];
const TRICKY = ['plain', 'quote " and, comma', 'line\nbreak', '<tag> & amp', 'emoji 🎉', 'ctrl \u0001 char'];

/** 300 events of 3 names over two UTC days, with numbers, booleans and hostile text. */
const records = Array.from({ length: 300 }, (_, i) =>
  eventRecord(NAMES[i % 3], AT + i * 30_000, {
    seq: i,
    price: i / 4,
    paid: i % 2 === 0,
    label: TRICKY[i % TRICKY.length],
  }),
);

let directory: string;
let duckdb: DuckDBInstance;
let db: DuckDBConnection;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'export-job-'));
  duckdb = await DuckDBInstance.create(':memory:');
  db = await duckdb.connect();
});

afterAll(async () => {
  db.closeSync();
  await rm(directory, { recursive: true, force: true });
});

async function exportAll(format: FileFormatName, compression: Compression) {
  const sink = new LocalFileSink({ directory });
  const spec: ExportJobRunSpec = {
    environmentId: 'env1',
    organizationId: 'org1',
    jobId: `job-${format}-${compression}`,
    type: 'allEvents',
    format,
    compression,
    keyPrefix: 'exports',
    window: { from: AT - 3_600_000, to: AT + 86_400_000, by: 'receiveTime' },
    runScheduledAt: Date.UTC(2026, 10, 24, 4),
  };
  const { files } = await runExportJob(spec, {
    rawEvents: new ArrayRawEventReader(records),
    profiles: new ArrayProfileStore([]),
    sink,
    maxFileBytes: 4_000,
  });
  // 3 names x 2 days, some in several chunks, each named by the scheme.
  expect(files.length).toBeGreaterThan(6);
  for (const file of files) {
    expect(file.key).toMatch(
      new RegExp(`^exports/${spec.jobId}-20261124040000-(signup|a-b-c|Ünïcode-🎉)-2026112[23]-\\d+-env1\\.`),
    );
  }
  expect(files.reduce((sum, file) => sum + file.records, 0)).toBe(records.length);
  return files.map((file) => ({ ...file, path: sink.pathOf(file.key) }));
}

type Row = { name: string; seq: number; price: number; paid: boolean | string; label: string };

/** What every exported event must come back as. */
const expected = (asText: boolean): Row[] =>
  records.map((record) => {
    const props = record.attributes!;
    return {
      name: record.event!,
      seq: props.seq as number,
      price: props.price as number,
      paid: asText ? JSON.stringify(props.paid) : (props.paid as boolean),
      label: props.label as string,
    };
  });

const bySeq = (rows: Row[]) => [...rows].sort((a, b) => a.seq - b.seq);

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const reader = await db.runAndReadAll(sql);
  return reader.getRowObjectsJS();
}

describe.each(['gzip', 'none'] as const)('compression %s', (compression) => {
  it('JSON lines: DuckDB reads each file after its first line, the event name', async () => {
    const files = await exportAll('json', compression);
    const rows: Row[] = [];
    for (const file of files) {
      const bytes = await readFile(file.path);
      const text = (compression === 'gzip' ? gunzipSync(bytes) : bytes).toString('utf8');
      const name = JSON.parse(text.slice(0, text.indexOf('\n')));
      const found = await query(
        `SELECT eventProps.seq::INTEGER AS seq, eventProps.price::DOUBLE AS price, eventProps.paid::BOOLEAN AS paid,
                eventProps.label::VARCHAR AS label, profile.identity::VARCHAR AS identity, ts::BIGINT AS ts
         FROM read_json('${file.path}', format = 'newline_delimited', compression = '${compression === 'gzip' ? 'gzip' : 'uncompressed'}', ignore_errors = true,
                        columns = {profile: 'STRUCT(identity VARCHAR)', ts: 'BIGINT', eventProps: 'STRUCT(seq INTEGER, price DOUBLE, paid BOOLEAN, label VARCHAR)'})
         WHERE ts IS NOT NULL`,
      );
      // The first line (the name, a JSON string) is the one line DuckDB skips: every event is read.
      expect(found).toHaveLength(file.records);
      for (const row of found)
        rows.push({
          name,
          seq: row.seq as number,
          price: row.price as number,
          paid: row.paid as boolean,
          label: row.label as string,
        });
    }
    expect(bySeq(rows)).toEqual(expected(false));
  });

  it('CSV: DuckDB reads every file with its header', async () => {
    const files = await exportAll('csv', compression);
    const rows = await query(
      `SELECT eventName AS name, seq::INTEGER AS seq, price::DOUBLE AS price, paid::VARCHAR AS paid, label::VARCHAR AS label, ts
       FROM read_csv([${files.map((f) => `'${f.path}'`).join(',')}], header = true, all_varchar = true)`,
    );
    expect(rows).toHaveLength(records.length);
    expect(
      bySeq(rows as Row[]).map(({ name, seq, price, paid, label }) => ({ name, seq, price, paid, label })),
    ).toEqual(expected(true));
    expect(rows.find((row) => row.seq === 0)!.ts).toBe('2026-11-22T23:00:00.000Z');
  });

  it('Parquet: DuckDB reads every file, with a timestamp ts and typed properties', async () => {
    const files = await exportAll('parquet', compression);
    expect(files[0].key.endsWith(compression === 'gzip' ? '.parquet.gzip' : '.parquet')).toBe(true);
    const rows = await query(
      `SELECT eventName AS name, seq::INTEGER AS seq, price, paid, label, epoch_ms(ts) AS ms, typeof(ts) AS tsType
       FROM read_parquet([${files.map((f) => `'${f.path}'`).join(',')}])`,
    );
    expect(
      bySeq(rows.map(({ name, seq, price, paid, label }) => ({ name, seq, price, paid, label })) as Row[]),
    ).toEqual(expected(false));
    expect(rows[0].tsType).toMatch(/^TIMESTAMP/);
    expect(Number(rows.find((row) => row.seq === 1)!.ms)).toBe(AT + 30_000);
  });

  it('XML: every file parses alone and holds its events', async () => {
    const files = await exportAll('xml', compression);
    const parser = new XMLParser({ parseTagValue: false, isArray: (name) => ['Event', 'entry'].includes(name) });
    const rows: Row[] = [];
    for (const file of files) {
      const bytes = await readFile(file.path);
      const document = parser.parse((compression === 'gzip' ? gunzipSync(bytes) : bytes).toString('utf8'));
      for (const event of document.Events.Event) {
        const props = Object.fromEntries(
          event.eventProps.entry.map((entry: { key: string; value: string }) => [entry.key, entry.value]),
        );
        rows.push({
          name: event.eventName,
          seq: Number(props.seq),
          price: Number(props.price),
          paid: props.paid,
          label: props.label,
        });
      }
    }
    const withReplacedControls = expected(true).map((row) => ({
      ...row,
      label: row.label.replace('\u0001', '\ufffd'),
    }));
    expect(bySeq(rows)).toEqual(withReplacedControls);
  });
});

it('profiles: one gzip-compressed Parquet or CSV row per profile, read by DuckDB', async () => {
  const profiles = new ArrayProfileStore(
    Array.from({ length: 50 }, (_, i) => ({
      userId: i % 5 === 0 ? '' : `user-${i}`,
      attributes: { email: `u${i}@example.com`, plan: i % 2 ? 'pro' : 'free', seats: i },
      updatedAt: i,
    })),
  );
  const sink = new LocalFileSink({ directory });
  for (const format of ['csv', 'parquet'] as const) {
    const { files } = await runExportJob(
      {
        environmentId: 'env1',
        organizationId: 'org1',
        jobId: `profiles-${format}`,
        type: 'userProfiles',
        format,
        compression: 'none',
        keyPrefix: 'p',
        window: { from: 0, to: 1, by: 'receiveTime' },
        runScheduledAt: Date.UTC(2026, 10, 24),
      },
      { rawEvents: new ArrayRawEventReader([]), profiles, sink },
    );
    expect(files.map((f) => f.key)).toEqual([
      `p/org1-profiles-${format}-20261124000000-env1-0.${format === 'csv' ? 'csv.gz' : 'parquet.gzip'}`,
    ]);
    const path = sink.pathOf(files[0].key);
    const source =
      format === 'csv'
        ? `read_csv('${path}', header = true, compression = 'gzip', all_varchar = true)`
        : `read_parquet('${path}')`;
    // The email attribute keeps a column of its own next to the profile's email, under a distinct name.
    expect((await query(`DESCRIBE SELECT * FROM ${source}`)).map((column) => column.column_name)).toEqual([
      'identity',
      'email',
      'phone',
      'profileProps.email',
      'plan',
      'seats',
    ]);
    const rows = await query(
      `SELECT identity, email, "profileProps.email" AS attribute, seats::INTEGER AS seats FROM ${source} ORDER BY seats`,
    );
    expect(rows).toHaveLength(50);
    // A user without a user id gets the email as identity.
    expect(rows[0]).toEqual({
      identity: 'u0@example.com',
      email: 'u0@example.com',
      attribute: 'u0@example.com',
      seats: 0,
    });
    expect(rows[1]).toEqual({ identity: 'user-1', email: 'u1@example.com', attribute: 'u1@example.com', seats: 1 });
  }
});
