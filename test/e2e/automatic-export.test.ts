/**
 * Automatic export end to end on the local service: settings validated against a bucket of the local
 * S3 (s3rver), one schedule per environment, runs fired for chosen instants writing into the
 * customer's bucket, read back, and the status page's fields.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { parse } from 'csv-parse/sync';
import { syntheticTenant } from '../../lambdas/local/synthetic';
import { startCustomerStorage, type CustomerStorage } from '../../lambdas/local/customer-storage';
import { startTestService, type TestService } from '../support/local-service';
import { createTenant } from '../support/tenants';

const SECRET = 'a-secret-that-must-never-leak';
let now = Date.parse('2026-11-23T15:00:00Z'); // a Monday afternoon
const clock = { now: () => now };

let service: TestService;
let proxy: CustomerStorage;
let environmentId: string;
let member: string;
const BUCKET = 'customer-exports';

const settingsPath = () => `/v1/environments/${environmentId}/data-export/settings`;
const currentVersion = async (): Promise<number> =>
  (await service.call('GET', settingsPath(), { token: member })).body.version;
/** Saves as the dashboard does: based on the version it has just read. */
const put = async (body: Record<string, unknown>) =>
  service.call('PUT', settingsPath(), { token: member, body: { ...body, version: await currentVersion() } });
const validSettings = (overrides: Record<string, unknown> = {}) => ({
  enabled: true,
  cadence: 'daily',
  provider: 'Custom',
  bucket: BUCKET,
  region: 'us-east-1',
  key: 'warehouse/bucket-export',
  endpoint: service.emulators.s3Endpoint,
  accessKeyId: 'S3RVER',
  secretAccessKey: SECRET,
  notifyEmails: ['data-team@customer.example'],
  ...overrides,
});
const fire = (scheduledTime: string) =>
  service.call('POST', '/local/scheduler/fire', {
    body: { envId: environmentId, scheduledTime, now: new Date(now).toISOString() },
  });
const status = async () =>
  (await service.call('GET', `/v1/environments/${environmentId}/data-export/status`, { token: member })).body;

