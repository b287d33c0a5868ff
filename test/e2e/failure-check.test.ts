/**
 * The failing-export sequence over three simulated days on the local service: a destination that
 * stops accepting writes, daily runs that fail, hourly checks, and the three emails as they arrive in
 * aws-ses-v2-local; then the same with a recovery on day two.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { startCustomerStorage, type CustomerStorage } from '../../lambdas/local/customer-storage';
import { emailsTo, startTestService, type TestService } from '../support/local-service';
import { createTenant } from '../support/tenants';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-24T00:00:00Z');
let now = T0 - 10 * HOUR;
const clock = { now: () => now };

let service: TestService;
let proxy: CustomerStorage;

const check = async (at: number) => {
  now = at;
  return (await service.call('POST', '/local/check-failures', { body: { now: new Date(at).toISOString() } })).body;
};

/** An enterprise environment exporting daily through the proxy, so a test can revoke its access. */
async function exportingEnvironment(name: string, owner: string) {
  const { environmentId, token: member } = await createTenant(service, 'enterprise', name, name);
  await service.call('PUT', `/v1/environments/${environmentId}/features/reports`, {
    token: member,
    body: { key: 'report_run', name: 'Reports' },
  });
  const saved = await service.call('PUT', `/v1/environments/${environmentId}/data-export/settings`, {
    token: member,
    body: {
      enabled: true,
      cadence: 'daily',
      provider: 'Custom',
      bucket: 'customer-exports',
      region: 'us-east-1',
      key: name.toLowerCase(),
      endpoint: proxy.endpoint,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'secret',
      notifyEmails: [owner],
    },
  });
  expect(saved.status).toBe(200);
  return {
    id: environmentId,
    member,
    run: async (at: number) => {
      now = at + 60_000;
      return (
        await service.call('POST', '/local/scheduler/fire', {
          body: { envId: environmentId, scheduledTime: new Date(at).toISOString(), now: new Date(now).toISOString() },
        })
      ).body;
    },
    status: async () =>
      (await service.call('GET', `/v1/environments/${environmentId}/data-export/status`, { token: member })).body,
    settings: async () =>
      (await service.call('GET', `/v1/environments/${environmentId}/data-export/settings`, { token: member })).body,
  };
}

beforeAll(async () => {
  service = await startTestService({ clock });
  await service.clients.s3.send(new CreateBucketCommand({ Bucket: 'customer-exports' }));
  proxy = await startCustomerStorage(service.emulators.s3Endpoint);
});

afterAll(async () => {
  await proxy.close();
  await service.stop();
});

afterEach(() => {
  proxy.mode = 'granted';
});

describe('a destination that stays broken', () => {
  it('gets email 1, then email 2 after 24 h, then email 3 and a stop at 72 h, each exactly once', async () => {
    const owner = 'owner-broken@customer.example';
    const env = await exportingEnvironment('Broken', owner);
    proxy.mode = 'revoked';

    expect(await env.run(T0)).toMatchObject({ outcome: 'failed', errorCode: 'access_denied' });
    const failingSince = T0 + 60_000;

    // Email 1 at the first check after the failure; later and overlapping checks send nothing more.
    expect((await check(T0 + HOUR)).emailsSent).toEqual([{ environmentId: env.id, email: 1 }]);
    await Promise.all([check(T0 + 2 * HOUR), check(T0 + 2 * HOUR), check(T0 + 2 * HOUR)]);
    let emails = await emailsTo(service, owner);
    expect(emails.map((e) => e.subject)).toEqual(['Automatic export for Broken is failing']);
    expect(emails[0].body.text).toContain('Custom bucket "customer-exports" (folder "broken/")');
    expect(emails[0].body.text).toContain(
      'The error: The storage provider refused access: the key may not list and write objects',
    );
    expect(emails[0].body.text).toContain(
      `http://localhost:3000/dashboard/environments/${env.id}/settings/data-export`,
    );
    expect(emails[0].body.text).toContain(
      `If it is not fixed by 2026-11-27 00:01 UTC (2 days and 23 hours from now), the export will be stopped.`,
    );
    expect(emails[0].body.html).toContain(
      `<a href="http://localhost:3000/dashboard/environments/${env.id}/settings/data-export">`,
    );

    // 23 h 59 min after the failure: still nothing.
    expect((await check(failingSince + 24 * HOUR - 60_000)).emailsSent).toEqual([]);
    // Day 2: the run fails again; the sequence goes on from the first failure.
    expect(await env.run(T0 + 24 * HOUR)).toMatchObject({ outcome: 'failed' });
    expect((await env.status()).failingSince).toBe(new Date(failingSince).toISOString());
    expect((await check(T0 + 25 * HOUR)).emailsSent).toEqual([{ environmentId: env.id, email: 2 }]);
    expect((await check(T0 + 26 * HOUR)).emailsSent).toEqual([]);
    emails = await emailsTo(service, owner);
    expect(emails[1].subject).toBe('Reminder: automatic export for Broken still failing, stops 2026-11-27 00:01 UTC');
    expect(emails[1].body.text).toContain('(1 day and 23 hours from now)');

    // Day 3 and the 72-hour mark.
    await env.run(T0 + 48 * HOUR);
    expect((await check(T0 + 71 * HOUR)).emailsSent).toEqual([]);
    const stopCheck = await check(T0 + 73 * HOUR);
    expect(stopCheck).toMatchObject({ emailsSent: [{ environmentId: env.id, email: 3 }], stopped: [env.id] });
    expect((await check(T0 + 74 * HOUR)).emailsSent).toEqual([]);

    emails = await emailsTo(service, owner);
    expect(emails.map((e) => e.subject)).toEqual([
      'Automatic export for Broken is failing',
      'Reminder: automatic export for Broken still failing, stops 2026-11-27 00:01 UTC',
      'Automatic export stopped for Broken',
    ]);
    expect(emails[2].body.text).toContain('has now been stopped');

    expect(await env.settings()).toMatchObject({ enabled: false, stoppedAt: new Date(T0 + 73 * HOUR).toISOString() });
    expect(await env.status()).toMatchObject({
      enabled: false,
      status: 'stopped',
      nextRunAt: null,
      error: expect.stringMatching(
        /^Stopped after failing for 72 hours\. Last error: The storage provider refused access/,
      ),
    });
    expect(service.services.scheduler.nextFireAt(env.id)).toBeUndefined();
    expect(await env.run(T0 + 96 * HOUR)).toEqual({ outcome: 'skipped', reason: 'not enabled' });
  });
});

