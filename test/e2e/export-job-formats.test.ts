/**
 * A job in each format over HTTP against the local service, read back from the customer's bucket by
 * real readers: DuckDB (`read_json`, `read_csv`, `read_parquet`) and fast-xml-parser. Every event sent
 * comes back exactly once with its properties, files are named by the scheme (the event `a b/c` as
 * `a-b-c`), and the identity column falls back along the job's identityPriority.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { XMLParser } from 'fast-xml-parser';
import { RAW_LOG_SETTLE_MS } from '../../lambdas/core/export-job-runner';
import { CUSTOMER_BUCKET, startTestService, type TestService } from '../support/local-service';
import { createTenant, memberCall, type Member } from '../support/tenants';

let service: TestService;
let acme: Member;
let call: ReturnType<typeof memberCall>;
let destinationId: string;
let directory: string;
let db: DuckDBConnection;
/** When the events were sent: their time, and so the UTC day of their files. */
let sentAt: Date;

/** Same property keys on every event, so CSV and Parquet columns are the same in every file. */
const sent = [
  {
    event: 'purchase',
    userId: 'alice',
    attributes: { seq: 0, amount: 12.5, note: 'quote " and, comma' },
    context: { email: 'alice@acme.example' },
  },
  { event: 'purchase', userId: 'bob', attributes: { seq: 1, amount: 3, note: 'line\nbreak <tag> & amp' } },
  { event: 'a b/c', userId: 'bob', attributes: { seq: 2, amount: 1, note: 'emoji 🎉' } },
  {
    event: 'a b/c',
    userId: 'carol',
    attributes: { seq: 3, amount: 2, note: 'plain' },
    context: { email: 'carol@acme.example', phone: '+15550100' },
  },
  {
    event: 'purchase',
    userId: 'dave',
    attributes: { seq: 4, amount: 0.25, note: 'Ünïcode' },
    context: { email: 'dave@acme.example' },
  },
];
/** identityPriority phone, email, identity: the first present of them. */
const identities = ['alice@acme.example', 'bob', 'bob', '+15550100', 'dave@acme.example'];
const expected = sent.map(({ event, attributes }, i) => ({
  name: event,
  seq: attributes.seq,
  amount: attributes.amount,
  note: attributes.note,
  identity: identities[i],
}));
type Row = (typeof expected)[number];
const bySeq = (rows: Row[]) => [...rows].sort((a, b) => a.seq - b.seq);

