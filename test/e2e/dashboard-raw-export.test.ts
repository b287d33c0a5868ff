/**
 * The Raw export page in Chromium against the local service: a plan without it sees why; an enterprise
 * member turns it on with a destination (refused values shown at their fields), follows a run fired
 * through the local route (exported / total revisions, last and next run), meets a stale save, turns
 * it off, and sees the error of a failed run and of an export the failure check stopped, on the page
 * its failure emails link to. One service and one browser for the file; the walks run in order.
 */
import type { Browser, Page } from 'playwright-core';
import { rawExportSettingsUrl } from '../../lambdas/core/raw-export-failures';
import { launchBrowser, unlabelledControls, walk } from '../support/browser';
import { createTenant, memberCall, signedIn, signedInUrl, type Member } from '../support/tenants';
import { CUSTOMER_BUCKET, startTestService, type TestService } from '../support/local-service';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const utc = (at: number) => new Date(at).toISOString();
/** 00:00 UTC today: a run scheduled then exports the hours received yesterday. */
const TODAY = Math.floor(Date.now() / DAY) * DAY;
const PAGE = 'settings/raw-export';

let service: TestService;
let browser: Browser;
let acme: Member;
let pro: Member;
let call: ReturnType<typeof memberCall>;
let warehouseId: string;

const ingest = (body: unknown) =>
  service.call('POST', '/ingest/bulk', { headers: { authorization: `Bearer ${acme.ingestKey}` }, body });
const fire = (scheduledTime: number) =>
  service.call('POST', '/local/scheduler/fire', {
    body: { target: 'raw-export', envId: acme.environmentId, scheduledTime: utc(scheduledTime) },
  });

