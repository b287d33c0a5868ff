/**
 * The raw revisions export end to end over HTTP: enabled on a destination of the simulated customer
 * storage, data sent through the official SDK, the bulk and alias routes over two simulated days, runs
 * fired as the schedule would on the next days. The revisions are read back with DuckDB and the guide
 * files with csv-parse: every item once, in receive order, numbered consecutively; a budget cut and a
 * retried fire neither skip nor repeat a number; a revision the customer deleted is not written again.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { BucketClient } from '@bucketco/node-sdk';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { parse } from 'csv-parse/sync';
import { CUSTOMER_BUCKET, startTestService, type TestService } from '../support/local-service';
import { createTenant, memberCall, type Member } from '../support/tenants';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Near the real date: the SDK's items carry no timestamp, so their time is the (simulated) receive time.
const DAY1 = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;
const clock = { current: DAY1 + 10 * HOUR, now: () => clock.current };
const utc = (at: number) => new Date(at).toISOString();

let service: TestService;
let acme: Member;
let call: ReturnType<typeof memberCall>;
let duckdb: DuckDBInstance;
let db: DuckDBConnection;
let folder: string;

beforeAll(async () => {
  service = await startTestService({ customerStorage: true, clock });
  acme = await createTenant(service, 'enterprise', 'Acme');
  call = memberCall(service, acme);
  duckdb = await DuckDBInstance.create(':memory:');
  db = await duckdb.connect();
  folder = mkdtempSync(join(tmpdir(), 'revisions-'));
});

afterAll(async () => {
  db?.closeSync();
  rmSync(folder, { recursive: true, force: true });
  await service.stop();
});

const ingest = (path: string, body: unknown) =>
  service.call('POST', `/ingest/${path}`, { headers: { authorization: `Bearer ${acme.ingestKey}` }, body });
const fire = (scheduledTime: number, extra: Record<string, unknown> = {}) =>
  service.call('POST', '/local/scheduler/fire', {
    body: { target: 'raw-export', envId: acme.environmentId, scheduledTime: utc(scheduledTime), ...extra },
  });

async function objectText(key: string): Promise<string> {
  const object = await service.clients.s3.send(new GetObjectCommand({ Bucket: CUSTOMER_BUCKET, Key: key }));
  return object.Body!.transformToString('utf8');
}

async function revisionKeys(): Promise<string[]> {
  const { Contents = [] } = await service.clients.s3.send(
    new ListObjectsV2Command({ Bucket: CUSTOMER_BUCKET, Prefix: 'km/revisions/' }),
  );
  return Contents.map((object) => object.Key!).sort((a, b) => revisionNumber(a) - revisionNumber(b));
}
const revisionNumber = (key: string) => Number(/(\d+)\.json$/.exec(key)![1]);

/** A revision's lines as DuckDB reads them (JSON lines), in file order. */
async function readRevision(key: string): Promise<Record<string, unknown>[]> {
  const file = join(folder, key.replaceAll('/', '_'));
  writeFileSync(file, await objectText(key));
  const reader = await db.runAndReadAll(
    `SELECT to_json(r)::VARCHAR AS line FROM read_json('${file}', format = 'newline_delimited') r`,
  );
  return reader.getRows().map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
}

/** What a person did, without the time (each line's `_t` is checked against the index instead). */
const gist = (line: Record<string, unknown>) => {
  const { _t, ...rest } = line;
  return Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== null));
};