async function objectKeys(): Promise<string[]> {
  const listed = await service.clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

async function readCsv(key: string): Promise<string[][]> {
  const object = await service.clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return parse(await object.Body!.transformToString('utf8'));
}

beforeAll(async () => {
  service = await startTestService({ clock });
  await service.clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  proxy = await startCustomerStorage(service.emulators.s3Endpoint);
  ({ environmentId, token: member } = await createTenant(service, 'enterprise', 'Enterprise Co'));
  for (const [id, key, name] of [
    ['reports', 'report_run', 'Reports'],
    ['alerts', 'alert_created', 'Alerts'],
  ]) {
    await service.call('PUT', `/v1/environments/${environmentId}/features/${id}`, {
      token: member,
      body: { key, name },
    });
  }
  for (const company of syntheticTenant({
    companies: 15,
    featureKeys: ['report_run', 'alert_created'],
    days: 120,
    endAt: now,
    seed: 11,
  })) {
    await service.services.usage.putCompanyUsage(environmentId, company);
  }
});

afterAll(async () => {
  await proxy.close();
  await service.stop();
});

describe('saving settings', () => {
  it('needs the enterprise plan, and says so', async () => {
    const pro = await createTenant(service, 'pro', 'Pro Co', 'P');
    const response = await service.call('PUT', `/v1/environments/${pro.environmentId}/data-export/settings`, {
      token: pro.token,
      body: validSettings(),
    });
    expect(response.status).toBe(403);
    expect(response.body.error.message).toBe(
      'Automatic export requires the enterprise plan; this organization is on the pro plan.',
    );
  });

  it.each([
    [
      'an unknown access key',
      () => validSettings({ accessKeyId: 'UNKNOWNKEY' }),
      403,
      'invalid_credentials',
      /access key is not valid/,
    ],
    [
      'a key without privileges',
      () => validSettings({ endpoint: proxy.endpoint, accessKeyId: 'NOPRIVS' }),
      403,
      'access_denied',
      /Access denied.*"customer-exports" under "warehouse\/bucket-export\/"/,
    ],
    [
      'a bucket that does not exist',
      () => validSettings({ bucket: 'no-such-bucket' }),
      404,
      'bucket_not_found',
      /"no-such-bucket" does not exist/,
    ],
    [
      'an unreachable endpoint',
      () => validSettings({ endpoint: 'http://127.0.0.1:9' }),
      400,
      'endpoint_unreachable',
      /could not be reached/,
    ],
    [
      'an endpoint in a private network',
      () => validSettings({ endpoint: 'https://10.0.0.5' }),
      400,
      'endpoint_not_allowed',
      /private/,
    ],
    [
      'a malformed AWS bucket URL',
      () =>
        validSettings({
          provider: 'AWS',
          bucket: undefined,
          region: undefined,
          key: undefined,
          endpoint: undefined,
          bucketUrl: 'https://s3.amazonaws.com/acme',
        }),
      400,
      'invalid_request',
      /bucketUrl: must look like https:\/\/<bucket>\.s3\.<region>\.amazonaws\.com/,
    ],
    [
      'a misspelled AWS region',
      () =>
        validSettings({
          provider: 'AWS',
          bucket: undefined,
          region: undefined,
          key: undefined,
          endpoint: undefined,
          bucketUrl: 'https://acme.s3.eu-wset-1.amazonaws.com',
        }),
      400,
      'invalid_request',
      /eu-wset-1/,
    ],
    ['no address to warn', () => validSettings({ notifyEmails: [] }), 400, 'invalid_request', /notifyEmails/],
    [
      'an invalid email address',
      () => validSettings({ notifyEmails: ['not-an-email'] }),
      400,
      'invalid_request',
      /notifyEmails\[0\]: must be an email address/,
    ],
  ])('refuses %s with its own message and saves nothing', async (_case, body, statusCode, code, message) => {
    const response = await put(body());
    expect(response.status).toBe(statusCode);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message).toMatch(message);
    expect(JSON.stringify(response.body)).not.toContain(SECRET);
    const saved = await service.call('GET', settingsPath(), { token: member });
    expect(saved.body).toMatchObject({ enabled: false, provider: null, secretAccessKeySet: false });
  });

  it('validates by listing the bucket, seals the secret, masks the key and creates the schedule', async () => {
    const response = await put(validSettings());
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      enabled: true,
      cadence: 'daily',
      provider: 'Custom',
      bucketUrl: null,
      bucket: BUCKET,
      region: 'us-east-1',
      key: 'warehouse/bucket-export',
      endpoint: service.emulators.s3Endpoint,
      accessKeyId: '****RVER',
      secretAccessKeySet: true,
      notifyEmails: ['data-team@customer.example'],
      updatedAt: new Date(now).toISOString(),
      stoppedAt: null,
      stoppedReason: null,
      version: 1,
    });
    const stored = await service.clients.documentClient.send(
      new GetCommand({
        TableName: (service.services.tenants as any).tableName,
        Key: { pk: `ENV#${environmentId}`, sk: 'EXPORT#SETTINGS' },
      }),
    );
    expect(JSON.stringify(stored.Item)).not.toContain(SECRET);
    expect(stored.Item!.sealedSecretAccessKey).toMatch(/^local:v1:/);
    expect(service.services.scheduler.nextFireAt(environmentId)).toBe(Date.parse('2026-11-24T00:00:00Z'));
  });

  it('keeps the stored secret when a save leaves it out', async () => {
    const { secretAccessKey: _omitted, ...withoutSecret } = validSettings({
      notifyEmails: ['owner@customer.example', 'data-team@customer.example'],
    });
    const response = await put(withoutSecret);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      secretAccessKeySet: true,
      notifyEmails: ['owner@customer.example', 'data-team@customer.example'],
    });
  });

  it('refuses a save based on an older version with 409 conflict, saying to reload, and changes nothing', async () => {
    const read = await currentVersion();
    expect(
      (await service.call('PUT', settingsPath(), { token: member, body: { ...validSettings(), version: read } }))
        .status,
    ).toBe(200);
    const stale = await service.call('PUT', settingsPath(), { token: member, body: { enabled: false, version: read } });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toEqual({
      code: 'conflict',
      message: expect.stringMatching(/changed since you read them .* Reload them/),
    });
    const noVersion = await service.call('PUT', settingsPath(), { token: member, body: { enabled: false } });
    expect(noVersion.status).toBe(409);
    expect(await currentVersion()).toBe(read + 1);
    expect(service.services.scheduler.nextFireAt(environmentId)).toBe(Date.parse('2026-11-24T00:00:00Z'));
  });

  it('refuses a version that is not a whole number with 400 naming the field', async () => {
    const response = await service.call('PUT', settingsPath(), {
      token: member,
      body: { enabled: false, version: 1.5 },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.issues).toEqual([expect.objectContaining({ path: 'version' })]);
  });

  it('shows a status that never ran, with the next run at midnight UTC', async () => {
    expect(await status()).toEqual({
      enabled: true,
      status: 'never ran before',
      lastRunAt: null,
      nextRunAt: '2026-11-24T00:00:00.000Z',
      error: null,
      errorCode: null,
      failingSince: null,
    });
  });
});

