/**
 * Recurring export jobs over HTTP against the local service, on a simulated clock: fired windows export
 * disjoint sets of events whose union is everything received (a record received within the raw log's
 * settle time before a fire goes to the next run), a duplicate fire rewrites the same objects, a PATCH
 * of everyHours applies from the next run, a stop leaves the job STOPPED without a schedule. Then the
 * failure sequence: a revoked bucket policy and revoked keys send the three emails to the jobs'
 * notifyEmails and stop them; transient trouble sends nothing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { RAW_LOG_SETTLE_MS } from '../../lambdas/core/export-job-runner';
import { CUSTOMER_BUCKET, emailsTo, startTestService, type TestService } from '../support/local-service';
import { createTenant, memberCall, type Member } from '../support/tenants';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-24T00:00:00Z');
let now = T0 - HOUR;
const clock = { now: () => now };
const iso = (ms: number) => new Date(ms).toISOString();

let service: TestService;
let acme: Member;
let call: ReturnType<typeof memberCall>;
let directory: string;
let db: DuckDBConnection;

beforeAll(async () => {
  service = await startTestService({ clock, customerStorage: true });
  acme = await createTenant(service, 'enterprise', 'Acme');
  call = memberCall(service, acme);
  directory = await mkdtemp(join(tmpdir(), 'export-job-recurring-'));
  db = await (await DuckDBInstance.create(':memory:')).connect();
});

afterAll(async () => {
  db?.closeSync();
  await rm(directory, { recursive: true, force: true });
  await service.stop();
});

afterEach(() => storage({ access: 'granted', bucketPolicy: 'granted' }));

const storage = (body: { access?: string; bucketPolicy?: string }) =>
  service.call('POST', '/local/customer-storage', { body });

async function destination(key: string, auth: object): Promise<string> {
  const saved = await call('POST', '/destinations', {
    name: key,
    provider: 'Custom',
    bucket: CUSTOMER_BUCKET,
    key,
    endpoint: service.customerStorage!.endpoint,
    auth,
  });
  expect(saved.status).toBe(201);
  return saved.body.id;
}

async function recurringJob(
  destinationId: string,
  name: string,
  everyHours: number,
  notifyEmails = ['data@acme.example'],
): Promise<string> {
  const job = await call('POST', '/export-jobs', {
    destinationId,
    name,
    type: 'allEvents',
    frequency: { kind: 'recurring', everyHours },
    format: 'csv',
    compression: 'none',
    notifyEmails,
  });
  expect(job.status).toBe(201);
  return job.body.id;
}

/** Events received at `at` (the service's clock), each with its own `seq`. */
async function receive(at: number, seqs: number[]): Promise<void> {
  now = at;
  const body = seqs.map((seq) => ({
    type: 'event',
    event: seq % 2 ? 'odd' : 'even',
    userId: `user-${seq}`,
    attributes: { seq },
  }));
  expect(
    (
      await service.call('POST', '/ingest/bulk', {
        headers: { authorization: `Bearer ${acme.ingestKey}` },
        body,
      })
    ).status,
  ).toBe(200);
  await service.services.rawLog.flush();
}

/** Fires the job's schedule for `scheduledTime`, run a minute later. */
async function fire(jobId: string, scheduledTime: number) {
  now = scheduledTime + 60_000;
  return service.call('POST', '/local/scheduler/fire', {
    body: { jobId, scheduledTime: iso(scheduledTime), now: iso(now) },
  });
}

