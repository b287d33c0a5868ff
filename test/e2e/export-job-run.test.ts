/**
 * An export job's run end to end over HTTP: an access-key destination on the simulated customer
 * storage, events ingested through /ingest/bulk, a recurring allEvents JSON job fired as its schedule
 * would, then the files read back from the customer's bucket and the run in the job's history.
 */
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { RAW_LOG_SETTLE_MS } from '../../lambdas/core/export-job-runner';
import {
  CUSTOMER_BUCKET,
  emailsTo,
  setBucketPolicy,
  startTestService,
  type TestService,
} from '../support/local-service';
import { createTenant, memberCall, type Member } from '../support/tenants';

let service: TestService;
let acme: Member;
let call: ReturnType<typeof memberCall>;

beforeAll(async () => {
  service = await startTestService({ customerStorage: true });
  acme = await createTenant(service, 'enterprise', 'Acme');
  call = memberCall(service, acme);
});

afterAll(() => service.stop());

const events = [
  { type: 'event', event: 'report_run', userId: 'alice', attributes: { rows: 1200, format: 'csv' } },
  { type: 'event', event: 'report_run', userId: 'bob', attributes: { rows: 7, note: 'a "quoted" value' } },
  { type: 'event', event: 'dashboard_viewed', userId: 'alice', attributes: { page: { id: 7 } } },
];

async function readBack(prefix: string): Promise<Map<string, string[]>> {
  const { Contents = [] } = await service.clients.s3.send(
    new ListObjectsV2Command({ Bucket: CUSTOMER_BUCKET, Prefix: prefix }),
  );
  const files = new Map<string, string[]>();
  for (const { Key } of Contents) {
    const object = await service.clients.s3.send(new GetObjectCommand({ Bucket: CUSTOMER_BUCKET, Key }));
    const text = gunzipSync(Buffer.from(await object.Body!.transformToByteArray())).toString('utf8');
    files.set(
      Key!,
      text.split('\n').filter((line) => line !== ''),
    );
  }
  return files;
}

