/**
 * Destinations and export-job management over HTTP against the local server: a bucket-policy
 * destination through the simulated customer storage (its policy granted, then revoked through the
 * local control route), an access-key destination, then jobs: created, listed with filters and pages,
 * edited by the rules, stopped; deleting a destination in use is refused, naming the job.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { LOCAL_EXPORT_ROLE_ARN } from '../../lambdas/local/wiring';
import { CUSTOMER_BUCKET, setBucketPolicy, startTestService, type TestService } from '../support/local-service';
import { createTenant, memberCall, type Member } from '../support/tenants';

const NOW = Date.parse('2026-11-23T10:30:00Z');

let service: TestService;
let acme: Member;
let call: ReturnType<typeof memberCall>;

beforeAll(async () => {
  service = await startTestService({ clock: { now: () => NOW }, customerStorage: true });
  acme = await createTenant(service, 'enterprise', 'Acme');
  call = memberCall(service, acme);
});

afterAll(() => service.stop());

const policyDestination = () => ({
  name: 'Lake (bucket policy)',
  provider: 'Custom',
  bucket: CUSTOMER_BUCKET,
  key: 'clevertap/events',
  endpoint: service.customerStorage!.endpoint,
  auth: { mode: 'bucketPolicy' },
});

describe('destinations', () => {
  test('the policy to paste names the bucket and the export role', async () => {
    const answer = await call('GET', `/destinations/bucket-policy?bucket=${CUSTOMER_BUCKET}`);
    expect(answer.status).toBe(200);
    expect(answer.body.policy.Statement).toEqual([
      {
        Sid: 'DataExportServiceWrites',
        Effect: 'Allow',
        Principal: { AWS: LOCAL_EXPORT_ROLE_ARN },
        Action: 's3:PutObject',
        Resource: `arn:aws:s3:::${CUSTOMER_BUCKET}/*`,
      },
    ]);
    expect((await call('GET', '/destinations/bucket-policy')).status).toBe(400);
  });

  test('a bucket-policy destination saves once the policy is granted (probe object written), and is refused while revoked', async () => {
    expect((await setBucketPolicy(service, 'revoked')).body.bucketPolicy).toBe('revoked');
    const refused = await call('POST', '/destinations', policyDestination());
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('access_denied');
    expect((await call('GET', '/destinations')).body.items).toEqual([]);

    await setBucketPolicy(service, 'granted');
    const saved = await call('POST', '/destinations', policyDestination());
    expect(saved.status).toBe(201);
    expect(saved.body).toMatchObject({
      provider: 'Custom',
      bucket: CUSTOMER_BUCKET,
      key: 'clevertap/events',
      auth: { mode: 'bucketPolicy' },
      version: 1,
    });
    expect(saved.body.policy.Statement[0].Principal.AWS).toBe(LOCAL_EXPORT_ROLE_ARN);
    const probe = await service.clients.s3.send(
      new GetObjectCommand({ Bucket: CUSTOMER_BUCKET, Key: 'clevertap/events/.export-access-check' }),
    );
    expect(probe.ContentLength).toBe(0);
    expect((await call('GET', `/destinations/${saved.body.id}`)).body).toEqual(saved.body);
  });

  test('an access-key destination: secret never returned, key id masked, PUT refused when stale', async () => {
    const body = {
      name: 'Warehouse',
      provider: 'Custom',
      bucket: CUSTOMER_BUCKET,
      endpoint: service.customerStorage!.endpoint,
      auth: { mode: 'accessKey', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER-SECRET' },
    };
    const saved = await call('POST', '/destinations', body);
    expect(saved.status).toBe(201);
    expect(saved.body.auth).toEqual({ mode: 'accessKey', accessKeyId: '****RVER', secretAccessKeySet: true });
    expect(JSON.stringify(saved.body)).not.toContain('S3RVER-SECRET');
    const renamed = await call('PUT', `/destinations/${saved.body.id}`, {
      ...body,
      name: 'Renamed',
      auth: { mode: 'accessKey', accessKeyId: 'S3RVER' },
      version: 1,
    });
    expect(renamed.body).toMatchObject({ name: 'Renamed', version: 2 });
    const stale = await call('PUT', `/destinations/${saved.body.id}`, { ...body, version: 1 });
    expect(stale.status).toBe(409);
    expect((await call('DELETE', `/destinations/${saved.body.id}`)).status).toBe(204);
    expect((await call('GET', `/destinations/${saved.body.id}`)).status).toBe(404);
  });
});

describe('export jobs', () => {
  let destinationId: string;
  const job = (overrides: object = {}) => ({
    destinationId,
    type: 'allEvents',
    frequency: { kind: 'recurring', everyHours: 6 },
    format: 'csv',
    notifyEmails: ['data@acme.example'],
    ...overrides,
  });

  beforeAll(async () => {
    destinationId = (await call('GET', '/destinations')).body.items.find(
      (d: { auth: { mode: string } }) => d.auth.mode === 'bucketPolicy',
    ).id;
  });

  test('create, list with filters and pages, edit by the rules, stop; deleting the destination in use is refused', async () => {
    const recurring = (await call('POST', '/export-jobs', job({ name: 'Every 6 hours' }))).body;
    expect(recurring).toMatchObject({ status: 'PENDING', provider: 'Custom', compression: 'gzip', version: 1 });
    expect(service.services.scheduler.jobSchedule(recurring.id)).toEqual({
      environmentId: acme.environmentId,
      everyHours: 6,
      startAt: NOW,
    });
    const once = await call(
      'POST',
      '/export-jobs',
      job({
        type: 'userProfiles',
        format: 'parquet',
        frequency: { kind: 'oneTime', from: '2026-11-01', to: '2026-11-22' },
      }),
    );
    expect(once.status).toBe(201);
    for (let i = 0; i < 11; i++) expect((await call('POST', '/export-jobs', job({ format: 'json' }))).status).toBe(201);

    const refusedDays = await call(
      'POST',
      '/export-jobs',
      job({ frequency: { kind: 'oneTime', from: '2026-08-01', to: '2026-11-01' } }),
    );
    expect(refusedDays.status).toBe(400);
    expect(refusedDays.body.error.message).toMatch(/frequency.from: must be within the last 60 days/);
    expect(
      (await call('POST', '/export-jobs', job({ frequency: { kind: 'recurring', everyHours: 3 } }))).body.error.message,
    ).toMatch(/everyHours must be 4 to 24/);

    const firstPage = (await call('GET', '/export-jobs?pageSize=10')).body;
    expect(firstPage.items).toHaveLength(10);
    const secondPage = (await call('GET', `/export-jobs?pageSize=10&cursor=${firstPage.nextCursor}`)).body;
    expect(secondPage.items).toHaveLength(3);
    expect(secondPage.nextCursor).toBeNull();
    expect((await call('GET', '/export-jobs?pageSize=15')).status).toBe(400);
    expect((await call('GET', '/export-jobs?frequency=oneTime')).body.items.map((j: { id: string }) => j.id)).toEqual([
      once.body.id,
    ]);
    expect(
      (await call('GET', '/export-jobs?format=csv&type=allEvents')).body.items.map((j: { id: string }) => j.id),
    ).toEqual([recurring.id]);

    expect((await call('PATCH', `/export-jobs/${once.body.id}`, { format: 'csv', version: 1 })).body.error.code).toBe(
      'one_time_not_editable',
    );
    const switched = await call('PATCH', `/export-jobs/${recurring.id}`, { type: 'userProfiles', version: 1 });
    expect(switched.status).toBe(400);
    const edited = await call('PATCH', `/export-jobs/${recurring.id}`, {
      format: 'xml',
      frequency: { kind: 'recurring', everyHours: 12 },
      version: 1,
    });
    expect(edited.body).toMatchObject({ format: 'xml', frequency: { kind: 'recurring', everyHours: 12 }, version: 2 });
    expect(service.services.scheduler.jobSchedule(recurring.id)?.everyHours).toBe(12);

    const inUse = await call('DELETE', `/destinations/${destinationId}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.code).toBe('destination_in_use');
    expect(inUse.body.error.message).toContain(recurring.id);

    const stopped = await call('POST', `/export-jobs/${recurring.id}/stop`);
    expect(stopped.body).toMatchObject({ status: 'STOPPED', version: 3 });
    expect(service.services.scheduler.jobSchedule(recurring.id)).toBeUndefined();
    expect((await call('PATCH', `/export-jobs/${recurring.id}`, { format: 'csv', version: 3 })).body.error.code).toBe(
      'job_finished',
    );
    expect((await call('GET', `/export-jobs/${recurring.id}/runs`)).body).toEqual({ runs: [] });

    // A run recorded as the job run will: the history shows it, and the job lists by its day.
    const run = {
      runId: '20261123103000',
      window: { from: NOW - 6 * 3_600_000, to: NOW },
      status: 'successful' as const,
      startedAt: NOW,
      finishedAt: NOW + 900,
      files: [{ key: 'clevertap/events/a.csv.gz', records: 2, bytes: 64 }],
    };
    await service.services.exportJobStore.recordRun(acme.environmentId, once.body.id, run);
    expect((await call('GET', `/export-jobs/${once.body.id}/runs`)).body.runs).toEqual([
      {
        ...run,
        window: { from: '2026-11-23T04:30:00.000Z', to: '2026-11-23T10:30:00.000Z' },
        startedAt: '2026-11-23T10:30:00.000Z',
        finishedAt: '2026-11-23T10:30:00.900Z',
        error: null,
      },
    ]);
    const exportedThatDay = await call('GET', '/export-jobs?exportedFrom=2026-11-23&exportedTo=2026-11-23');
    expect(exportedThatDay.body.items.map((j: { id: string }) => j.id)).toEqual([once.body.id]);
    expect((await call('GET', '/export-jobs?exportedTo=2026-11-22')).body.items).toEqual([]);
  });

  test('a job of another environment or plan is out of reach: enterprise plan only', async () => {
    const pro = await createTenant(service, 'pro', 'Pro Co');
    const refused = await memberCall(service, pro)('POST', '/destinations', policyDestination());
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('plan_required');
  });
});
