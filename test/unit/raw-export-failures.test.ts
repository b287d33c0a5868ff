/**
 * The raw export's warning sequence: the automatic export's three emails, each once, then the raw
 * export stopped (settings off, schedule removed); a save by the customer ends the sequence.
 */
import { AccessDeniedError } from '../../lambdas/core/destination';
import { RawExportFailureCheck } from '../../lambdas/core/raw-export-failures';
import { FakeMailer } from '../support/fakes';
import { FakeRawFailingExports, rawRevisionsFixture } from '../support/raw-export-fakes';

const HOUR = 3_600_000;
const F = Date.parse('2026-12-02T12:00:00Z');
const member = { organizationId: 'org_1', role: 'member' as const };

async function failingRawExport() {
  const {
    service: raw,
    store,
    scheduler,
    objects,
    gateway,
    tenants,
    destinations,
    clock,
  } = await rawRevisionsFixture({ auth: 'bucketPolicy', now: F });
  objects.add('raw/env1/2026/12/01/10/a.jsonl.gz', [
    { id: 'i', environmentId: 'env1', receivedAt: F - 26 * HOUR, type: 'event', userId: 'u', event: 'e' },
  ]);
  await raw.putSettings(member, 'env1', { enabled: true, destinationId: 'dst_1', notifyEmails: ['data@acme.example'] });
  gateway.writeError = new AccessDeniedError('lake', 'km');
  await raw.run({ environmentId: 'env1', scheduledTime: F, runAt: F, budgetMs: 0 });
  const mailer = new FakeMailer();
  const check = new RawExportFailureCheck({
    failing: new FakeRawFailingExports(store),
    store,
    scheduler,
    tenants,
    destinations,
    mailer,
    clock,
    dashboardUrl: 'https://app.example/dashboard/',
  });
  return { raw, store, scheduler, mailer, check };
}

test('a check whose clock is behind the failure sends nothing yet', async () => {
  const { mailer, check } = await failingRawExport();
  expect((await check.check(F - HOUR)).emailsSent).toEqual([]);
  expect(mailer.attempts).toEqual([]);
});

test('turned off while its failure record stayed (a save that crashed before clearing it): the sequence ends, no email', async () => {
  const { store, mailer, check } = await failingRawExport();
  const settings = (await store.getSettings('env1'))!;
  await store.putSettings({ ...settings, enabled: false, version: settings.version + 1 }, settings.version);
  expect((await check.check(F + HOUR)).emailsSent).toEqual([]);
  expect((await check.check(F + 2 * HOUR)).examined).toBe(0);
  expect(mailer.attempts).toEqual([]);
});

test('the stop email failed to send: the next check sends it, the export stays stopped once', async () => {
  const { store, scheduler, mailer, check } = await failingRawExport();
  await check.check(F + HOUR);
  await check.check(F + 25 * HOUR);
  mailer.failNext = 1;
  await check.check(F + 72 * HOUR);
  const stopped = (await store.getSettings('env1'))!;
  expect(stopped).toMatchObject({ enabled: false, stoppedAt: F + 72 * HOUR });
  const next = await check.check(F + 73 * HOUR);
  expect(next.emailsSent).toEqual([{ environmentId: 'env1', email: 3 }]);
  expect(next.stopped).toEqual(['env1']);
  expect(mailer.sent.map((m) => m.subject)[2]).toBe('Raw data export stopped for Production');
  expect(await store.getSettings('env1')).toEqual(stopped);
  expect([...scheduler.schedules]).toEqual([]);
});

test('three emails, each once whatever checks repeat, then the raw export is stopped and unscheduled', async () => {
  const { raw, store, scheduler, mailer, check } = await failingRawExport();
  expect([...scheduler.schedules]).toEqual(['env1']);
  const results = [];
  for (const hours of [1, 2, 25, 26, 72, 73]) results.push(await check.check(F + hours * HOUR));
  expect(results.map((r) => r.emailsSent.map((e) => e.email))).toEqual([[1], [], [2], [], [3], []]);
  expect(mailer.sent.map((m) => m.subject)).toEqual([
    'Raw data export for Production is failing',
    'Reminder: raw data export for Production still failing, stops 2026-12-05 12:00 UTC',
    'Raw data export stopped for Production',
  ]);
  expect(mailer.sent[0].to).toEqual(['data@acme.example']);
  expect(mailer.sent[0].text).toContain('https://app.example/dashboard/environments/env1/settings/raw-export');
  expect(mailer.sent[0].text).toContain('AWS bucket "lake" (folder "km/")');
  expect(results[4].stopped).toEqual(['env1']);
  expect([...scheduler.schedules]).toEqual([]);
  expect(await store.getSettings('env1')).toMatchObject({ enabled: false, stoppedAt: F + 72 * HOUR });
  expect(await raw.getStatus(member, 'env1')).toMatchObject({
    status: 'stopped',
    nextRunAt: null,
    error: expect.stringContaining('Stopped after failing for 72 hours'),
  });
});

test("the customer's save ends the sequence: no further emails", async () => {
  const { raw, mailer, check } = await failingRawExport();
  await check.check(F + HOUR);
  await raw.putSettings(member, 'env1', {
    enabled: true,
    destinationId: 'dst_1',
    notifyEmails: ['data@acme.example'],
    version: 1,
  });
  expect((await check.check(F + 30 * HOUR)).examined).toBe(0);
  expect(mailer.sent).toHaveLength(1);
});

test('the customer saves while the check is stopping the export: no stop and no stop email, the export stays on', async () => {
  const { raw, store, scheduler, mailer, check } = await failingRawExport();
  await check.check(F + HOUR);
  await check.check(F + 25 * HOUR);
  // The save lands after the check claimed email 3 and before its conditional stop.
  const stop = store.stop.bind(store);
  store.stop = async (...args) => {
    await raw.putSettings(member, 'env1', {
      enabled: true,
      destinationId: 'dst_1',
      notifyEmails: ['new@acme.example'],
      version: args[1],
    });
    return stop(...args);
  };
  const result = await check.check(F + 72 * HOUR);
  expect(result.emailsSent).toEqual([]);
  expect(result.stopped).toEqual([]);
  expect(mailer.sent).toHaveLength(2);
  expect(await store.getSettings('env1')).toMatchObject({ enabled: true, notifyEmails: ['new@acme.example'] });
  expect((await store.getSettings('env1'))!.stoppedAt).toBeUndefined();
  expect([...scheduler.schedules]).toEqual(['env1']);
  expect((await check.check(F + 73 * HOUR)).examined).toBe(0);
  expect(mailer.sent).toHaveLength(2);
});