test('a fired recurring JSON job writes every event of its window once, with its properties, and records the run', async () => {
  const destination = await call('POST', '/destinations', {
    name: 'Warehouse',
    provider: 'Custom',
    bucket: CUSTOMER_BUCKET,
    key: 'exports',
    endpoint: service.customerStorage!.endpoint,
    auth: { mode: 'accessKey', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER-SECRET' },
  });
  expect(destination.status).toBe(201);
  const sent = await service.call('POST', '/ingest/bulk', {
    headers: { authorization: `Bearer ${acme.ingestKey}` },
    body: events,
  });
  expect(sent).toEqual({ status: 200, body: { success: true } });
  await service.services.rawLog.flush();

  const job = await call('POST', '/export-jobs', {
    destinationId: destination.body.id,
    type: 'allEvents',
    frequency: { kind: 'recurring', everyHours: 24 },
    format: 'json',
    notifyEmails: ['data@acme.example'],
  });
  expect(job.status).toBe(201);
  // The window is the 24 hours of receive time up to the scheduled time less the raw log's settle
  // time: every event sent above.
  const scheduledTime = new Date(Date.now() + RAW_LOG_SETTLE_MS + 1000).toISOString();
  const fired = await service.call('POST', '/local/scheduler/fire', { body: { jobId: job.body.id, scheduledTime } });
  expect(fired.status).toBe(200);
  expect(fired.body).toMatchObject({ jobId: job.body.id, outcome: 'ran', run: { status: 'successful' } });

  const files = await readBack('exports/');
  const exported = [...files.values()].flatMap(([nameLine, ...rows]) =>
    rows.map((row) => {
      const { profile, eventProps } = JSON.parse(row) as { profile: { identity: string }; eventProps: unknown };
      return { event: JSON.parse(nameLine) as string, userId: profile.identity, attributes: eventProps };
    }),
  );
  const sortKey = (e: { event: string; userId: string }) => `${e.event}/${e.userId}`;
  expect(exported.sort((a, b) => sortKey(a).localeCompare(sortKey(b)))).toEqual(
    events
      .map(({ event, userId, attributes }) => ({ event, userId, attributes }))
      .sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
  );
  for (const key of files.keys())
    expect(key).toMatch(
      new RegExp(
        `^exports/${job.body.id}-\\d{14}-(report_run|dashboard_viewed)-\\d{8}-0-${acme.environmentId}\\.json\\.gz$`,
      ),
    );

  const runs = await call('GET', `/export-jobs/${job.body.id}/runs`);
  expect(runs.status).toBe(200);
  expect(runs.body.runs).toEqual([
    expect.objectContaining({
      status: 'successful',
      window: {
        from: new Date(Date.parse(scheduledTime) - RAW_LOG_SETTLE_MS - 24 * 3600_000).toISOString(),
        to: new Date(Date.parse(scheduledTime) - RAW_LOG_SETTLE_MS).toISOString(),
      },
      error: null,
      files: expect.arrayContaining(
        [...files.keys()].map((key) =>
          expect.objectContaining({ key, records: files.get(key)!.length - 1, bytes: expect.any(Number) }),
        ),
      ),
    }),
  ]);
  expect(runs.body.runs[0].files).toHaveLength(files.size);
  // A recurring job is PENDING again after its run, waiting for the next one.
  expect((await call('GET', `/export-jobs/${job.body.id}`)).body).toMatchObject({
    status: 'PENDING',
    lastRunAt: expect.any(String),
  });
});

test('a one-time job runs once created (dispatched in process) over its UTC days by event time, and is DONE', async () => {
  const destinationId = (await call('GET', '/destinations')).body.items[0].id;
  const today = new Date().toISOString().slice(0, 10);
  const job = await call('POST', '/export-jobs', {
    destinationId,
    type: 'selectedEvents',
    events: ['report_run'],
    frequency: { kind: 'oneTime', from: today, to: today },
    format: 'json',
    notifyEmails: ['data@acme.example'],
  });
  expect(job.status).toBe(201);
  await service.services.dispatcher.idle();
  const files = await readBack(`exports/${job.body.id}-`);
  expect([...files.values()].map((lines) => lines.length)).toEqual([3]); // the name line, then both report_run events
  expect((await call('GET', `/export-jobs/${job.body.id}/runs`)).body.runs).toEqual([
    expect.objectContaining({ status: 'successful', files: [expect.objectContaining({ records: 2 })] }),
  ]);
  expect((await call('GET', `/export-jobs/${job.body.id}`)).body.status).toBe('DONE');
});

test('a one-time job failing on the customer side runs again at each hourly check, and completes once the policy is back', async () => {
  const HOUR = 3_600_000;
  const check = async (at: number) =>
    (await service.call('POST', '/local/check-failures', { body: { now: new Date(at).toISOString() } })).body.jobs;
  await setBucketPolicy(service, 'granted');
  const destination = await call('POST', '/destinations', {
    name: 'Lake (bucket policy)',
    provider: 'Custom',
    bucket: CUSTOMER_BUCKET,
    key: 'retried',
    endpoint: service.customerStorage!.endpoint,
    auth: { mode: 'bucketPolicy' },
  });
  expect(destination.status).toBe(201);
  await setBucketPolicy(service, 'revoked');

  const today = new Date().toISOString().slice(0, 10);
  const job = await call('POST', '/export-jobs', {
    destinationId: destination.body.id,
    type: 'selectedEvents',
    events: ['report_run'],
    frequency: { kind: 'oneTime', from: today, to: today },
    format: 'json',
    notifyEmails: ['retry@acme.example'],
  });
  expect(job.status).toBe(201);
  await service.services.dispatcher.idle();
  const jobPath = `/export-jobs/${job.body.id}`;
  expect((await call('GET', jobPath)).body.status).toBe('PENDING');
  expect((await call('GET', `${jobPath}/runs`)).body.runs).toEqual([expect.objectContaining({ status: 'failed' })]);

  // The first check warns and runs the job again: still refused.
  const first = await check(Date.now() + HOUR);
  expect(first.emailsSent).toEqual([{ environmentId: acme.environmentId, jobId: job.body.id, email: 1 }]);
  expect(first.retried).toEqual([{ environmentId: acme.environmentId, jobId: job.body.id }]);
  await service.services.dispatcher.idle();
  expect((await call('GET', jobPath)).body.status).toBe('PENDING');
  const warning = await emailsTo(service, 'retry@acme.example');
  expect(warning).toHaveLength(1);
  expect(warning[0].body.text).toContain('The job runs again every hour until then');

  // The customer grants the policy again: the next check's run completes the job, and its sequence ends.
  await setBucketPolicy(service, 'granted');
  expect((await check(Date.now() + 2 * HOUR)).retried).toEqual([
    { environmentId: acme.environmentId, jobId: job.body.id },
  ]);
  await service.services.dispatcher.idle();
  expect((await call('GET', jobPath)).body.status).toBe('DONE');
  const runs = (await call('GET', `${jobPath}/runs`)).body.runs;
  expect(runs).toHaveLength(1); // the same run (same scheduled time, same keys), now successful
  expect(runs[0]).toMatchObject({ status: 'successful', files: [expect.objectContaining({ records: 2 })] });
  expect([...(await readBack(`retried/${job.body.id}-`)).values()].map((lines) => lines.length)).toEqual([3]);
  expect(await check(Date.now() + 3 * HOUR)).toMatchObject({ examined: 0, emailsSent: [], retried: [] });
});