beforeAll(async () => {
  [browser, service] = await Promise.all([launchBrowser(), startTestService({ customerStorage: true })]);
  acme = await createTenant(service, 'enterprise', 'Acme');
  pro = await createTenant(service, 'pro', 'Pro Co');
  call = memberCall(service, acme);
  for (const [name, key] of [
    ['Warehouse', 'km'],
    ['Archive', 'archive'],
  ]) {
    const destination = await call('POST', '/destinations', {
      name,
      provider: 'Custom',
      bucket: CUSTOMER_BUCKET,
      key,
      endpoint: service.customerStorage!.endpoint,
      auth: { mode: 'accessKey', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER-SECRET' },
    });
    expect(destination.status).toBe(201);
    if (name === 'Warehouse') warehouseId = destination.body.id;
  }
  // Three objects of the raw log, one per receive hour: two of yesterday (revisions for today's run)
  // and one of today (counted in the total, exported tomorrow).
  for (const receivedAt of [TODAY - 14 * HOUR, TODAY - 9 * HOUR]) {
    await service.services.clock.at(receivedAt, async () => {
      const sent = await ingest([
        { type: 'event', event: 'report_run', userId: 'alice', attributes: { at: utc(receivedAt) } },
      ]);
      expect(sent.status).toBe(200);
      await service.services.rawLog.flush();
    });
  }
  expect((await ingest([{ type: 'event', event: 'report_run', userId: 'bob' }])).status).toBe(200);
  await service.services.rawLog.flush();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

const progress = (page: Page) => page.getByRole('region', { name: 'Progress' });
/** The value of one row of the progress panel (`Status`, `Last run`, …). */
const shown = (page: Page, term: string) => progress(page).locator(`dt:text-is("${term}") + dd`);
const shownTime = (page: Page, term: string) => shown(page, term).locator('time').getAttribute('datetime');

describe('Raw export page', () => {
  it("shows a plan without raw export why it cannot, in the API's words", async () => {
    const refused = await memberCall(service, pro)('GET', '/raw-export/settings');
    expect(refused.status).toBe(403);
    await walk(browser, 'raw export plan', async (page) => {
      await page.goto(signedInUrl(service, pro, PAGE));
      const alert = page.getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toBe(refused.body.error.message);
      expect(refused.body.error.message).toMatch(/requires the enterprise plan/);
      expect(await page.getByRole('button', { name: 'Save' }).count()).toBe(0);
    });
  });

  it('turns it on with a chosen destination; refused values show at their fields', async () => {
    await walk(browser, 'raw export on', async (page) => {
      await page.goto(signedInUrl(service, acme, PAGE));
      await page.getByRole('heading', { name: 'Raw export', level: 1 }).waitFor();
      await progress(page).getByText('0 of 3 revisions exported').waitFor();
      expect(await shown(page, 'Status').textContent()).toBe('never ran before');
      expect(await shown(page, 'Next run').textContent()).toBe('Not scheduled');
      expect(await page.getByLabel('Destination').inputValue()).toBe('');
      expect(await unlabelledControls(page)).toEqual([]);

      await page.getByLabel('Export raw revisions').check();
      await page.getByRole('button', { name: 'Save' }).click();
      await page.locator('#destinationId-error').waitFor();
      expect(await page.locator('#destinationId-error').textContent()).toBe('required to enable the raw export');
      expect(await page.locator('#notifyEmails-error').textContent()).toMatch(/^add 1 to 10 addresses/);
      expect(await page.getByLabel('Destination').getAttribute('aria-invalid')).toBe('true');

      await page.getByLabel('Destination').selectOption({ label: 'Warehouse (Custom)' });
      await page.getByLabel('Notification emails').fill('data@acme, raw@acme.example');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.locator('#notifyEmails-error').filter({ hasText: 'must be an email address' }).waitFor();
      expect(await page.locator('#destinationId-error').count()).toBe(0);

      await page.getByLabel('Notification emails').fill('data@acme.example, raw@acme.example');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      expect(await page.locator('.field .error').count()).toBe(0);
      const status = (await call('GET', '/raw-export/status')).body;
      await shown(page, 'Next run').locator('time').waitFor();
      expect(await shownTime(page, 'Next run')).toBe(status.nextRunAt);
    });
    expect((await call('GET', '/raw-export/settings')).body).toMatchObject({
      enabled: true,
      destinationId: warehouseId,
      notifyEmails: ['data@acme.example', 'raw@acme.example'],
      version: 1,
    });
  });

  it('shows a fired run: exported / total revisions, the last and the next run', async () => {
    await walk(browser, 'raw export run', async (page) => {
      await page.goto(signedInUrl(service, acme, PAGE));
      await progress(page).getByText('0 of 3 revisions exported').waitFor();

      const fired = await fire(TODAY);
      expect(fired.body).toMatchObject({
        outcome: 'successful',
        written: [1, 2],
        exportedRevisions: 2,
        totalRevisions: 3,
      });
      await progress(page).getByRole('button', { name: 'Refresh' }).click();
      await progress(page).getByText('2 of 3 revisions exported').waitFor();

      const status = (await call('GET', '/raw-export/status')).body;
      expect(status).toMatchObject({
        status: 'successful',
        exportedRevisions: 2,
        totalRevisions: 3,
        lastRunAt: utc(TODAY),
        error: null,
      });
      const bar = progress(page).getByRole('progressbar', { name: 'Exported revisions' });
      expect([await bar.getAttribute('value'), await bar.getAttribute('max')]).toEqual(['2', '3']);
      expect(await shown(page, 'Status').textContent()).toBe('successful');
      expect(await shownTime(page, 'Last run')).toBe(status.lastRunAt);
      expect(await shownTime(page, 'Next run')).toBe(status.nextRunAt);
      expect(await shownTime(page, 'Exported up to')).toBe(status.maxExportedAt);
      expect(await shown(page, 'Error').count()).toBe(0);
    });
  });

  it('refuses a save based on settings changed meanwhile, and reloads them', async () => {
    await walk(browser, 'raw export stale', async (page) => {
      await page.goto(signedInUrl(service, acme, PAGE));
      await page.getByLabel('Notification emails').fill('mine@acme.example');
      const current = (await call('GET', '/raw-export/settings')).body;
      expect(
        (
          await call('PUT', '/raw-export/settings', {
            ...pick(current),
            notifyEmails: ['theirs@acme.example'],
            version: current.version,
          })
        ).status,
      ).toBe(200);

      await page.getByRole('button', { name: 'Save' }).click();
      const alert = page.getByRole('alert').filter({ hasText: 'were changed since you read them' });
      await alert.waitFor();
      await alert.getByRole('button', { name: 'Reload settings' }).click();
      // The reload answers the form and clears the refusal together.
      await alert.waitFor({ state: 'detached' });
      expect(await page.getByLabel('Notification emails').inputValue()).toBe('theirs@acme.example');
    });
  });

  it('turns it off: no next run, and the schedule is gone', async () => {
    await walk(browser, 'raw export off', async (page) => {
      await page.goto(signedInUrl(service, acme, PAGE));
      await page.getByLabel('Export raw revisions').uncheck();
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      await shown(page, 'Next run').filter({ hasText: 'Not scheduled' }).waitFor();
      expect(await progress(page).getByText('2 of 3 revisions exported').count()).toBe(1);
    });
    expect((await call('GET', '/raw-export/settings')).body).toMatchObject({
      enabled: false,
      destinationId: warehouseId,
    });
    expect((await fire(TODAY + 12 * HOUR)).status).toBe(404);
  });

  it("shows a failed run's error, then the stopped export's, on the page its failure emails link to", async () => {
    const current = (await call('GET', '/raw-export/settings')).body;
    expect(
      (await call('PUT', '/raw-export/settings', { ...pick(current), enabled: true, version: current.version })).status,
    ).toBe(200);
    await service.call('POST', '/local/customer-storage', { body: { access: 'revoked' } });
    const failedAt = TODAY + 12 * HOUR;
    expect((await fire(failedAt)).body).toMatchObject({ outcome: 'failed', errorCode: 'access_denied' });
    const failed = (await call('GET', '/raw-export/status')).body;
    expect(failed).toMatchObject({ status: 'failed', exportedRevisions: 2, error: expect.any(String) });

    const emailLink = signedIn(rawExportSettingsUrl(service.url, acme.environmentId), acme);
    await walk(browser, 'raw export failed', async (page) => {
      await page.goto(emailLink);
      await page.getByRole('heading', { name: 'Raw export', level: 1 }).waitFor();
      expect(await page.getByRole('link', { name: 'Raw export' }).getAttribute('aria-current')).toBe('page');
      await shown(page, 'Status').filter({ hasText: 'failed' }).waitFor();
      expect(await shown(page, 'Error').textContent()).toBe(failed.error);
    });

    const check = await service.call('POST', '/local/check-failures', { body: { now: utc(failedAt + 72 * HOUR) } });
    expect(check.body.rawExports).toMatchObject({ stopped: [acme.environmentId] });
    const stopped = (await call('GET', '/raw-export/status')).body;
    expect(stopped).toMatchObject({
      status: 'stopped',
      nextRunAt: null,
      error: expect.stringContaining('Stopped after failing for 72 hours'),
    });
    await walk(browser, 'raw export stopped', async (page) => {
      await page.goto(emailLink);
      await shown(page, 'Status').filter({ hasText: 'stopped' }).waitFor();
      expect(await shown(page, 'Error').textContent()).toBe(stopped.error);
      expect(await shown(page, 'Next run').textContent()).toBe('Not scheduled');
      await page.getByText(/^Stopped by the service .* after failing for 72 hours/).waitFor();
      expect(await page.getByLabel('Export raw revisions').isChecked()).toBe(false);
    });
  });
});

/** The settings a PUT takes back, from what a GET answered. */
const pick = ({
  enabled,
  destinationId,
  notifyEmails,
}: {
  enabled: boolean;
  destinationId: string;
  notifyEmails: string[];
}) => ({ enabled, destinationId, notifyEmails });