describe('daily runs', () => {
  const dailyKey = () => `warehouse/bucket-export/${environmentId}/production_daily_2026-11-23.csv`;

  it('exports the snapshot as of the scheduled midnight into the customer bucket, whenever it runs', async () => {
    now = Date.parse('2026-11-24T00:07:00Z'); // the run starts a few minutes late
    const response = await fire('2026-11-24T00:00:00Z');
    expect(response.body).toMatchObject({ outcome: 'successful', objectKey: dailyKey(), rowCount: 30 });
    const rows = await readCsv(dailyKey());
    expect(rows[0]).toEqual(expect.arrayContaining(['Company ID', 'Date', 'STARS State']));
    expect(rows).toHaveLength(31);
    expect(new Set(rows.slice(1).map((row) => row[4]))).toEqual(new Set(['2026-11-23']));
  });

  it("equals that day's rows of a 30-day manual export", async () => {
    now = Date.parse('2026-11-24T09:00:00Z');
    const started = await service.call('POST', `/v1/environments/${environmentId}/exports/manual`, {
      token: member,
      body: { aggregation: '30d-daily' },
    });
    await service.services.dispatcher.idle();
    const job = (
      await service.call('GET', `/v1/environments/${environmentId}/exports/manual/${started.body.id}`, {
        token: member,
      })
    ).body;
    const manual = parse(await (await fetch(job.downloadUrl)).text());
    const sameDay = manual.filter((row) => row[4] === '2026-11-23');
    expect(sameDay).toEqual((await readCsv(dailyKey())).slice(1));
  });

  it('does not run twice for the same instant: a retry after success changes nothing', async () => {
    now = Date.parse('2026-11-24T03:00:00Z');
    expect((await fire('2026-11-24T00:00:00Z')).body).toEqual({ outcome: 'skipped', reason: 'already ran' });
    expect(await objectKeys()).toEqual([dailyKey()]);
  });

  it('turns concurrent duplicate invocations into one file and one run record', async () => {
    now = Date.parse('2026-11-25T00:02:00Z');
    const results = await Promise.all([1, 2, 3].map(() => fire('2026-11-25T00:00:00Z')));
    expect(results.map((r) => r.body.outcome).sort()).toEqual(['skipped', 'skipped', 'successful']);
    expect(await objectKeys()).toEqual([dailyKey(), dailyKey().replace('2026-11-23', '2026-11-24')]);
    const runs = (await service.call('GET', `/v1/environments/${environmentId}/data-export/runs`, { token: member }))
      .body.runs;
    expect(runs.map((r: any) => [r.date, r.status, r.attempts])).toEqual([
      ['2026-11-24', 'successful', 1],
      ['2026-11-23', 'successful', 1],
    ]);
    expect(runs[0]).toMatchObject({
      rowCount: 30,
      objectKey: dailyKey().replace('2026-11-23', '2026-11-24'),
      error: null,
    });
    expect(runs[0].byteCount).toBeGreaterThan(1000);
    expect(runs[0].durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports a successful status with the last run and the next one', async () => {
    now = Date.parse('2026-11-25T08:00:00Z');
    expect(await status()).toMatchObject({
      status: 'successful',
      lastRunAt: '2026-11-25T00:02:00.000Z',
      nextRunAt: '2026-11-26T00:00:00.000Z',
      error: null,
    });
  });
});

describe('weekly runs', () => {
  it('moves the schedule to Mondays and exports the Monday snapshot', async () => {
    const { secretAccessKey: _omitted, ...settings } = validSettings({ cadence: 'weekly' });
    expect((await put(settings)).status).toBe(200);
    expect(service.services.scheduler.nextFireAt(environmentId)).toBe(Date.parse('2026-11-30T00:00:00Z'));
    expect((await status()).nextRunAt).toBe('2026-11-30T00:00:00.000Z');

    now = Date.parse('2026-11-30T00:01:00Z');
    const response = await fire('2026-11-30T00:00:00Z');
    const key = `warehouse/bucket-export/${environmentId}/production_weekly_2026-11-29.csv`;
    expect(response.body).toMatchObject({ outcome: 'successful', objectKey: key });
    expect(new Set((await readCsv(key)).slice(1).map((row) => row[4]))).toEqual(new Set(['2026-11-29']));
  });

  it('maps a late retry in the week to the same Monday snapshot and key', async () => {
    now = Date.parse('2026-12-02T10:00:00Z');
    expect((await fire('2026-12-02T00:00:00Z')).body).toEqual({ outcome: 'skipped', reason: 'already ran' });
  });
});

describe('failures and switching off', () => {
  it('records a failed run with the customer-facing error on the status page', async () => {
    const { secretAccessKey: _omitted, ...settings } = validSettings({ cadence: 'daily', endpoint: proxy.endpoint });
    expect((await put(settings)).status).toBe(200);
    proxy.mode = 'revoked';
    now = Date.parse('2026-12-03T00:00:30Z');
    const response = await fire('2026-12-03T00:00:00Z');
    expect(response.body).toMatchObject({ outcome: 'failed', errorCode: 'access_denied' });
    expect(await status()).toMatchObject({
      status: 'failed',
      lastRunAt: '2026-12-03T00:00:30.000Z',
      errorCode: 'access_denied',
      error: expect.stringMatching(
        /^Access denied: the key is valid but may not list and write objects in bucket "customer-exports"/,
      ),
      failingSince: '2026-12-03T00:00:30.000Z',
    });
    const runs = (
      await service.call('GET', `/v1/environments/${environmentId}/data-export/runs?limit=1`, { token: member })
    ).body.runs;
    expect(runs).toEqual([
      expect.objectContaining({ date: '2026-12-02', status: 'failed', error: expect.stringMatching(/Access denied/) }),
    ]);
    proxy.mode = 'granted';
  });

  it('removes the schedule when switched off, and shows no next run', async () => {
    expect((await put({ enabled: false })).body).toMatchObject({
      enabled: false,
      provider: 'Custom',
      secretAccessKeySet: true,
    });
    expect(service.services.scheduler.nextFireAt(environmentId)).toBeUndefined();
    expect(await status()).toMatchObject({ enabled: false, nextRunAt: null });
    expect((await fire('2026-12-04T00:00:00Z')).body).toEqual({ outcome: 'skipped', reason: 'not enabled' });
  });

  it('answers 400 to a fire without a valid instant', async () => {
    const response = await service.call('POST', '/local/scheduler/fire', {
      body: { envId: environmentId, scheduledTime: 'tomorrow' },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/scheduledTime must be an ISO-8601 date-time/);
  });
});