test('revisions copy every item once in receive order, resume after a budget cut, and never refill a deleted revision', async () => {
  const destination = await call('POST', '/destinations', {
    name: 'KM bucket',
    provider: 'Custom',
    bucket: CUSTOMER_BUCKET,
    key: 'km',
    endpoint: service.customerStorage!.endpoint,
    auth: { mode: 'accessKey', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER-SECRET' },
  });
  expect(destination.status).toBe(201);
  expect((await call('GET', '/raw-export/status')).body).toMatchObject({
    status: 'never ran before',
    totalRevisions: 0,
    exportedRevisions: 0,
  });
  const saved = await call('PUT', '/raw-export/settings', {
    enabled: true,
    destinationId: destination.body.id,
    notifyEmails: ['data@acme.example'],
  });
  expect(saved).toMatchObject({ status: 200, body: { enabled: true, destinationId: destination.body.id, version: 1 } });

  // Day 1, 10:00: the SDK; 14:00: an alias. Day 2, 09:00: a bulk of events and feedback. Each flush of
  // the local log writes one object: one revision.
  const sdk = new BucketClient({
    secretKey: acme.ingestKey,
    apiBaseUrl: `${service.url}/ingest`,
    offline: false,
    batchOptions: { flushOnExit: false, intervalMs: 0, maxSize: 100 },
    logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  await sdk.updateCompany('acme', { attributes: { name: 'Acme, Inc.', employees: 1200 } });
  await sdk.updateUser('alice', { attributes: { name: 'Alice' } });
  await sdk.track('alice', 'Visited Site', {
    attributes: { url: 'http://mysite.com', 'campaign name': 'my campaign' },
  });
  await sdk.flush();
  await service.services.rawLog.flush();
  clock.current = DAY1 + 14 * HOUR;
  expect(await ingest('alias', { userId: 'alice', alias: 'alice@acme.example' })).toEqual({
    status: 200,
    body: { success: true },
  });
  await service.services.rawLog.flush();
  clock.current = DAY1 + DAY + 9 * HOUR;
  const bulk = Array.from({ length: 5 }, (_, i) => ({
    type: 'event',
    userId: 'bob',
    event: 'report_run',
    attributes: { seq: i },
  }));
  expect(
    await ingest('bulk', [
      ...bulk,
      { type: 'feedback', userId: 'bob', companyId: 'acme', key: 'report_run', score: 5 },
    ]),
  ).toEqual({
    status: 200,
    body: { success: true },
  });
  await service.services.rawLog.flush();
  // Day 3: received today, counted in the total but not exported before tomorrow.
  clock.current = DAY1 + 2 * DAY + 9 * HOUR;
  await ingest('event', { userId: 'carol', event: 'today' });
  await service.services.rawLog.flush();

  // Day 3, 12:00 with a budget of one revision, then the same fire retried, then a full run.
  clock.current = DAY1 + 2 * DAY + 12 * HOUR;
  const cut = await fire(clock.current, { budgetMs: 0 });
  expect(cut.body).toMatchObject({ outcome: 'successful', written: [1], exportedRevisions: 1, complete: false });
  const retried = await fire(clock.current, { budgetMs: 0 });
  expect(retried.body).toMatchObject({ outcome: 'successful', written: [2], exportedRevisions: 2 });
  const rest = await fire(clock.current);
  expect(rest.body).toMatchObject({
    outcome: 'successful',
    written: [3],
    exportedRevisions: 3,
    totalRevisions: 4,
    complete: true,
  });
  expect((await fire(clock.current)).body).toMatchObject({ written: [], exportedRevisions: 3 });

  const keys = await revisionKeys();
  expect(keys).toEqual([1, 2, 3].map((n) => `km/revisions/${n}.json`));
  const revisions = await Promise.all(keys.map(readRevision));
  expect(revisions.flat().map(gist)).toEqual([
    { _p: 'company:acme', employees: 1200, name: 'Acme, Inc.' },
    { _p: 'alice', name: 'Alice' },
    { _p: 'alice', _n: 'Visited Site', 'campaign name': 'my campaign', url: 'http://mysite.com' },
    { _p: 'alice', _p2: 'alice@acme.example' },
    ...bulk.map((_, i) => ({ _p: 'bob', _n: 'report_run', seq: i })),
    { _p: 'bob', _n: 'report_run', score: 5 },
  ]);

  // The guide files match the revisions.
  const index = parse<Record<string, string>>(await objectText('km/index.csv'), { columns: true });
  expect(index.map((row) => row.Filename)).toEqual(keys.map((key) => key.slice('km/'.length)));
  revisions.forEach((lines, i) => {
    const times = lines.map((line) => line._t as number);
    expect(Number(index[i]['Minimum Timestamp'])).toBe(Math.min(...times));
    expect(Number(index[i]['Maximum Timestamp'])).toBe(Math.max(...times));
    expect(index[i]['Maximum UTC Timestamp']).toBe(
      utc(Math.max(...times) * 1000)
        .slice(0, 19)
        .replace('T', ' '),
    );
  });
  const maxT = Math.max(...revisions.flat().map((line) => line._t as number));
  expect(parse(await objectText('km/status.csv'))).toEqual([
    ['Total Revisions', 'Exported Revisions', 'Max Exported Revision Timestamp', 'Max Exported Revision UTC Timestamp'],
    [
      '4',
      '3',
      String(maxT),
      utc(maxT * 1000)
        .slice(0, 19)
        .replace('T', ' '),
    ],
  ]);
  expect((await call('GET', '/raw-export/status')).body).toEqual({
    totalRevisions: 4,
    exportedRevisions: 3,
    maxExportedTimestamp: maxT,
    maxExportedAt: utc(maxT * 1000),
    lastRunAt: utc(clock.current),
    nextRunAt: utc(DAY1 + 3 * DAY),
    status: 'successful',
    error: null,
  });

  // The customer deletes revision 1; the next day's run writes only the new revision, numbered on.
  await service.clients.s3.send(new DeleteObjectCommand({ Bucket: CUSTOMER_BUCKET, Key: 'km/revisions/1.json' }));
  clock.current = DAY1 + 3 * DAY + 12 * HOUR;
  expect((await fire(clock.current)).body).toMatchObject({
    outcome: 'successful',
    written: [4],
    exportedRevisions: 4,
    totalRevisions: 4,
  });
  expect(await revisionKeys()).toEqual([2, 3, 4].map((n) => `km/revisions/${n}.json`));
  expect((await readRevision('km/revisions/4.json')).map(gist)).toEqual([{ _p: 'carol', _n: 'today' }]);
});

test('settings are refused with a clear message when the destination does not exist, and disabling removes the schedule', async () => {
  const refused = await call('PUT', '/raw-export/settings', {
    enabled: true,
    destinationId: 'dst_missing',
    notifyEmails: ['data@acme.example'],
  });
  expect(refused.status).toBe(400);
  expect(refused.body.error.message).toContain('destinationId: no destination dst_missing in this environment');
  const invalid = await call('PUT', '/raw-export/settings', { enabled: 'yes', notifyEmails: ['not an address'] });
  expect(invalid.status).toBe(400);
  expect(invalid.body.error.issues.map((issue: { path: string }) => issue.path).sort()).toEqual([
    'enabled',
    'notifyEmails[0]',
  ]);
  const current = (await call('GET', '/raw-export/settings')).body;
  const inUse = await call('DELETE', `/destinations/${current.destinationId}`);
  expect(inUse.status).toBe(409);
  expect(inUse.body.error).toMatchObject({
    code: 'destination_in_use',
    message: expect.stringContaining('used by the raw revisions export'),
  });
  expect(
    (await call('PUT', '/raw-export/settings', { enabled: false, notifyEmails: [], version: current.version })).status,
  ).toBe(200);
  expect((await fire(clock.current)).status).toBe(404);
});

test('a destination that refuses access: the three emails from the hourly check, then the raw export stopped', async () => {
  const destinations = (await call('GET', '/destinations')).body.items;
  const current = (await call('GET', '/raw-export/settings')).body;
  const saved = await call('PUT', '/raw-export/settings', {
    enabled: true,
    destinationId: destinations[0].id,
    notifyEmails: ['raw-owner@acme.example'],
    version: current.version,
  });
  expect(saved.status).toBe(200);
  clock.current = DAY1 + 2 * DAY + 9 * HOUR;
  await ingest('event', { userId: 'dave', event: 'later' });
  await service.services.rawLog.flush();
  await service.call('POST', '/local/customer-storage', { body: { access: 'revoked' } });
  const failedAt = DAY1 + 5 * DAY + 12 * HOUR;
  clock.current = failedAt;
  expect((await fire(failedAt)).body).toMatchObject({ outcome: 'failed', errorCode: 'access_denied', written: [] });
  const check = async (at: number) => {
    clock.current = at;
    return (await service.call('POST', '/local/check-failures', { body: { now: utc(at) } })).body.rawExports;
  };
  expect((await check(failedAt + HOUR)).emailsSent).toEqual([{ environmentId: acme.environmentId, email: 1 }]);
  expect((await check(failedAt + 2 * HOUR)).emailsSent).toEqual([]);
  expect((await check(failedAt + 25 * HOUR)).emailsSent).toEqual([{ environmentId: acme.environmentId, email: 2 }]);
  expect(await check(failedAt + 72 * HOUR)).toMatchObject({
    emailsSent: [{ environmentId: acme.environmentId, email: 3 }],
    stopped: [acme.environmentId],
  });
  const { emails } = (await (await fetch(`${service.emulators.sesEndpoint}/store`)).json()) as {
    emails: { subject: string; destination: { to: string[] } }[];
  };
  expect(
    emails.filter((email) => email.destination.to.includes('raw-owner@acme.example')).map((email) => email.subject),
  ).toEqual([
    'Raw data export for Production is failing',
    expect.stringMatching(/^Reminder: raw data export for Production still failing, stops /),
    'Raw data export stopped for Production',
  ]);
  expect((await call('GET', '/raw-export/status')).body).toMatchObject({
    status: 'stopped',
    exportedRevisions: 4,
    nextRunAt: null,
  });
  expect((await call('GET', '/raw-export/settings')).body).toMatchObject({
    enabled: false,
    stoppedReason: expect.stringContaining('Stopped after failing for 72 hours'),
  });
  expect((await fire(failedAt + 84 * HOUR)).status).toBe(404);
});