async function download(key: string): Promise<Buffer> {
  const object = await service.clients.s3.send(new GetObjectCommand({ Bucket: CUSTOMER_BUCKET, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

/** The seq of every event in the run's files, read by DuckDB. */
async function exportedSeqs(files: { key: string }[]): Promise<number[]> {
  if (files.length === 0) return [];
  const paths = [];
  for (const { key } of files) {
    const path = join(directory, basename(key));
    await writeFile(path, await download(key));
    paths.push(`'${path}'`);
  }
  const reader = await db.runAndReadAll(
    `SELECT seq::INTEGER AS seq FROM read_csv([${paths.join(',')}], header = true, all_varchar = true) ORDER BY seq`,
  );
  return (reader.getRowObjectsJS() as { seq: number }[]).map((row) => row.seq);
}

describe('recurring windows', () => {
  test('fired windows are disjoint and cover everything; a duplicate fire rewrites the same objects; PATCH applies from the next run; stop', async () => {
    now = T0 - HOUR;
    const jobId = await recurringJob(
      await destination('recurring', { mode: 'accessKey', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER-SECRET' }),
      'Every 4 hours',
      4,
    );
    await receive(T0 + HOUR, [0, 1, 2]);
    expect((await fire(jobId, T0 + 4 * HOUR)).body).toMatchObject({ outcome: 'ran', run: { status: 'successful' } });
    await receive(T0 + 5 * HOUR, [3, 4]);
    expect((await fire(jobId, T0 + 8 * HOUR)).body).toMatchObject({ outcome: 'ran', run: { status: 'successful' } });

    const current = (await call('GET', `/export-jobs/${jobId}`)).body;
    const patched = await call('PATCH', `/export-jobs/${jobId}`, {
      frequency: { kind: 'recurring', everyHours: 6 },
      version: current.version,
    });
    expect(patched.status).toBe(200);
    expect(service.services.scheduler.jobSchedule(jobId)).toMatchObject({ everyHours: 6 });
    await receive(T0 + 9 * HOUR, [5, 6, 7]);
    // Received within the settle time before the next fire: the run after it exports this one.
    await receive(T0 + 14 * HOUR - RAW_LOG_SETTLE_MS + 5 * 60_000, [8]);
    expect((await fire(jobId, T0 + 14 * HOUR)).body).toMatchObject({ outcome: 'ran', run: { status: 'successful' } });
    await receive(T0 + 15 * HOUR, [9]);
    expect((await fire(jobId, T0 + 20 * HOUR)).body).toMatchObject({ outcome: 'ran', run: { status: 'successful' } });

    const runs = [...(await call('GET', `/export-jobs/${jobId}/runs`)).body.runs].reverse();
    const settle = RAW_LOG_SETTLE_MS;
    expect(runs.map((run: { window: unknown }) => run.window)).toEqual([
      { from: iso(T0 - settle), to: iso(T0 + 4 * HOUR - settle) },
      { from: iso(T0 + 4 * HOUR - settle), to: iso(T0 + 8 * HOUR - settle) },
      // everyHours 6 from here: from the previous window's end, no gap and no overlap.
      { from: iso(T0 + 8 * HOUR - settle), to: iso(T0 + 14 * HOUR - settle) },
      { from: iso(T0 + 14 * HOUR - settle), to: iso(T0 + 20 * HOUR - settle) },
    ]);
    const perRun = [];
    for (const run of runs) perRun.push(await exportedSeqs(run.files));
    expect(perRun).toEqual([
      [0, 1, 2],
      [3, 4],
      [5, 6, 7],
      [8, 9],
    ]);

    const lastFiles = runs[3].files.map((file: { key: string }) => file.key).sort();
    const before = await Promise.all(lastFiles.map(download));
    expect((await fire(jobId, T0 + 20 * HOUR)).body).toMatchObject({ outcome: 'ran', run: { status: 'successful' } });
    const again = (await call('GET', `/export-jobs/${jobId}/runs`)).body.runs;
    expect(again).toHaveLength(4);
    expect(again[0].files.map((file: { key: string }) => file.key).sort()).toEqual(lastFiles);
    expect(await Promise.all(lastFiles.map(download))).toEqual(before);

    const stopped = await call('POST', `/export-jobs/${jobId}/stop`);
    expect(stopped.body).toMatchObject({ status: 'STOPPED', stoppedReason: 'Stopped by a user.' });
    expect(service.services.scheduler.jobSchedule(jobId)).toBeUndefined();
    expect((await fire(jobId, T0 + 26 * HOUR)).status).toBe(404);
  });
});

async function check(at: number) {
  now = at;
  return (await service.call('POST', '/local/check-failures', { body: { now: iso(at) } })).body;
}

describe('failing jobs', () => {
  test('a revoked bucket policy and revoked keys: emails 1, 2 and 3 to each job, then STOPPED without a schedule', async () => {
    const T1 = T0 + 10 * 24 * HOUR;
    now = T1 - HOUR;
    const policyJob = await recurringJob(await destination('policy', { mode: 'bucketPolicy' }), 'Policy lake', 24, [
      'policy@acme.example',
    ]);
    const keyJob = await recurringJob(
      await destination('keys', { mode: 'accessKey', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER-SECRET' }),
      'Key lake',
      24,
      ['keys@acme.example'],
    );
    await receive(T1 - 2 * HOUR, [100]);
    await storage({ access: 'revoked', bucketPolicy: 'revoked' });
    for (const day of [0, 1, 2]) {
      for (const jobId of [policyJob, keyJob]) {
        expect((await fire(jobId, T1 + day * 24 * HOUR)).body).toMatchObject({
          outcome: 'ran',
          failureClass: 'customer',
          run: { status: 'failed' },
        });
      }
      if (day === 0) {
        const first = await check(T1 + HOUR);
        expect(
          first.jobs.emailsSent.map((sent: { jobId: string; email: number }) => [sent.jobId, sent.email]).sort(),
        ).toEqual(
          [
            [keyJob, 1],
            [policyJob, 1],
          ].sort(),
        );
        await Promise.all([check(T1 + 2 * HOUR), check(T1 + 2 * HOUR), check(T1 + 2 * HOUR)]);
      }
      if (day === 1) expect((await check(T1 + 25 * HOUR)).jobs.emailsSent).toHaveLength(2);
    }
    expect((await check(T1 + 71 * HOUR)).jobs.emailsSent).toEqual([]);
    const stop = await check(T1 + 73 * HOUR);
    expect(stop.jobs.stopped.map((job: { jobId: string }) => job.jobId).sort()).toEqual([keyJob, policyJob].sort());
    expect((await check(T1 + 74 * HOUR)).jobs).toEqual({ examined: 0, emailsSent: [], stopped: [], retried: [] });

    for (const [jobId, address, name] of [
      [policyJob, 'policy@acme.example', 'Policy lake'],
      [keyJob, 'keys@acme.example', 'Key lake'],
    ]) {
      const emails = await emailsTo(service, address);
      expect(emails.map((email) => email.subject)).toEqual([
        `Export job "${name}" of Production is failing`,
        `Reminder: export job "${name}" of Production still failing, stops ${iso(T1 + 60_000 + 72 * HOUR)
          .slice(0, 16)
          .replace('T', ' ')} UTC`,
        `Export job "${name}" of Production stopped`,
      ]);
      expect(emails[0].body.text).toContain(`/environments/${acme.environmentId}/export-jobs/${jobId}`);
      expect((await call('GET', `/export-jobs/${jobId}`)).body).toMatchObject({
        status: 'STOPPED',
        stoppedReason: expect.stringMatching(/failed for 72 hours/),
      });
      expect(service.services.scheduler.jobSchedule(jobId)).toBeUndefined();
    }
    expect((await emailsTo(service, 'policy@acme.example'))[0].body.text).toMatch(
      /bucket policy no longer grants the service's export role/,
    );
    expect((await emailsTo(service, 'keys@acme.example'))[0].body.text).toMatch(
      /refused access: the key may not list and write objects/,
    );
  });

  test('transient trouble (the storage throttling) starts no sequence', async () => {
    const T2 = T0 + 20 * 24 * HOUR;
    now = T2 - HOUR;
    const jobId = await recurringJob(
      await destination('throttled', { mode: 'accessKey', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER-SECRET' }),
      'Throttled',
      24,
      ['throttled@acme.example'],
    );
    await receive(T2 - 2 * HOUR, [200]);
    await storage({ access: 'unavailable' });
    expect((await fire(jobId, T2)).body).toMatchObject({
      outcome: 'ran',
      failureClass: 'transient',
      run: { status: 'failed' },
    });
    expect((await check(T2 + HOUR)).jobs).toEqual({ examined: 0, emailsSent: [], stopped: [], retried: [] });
    expect(await emailsTo(service, 'throttled@acme.example')).toEqual([]);
  });
});