describe('a destination fixed on day two', () => {
  it('sends emails 1 and 2 only, keeps the export on, and starts a new sequence on a later failure', async () => {
    const owner = 'owner-recovers@customer.example';
    const env = await exportingEnvironment('Recovers', owner);
    const start = T0 + 10 * 24 * HOUR;
    proxy.mode = 'revoked';
    await env.run(start);
    await check(start + HOUR);
    await env.run(start + 24 * HOUR);
    await check(start + 25 * HOUR);
    expect((await emailsTo(service, owner)).length).toBe(2);

    proxy.mode = 'granted';
    expect(await env.run(start + 48 * HOUR)).toMatchObject({ outcome: 'successful' });
    expect(await env.status()).toMatchObject({ status: 'successful', failingSince: null });
    expect((await check(start + 73 * HOUR)).emailsSent).toEqual([]);
    expect((await emailsTo(service, owner)).length).toBe(2);
    expect(await env.settings()).toMatchObject({ enabled: true, stoppedAt: null });

    proxy.mode = 'revoked';
    await env.run(start + 96 * HOUR);
    expect((await check(start + 97 * HOUR)).emailsSent).toEqual([{ environmentId: env.id, email: 1 }]);
    expect((await emailsTo(service, owner)).map((e) => e.subject)).toEqual([
      'Automatic export for Recovers is failing',
      'Reminder: automatic export for Recovers still failing, stops 2026-12-07 00:01 UTC',
      'Automatic export for Recovers is failing',
    ]);
  });
});

describe('transient trouble', () => {
  it('never starts the sequence', async () => {
    const owner = 'owner-throttled@customer.example';
    const env = await exportingEnvironment('Throttled', owner);
    const start = T0 + 20 * 24 * HOUR;
    proxy.mode = 'unavailable';
    expect(await env.run(start)).toMatchObject({ outcome: 'failed', retryable: true });
    expect(await env.status()).toMatchObject({
      status: 'failed',
      errorCode: 'temporarily_unavailable',
      failingSince: null,
    });
    const result = await check(start + HOUR);
    expect(result.emailsSent.filter((e: { environmentId: string }) => e.environmentId === env.id)).toEqual([]);
    expect(await emailsTo(service, owner)).toEqual([]);
  });
});

describe('reading only failing exports', () => {
  it('reads the failing exports through the sparse index, whatever the number of healthy ones', async () => {
    const healthy = [];
    for (let i = 0; i < 12; i++)
      healthy.push(await exportingEnvironment(`Healthy ${i}`, `healthy-${i}@customer.example`));
    const start = T0 + 30 * 24 * HOUR;
    for (const env of healthy) expect((await env.run(start)).outcome).toBe('successful');
    const failing = [
      await exportingEnvironment('Failing A', 'a@customer.example'),
      await exportingEnvironment('Failing B', 'b@customer.example'),
    ];
    proxy.mode = 'revoked';
    for (const env of failing) expect((await env.run(start)).outcome).toBe('failed');

    const sent: { command: unknown }[] = [];
    const client = service.clients.documentClient;
    const originalSend = client.send.bind(client);
    const spy = jest.spyOn(client, 'send').mockImplementation(((command: never) => {
      sent.push({ command });
      return originalSend(command);
    }) as never);
    let result;
    try {
      result = await check(start + HOUR);
      expect(result.examined).toBe(2);
      expect(result.emailsSent.map((e: { environmentId: string }) => e.environmentId).sort()).toEqual(
        failing.map((e) => e.id).sort(),
      );
    } finally {
      spy.mockRestore();
    }
    const reads = sent.map((s) => s.command).filter((c) => c instanceof QueryCommand || c instanceof ScanCommand);
    expect(reads.some((c) => c instanceof ScanCommand)).toBe(false);
    // The three sparse indexes (`failing` again for the export jobs' partition and for the raw revisions
    // exports' partition); the healthy exports, reconciled and succeeding, are in none of them.
    expect(reads.map((c) => (c as QueryCommand).input.IndexName)).toEqual([
      'unreconciled',
      'failing',
      'transient',
      'failing',
      'failing',
    ]);
    expect(result.schedules).toEqual({ reconciled: [], failed: [] });
  });
});