beforeAll(async () => {
  service = await startTestService({ customerStorage: true });
  acme = await createTenant(service, 'enterprise', 'Acme');
  call = memberCall(service, acme);
  const destination = await call('POST', '/destinations', {
    name: 'Lake',
    provider: 'Custom',
    bucket: CUSTOMER_BUCKET,
    key: 'lake',
    endpoint: service.customerStorage!.endpoint,
    auth: { mode: 'accessKey', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER-SECRET' },
  });
  expect(destination.status).toBe(201);
  destinationId = destination.body.id;
  const ingested = await service.call('POST', '/ingest/bulk', {
    headers: { authorization: `Bearer ${acme.ingestKey}` },
    body: sent.map((item) => ({ type: 'event', ...item })),
  });
  sentAt = new Date();
  expect(ingested.status).toBe(200);
  await service.services.rawLog.flush();
  directory = await mkdtemp(join(tmpdir(), 'export-job-e2e-'));
  db = await (await DuckDBInstance.create(':memory:')).connect();
});

afterAll(async () => {
  db?.closeSync();
  await rm(directory, { recursive: true, force: true });
  await service.stop();
});

async function query(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS();
}

/** Creates a recurring job, fires it as its schedule would (its window holding every event sent), and downloads its files. */
async function exportedFiles(format: string, compression: 'gzip' | 'none') {
  const job = await call('POST', '/export-jobs', {
    destinationId,
    type: 'allEvents',
    identityPriority: ['phone', 'email', 'identity'],
    frequency: { kind: 'recurring', everyHours: 24 },
    format,
    compression,
    notifyEmails: ['data@acme.example'],
  });
  expect(job.status).toBe(201);
  const scheduledTime = new Date(Date.now() + RAW_LOG_SETTLE_MS + 1000);
  const fired = await service.call('POST', '/local/scheduler/fire', {
    body: { jobId: job.body.id, scheduledTime: scheduledTime.toISOString() },
  });
  expect(fired.body).toMatchObject({ outcome: 'ran', run: { status: 'successful' } });
  const { Contents = [] } = await service.clients.s3.send(
    new ListObjectsV2Command({ Bucket: CUSTOMER_BUCKET, Prefix: `lake/${job.body.id}-` }),
  );
  const runTs = scheduledTime.toISOString().replace(/\D/g, '').slice(0, 14);
  const day = sentAt.toISOString().slice(0, 10).replace(/-/g, '');
  const extension =
    { json: 'json', xml: 'xml', csv: 'csv', parquet: 'parquet' }[format]! +
    (compression === 'gzip' ? (format === 'parquet' ? '.gzip' : '.gz') : '');
  // One file per event name (and UTC day), the name's whitespace and slash made dashes.
  expect(Contents.map((object) => object.Key).sort()).toEqual(
    ['a-b-c', 'purchase'].map(
      (name) => `lake/${job.body.id}-${runTs}-${name}-${day}-0-${acme.environmentId}.${extension}`,
    ),
  );
  const runFiles = (await call('GET', `/export-jobs/${job.body.id}/runs`)).body.runs[0].files as {
    key: string;
    records: number;
  }[];
  expect(runFiles.map((file) => file.records).sort()).toEqual([2, 3]);
  const files = [];
  for (const { Key } of Contents) {
    const bytes = Buffer.from(
      await (
        await service.clients.s3.send(new GetObjectCommand({ Bucket: CUSTOMER_BUCKET, Key }))
      ).Body!.transformToByteArray(),
    );
    const path = join(directory, basename(Key!));
    await writeFile(path, bytes);
    files.push({
      path,
      text: () => (compression === 'gzip' && format !== 'parquet' ? gunzipSync(bytes) : bytes).toString('utf8'),
    });
  }
  return files;
}

test('JSON lines (gzip): DuckDB read_json reads every event after the name line', async () => {
  const rows: Row[] = [];
  for (const file of await exportedFiles('json', 'gzip')) {
    const text = file.text();
    const name = JSON.parse(text.slice(0, text.indexOf('\n'))) as string;
    const found = await query(
      `SELECT eventProps.seq::INTEGER AS seq, eventProps.amount::DOUBLE AS amount, eventProps.note::VARCHAR AS note, profile.identity::VARCHAR AS identity
       FROM read_json('${file.path}', format = 'newline_delimited', compression = 'gzip', ignore_errors = true,
                      columns = {profile: 'STRUCT(identity VARCHAR)', ts: 'BIGINT', eventProps: 'STRUCT(seq INTEGER, amount DOUBLE, note VARCHAR)'})
       WHERE ts IS NOT NULL`,
    );
    rows.push(...found.map((row) => ({ name, ...row }) as Row));
  }
  expect(bySeq(rows)).toEqual(expected);
});

test('CSV (uncompressed): DuckDB read_csv reads every event with its header', async () => {
  const files = await exportedFiles('csv', 'none');
  const rows = await query(
    `SELECT eventName AS name, seq::INTEGER AS seq, amount::DOUBLE AS amount, note, identity
     FROM read_csv([${files.map((file) => `'${file.path}'`).join(',')}], header = true, all_varchar = true)`,
  );
  // Text starting with + (a phone number here) is neutralized against spreadsheet formulas, as documented.
  const neutralized = expected.map((row) => ({ ...row, identity: row.identity.replace(/^\+/, "'+") }));
  expect(bySeq(rows as Row[])).toEqual(neutralized);
});

test('Parquet (GZIP codec): DuckDB read_parquet reads every event, typed', async () => {
  const files = await exportedFiles('parquet', 'gzip');
  const rows = await query(
    `SELECT eventName AS name, seq::INTEGER AS seq, amount, note, identity, typeof(ts) AS tsType
     FROM read_parquet([${files.map((file) => `'${file.path}'`).join(',')}])`,
  );
  expect(rows.every((row) => String(row.tsType).startsWith('TIMESTAMP'))).toBe(true);
  expect(bySeq(rows.map(({ tsType: _t, ...row }) => row) as Row[])).toEqual(expected);
});

test('XML (gzip): every file parses alone with fast-xml-parser and holds its events', async () => {
  const parser = new XMLParser({ parseTagValue: false, isArray: (name) => ['Event', 'entry'].includes(name) });
  const rows: Row[] = [];
  for (const file of await exportedFiles('xml', 'gzip')) {
    for (const event of parser.parse(file.text()).Events.Event) {
      const props = Object.fromEntries(
        event.eventProps.entry.map((entry: { key: string; value: string }) => [entry.key, entry.value]),
      );
      rows.push({
        name: event.eventName,
        seq: Number(props.seq),
        amount: Number(props.amount),
        note: props.note,
        identity: event.profile.identity,
      });
    }
  }
  expect(bySeq(rows)).toEqual(expected);
});
