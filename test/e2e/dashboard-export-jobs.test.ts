/**
 * The Export jobs pages in Chromium against the local service: a job created from the event catalog,
 * fired through the local route and its run shown with its files; the list's filters and page size kept
 * in the URL (a reload keeps them) with cursor pages; an edit where the rules allow it, the reason where
 * they do not; Stop with its confirmation. One service and one browser for the file.
 */
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, unlabelledControls, walk } from '../support/browser';
import { jobPageUrl } from '../../lambdas/core/job-failure-check';
import { createTenant, memberCall, signedIn, signedInUrl, type Member } from '../support/tenants';
import { CUSTOMER_BUCKET, startTestService, type TestService } from '../support/local-service';

let service: TestService;
let browser: Browser;
let acme: Member;
let call: ReturnType<typeof memberCall>;
let destinationId: string;
/** The job the walks create, fire, edit and stop, in that order. */
let created: { id: string; name: string };

beforeAll(async () => {
  [browser, service] = await Promise.all([launchBrowser(), startTestService({ customerStorage: true })]);
  acme = await createTenant(service, 'enterprise', 'Acme');
  call = memberCall(service, acme);
  const destination = await call('POST', '/destinations', {
    name: 'Warehouse',
    provider: 'Custom',
    bucket: CUSTOMER_BUCKET,
    key: 'exports',
    endpoint: service.customerStorage!.endpoint,
    auth: { mode: 'accessKey', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER-SECRET' },
  });
  destinationId = destination.body.id;
  const sent = await service.call('POST', '/ingest/bulk', {
    headers: { authorization: `Bearer ${acme.ingestKey}` },
    body: [
      { type: 'event', event: 'report_run', userId: 'alice', attributes: { rows: 1200 } },
      { type: 'event', event: 'report_run', userId: 'bob', attributes: { rows: 7 } },
      { type: 'event', event: 'dashboard_viewed', userId: 'alice', attributes: { page: 'home' } },
    ],
  });
  expect(sent.status).toBe(200);
  await service.services.rawLog.flush();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

const todayUtc = () => new Date().toISOString().slice(0, 10);
const jobRows = (page: Page) =>
  page
    .getByRole('region', { name: 'Export jobs' })
    .getByRole('row')
    .filter({ has: page.getByRole('cell') });
const searchOf = (page: Page) => Object.fromEntries(new URL(page.url()).searchParams);

describe('creating a job', () => {
  it('picks events from the catalog, a format, identity priority and a recurrence; a refused value shows at its field', async () => {
    await walk(browser, 'create job', async (page) => {
      await page.goto(signedInUrl(service, acme, 'export-jobs'));
      await page.getByText('No export jobs yet.').waitFor();
      await page.getByRole('link', { name: 'Create export job' }).click();
      await page.getByRole('heading', { name: 'Create an export job' }).waitFor();

      await page.getByLabel('Name', { exact: true }).fill('Reports every few hours');
      expect(await page.getByLabel('Destination').inputValue()).toBe(destinationId);
      await page.getByLabel('Selected events').check();
      await page.getByLabel(/^report_run/).check();
      expect(await page.getByLabel(/^dashboard_viewed/).isChecked()).toBe(false);
      await page.getByLabel('Format').selectOption('csv');
      await page.getByLabel('Identity priority 2').selectOption('email');
      await page.getByLabel('Recurring, every few hours').check();
      await page.getByLabel('Every (hours)').fill('3');
      await page.getByLabel('Notification emails').fill('data@acme.example');
      await page.getByRole('button', { name: 'Create job' }).click();

      const refused = page.locator('#everyHours-error');
      await refused.waitFor();
      expect(await refused.textContent()).toMatch(/everyHours must be 4 to 24/);
      expect(await page.getByLabel('Every (hours)').getAttribute('aria-invalid')).toBe('true');

      await page.getByLabel('Every (hours)').fill('6');
      await page.getByRole('button', { name: 'Create job' }).click();
      await page.getByRole('heading', { name: 'Reports every few hours' }).waitFor();
      created = { id: new URL(page.url()).pathname.split('/').pop()!, name: 'Reports every few hours' };
    });
    const job = (await call('GET', `/export-jobs/${created.id}`)).body;
    expect(job).toMatchObject({
      type: 'selectedEvents',
      events: ['report_run'],
      format: 'csv',
      identityPriority: ['identity', 'email'],
      frequency: { kind: 'recurring', everyHours: 6 },
      notifyEmails: ['data@acme.example'],
      status: 'PENDING',
    });
  });
});

describe('a job and its runs', () => {
  it('shows a run fired through the local route, with its files', async () => {
    // A window ends 15 minutes before its run's time (the raw log's settling margin): a run 16 minutes
    // from now exports what was sent until now.
    const scheduledTime = new Date(Date.now() + 16 * 60_000).toISOString();
    const fired = await service.call('POST', '/local/scheduler/fire', { body: { jobId: created.id, scheduledTime } });
    expect(fired.body).toMatchObject({ outcome: 'ran', run: { status: 'successful' } });
    const [run] = (await call('GET', `/export-jobs/${created.id}/runs`)).body.runs;
    expect(run.files.length).toBeGreaterThan(0);

    await walk(browser, 'job runs', async (page) => {
      // The address the job's failure emails link to.
      await page.goto(signedIn(jobPageUrl(service.url, acme.environmentId, created.id), acme));
      await page.getByRole('heading', { name: created.name }).waitFor();
      const history = page.getByRole('region', { name: 'Run history' });
      const row = history.getByRole('row').filter({ hasText: run.files[0].key });
      await row.waitFor();
      const cells = await row.getByRole('cell').allTextContents();
      expect(cells[2]).toBe('successful');
      expect(cells[3]).toBe(
        run.files.reduce((sum: number, file: { records: number }) => sum + file.records, 0).toLocaleString('en-US'),
      );
      for (const file of run.files) expect(cells[5]).toContain(file.key);
      expect(await page.locator('dl.status time').last().getAttribute('datetime')).toBe(run.startedAt);
    });
  });
});

describe('the list', () => {
  let oneTimeId: string;

  beforeAll(async () => {
    const job = {
      destinationId,
      type: 'allEvents',
      frequency: { kind: 'recurring', everyHours: 24 },
      format: 'json',
      notifyEmails: ['data@acme.example'],
    };
    for (let i = 1; i <= 11; i++)
      expect((await call('POST', '/export-jobs', { ...job, name: `JSON job ${i}` })).status).toBe(201);
    const oneTime = await call('POST', '/export-jobs', {
      ...job,
      name: 'Profiles once',
      type: 'userProfiles',
      format: 'parquet',
      frequency: { kind: 'oneTime', from: todayUtc(), to: todayUtc() },
    });
    oneTimeId = oneTime.body.id;
  });

  it('keeps the page size and the filters in the URL: a reload keeps them, and pages follow the cursor', async () => {
    await walk(browser, 'job list', async (page) => {
      await page.goto(signedInUrl(service, acme, 'export-jobs'));
      await jobRows(page).first().waitFor();
      expect(await jobRows(page).count()).toBe(13);

      await page.getByLabel('Jobs per page').selectOption('10');
      await page.waitForURL(/pageSize=10/);
      await page.getByRole('link', { name: 'Next page' }).waitFor();
      expect(await jobRows(page).count()).toBe(10);
      expect(await jobRows(page).first().getByRole('cell').first().textContent()).toBe('Profiles once');
      await page.getByRole('link', { name: 'Next page' }).click();
      await page.waitForURL(/cursor=/);
      await page.getByRole('link', { name: 'First page' }).waitFor();
      expect(await jobRows(page).count()).toBe(3);
      expect(await jobRows(page).last().getByRole('cell').first().textContent()).toBe(created.name);
      await page.reload();
      await page.getByRole('link', { name: 'First page' }).waitFor();
      expect(await jobRows(page).count()).toBe(3);
      await page.goBack();
      await page.getByRole('link', { name: 'Next page' }).waitFor();

      // A filter starts again from the first page.
      await page.getByLabel('Format').selectOption('csv');
      await page.waitForURL((url) => url.searchParams.get('format') === 'csv');
      expect(searchOf(page)).toEqual({ format: 'csv', pageSize: '10' });
      await page.getByLabel('Status').selectOption('PENDING');
      await page.waitForURL((url) => url.searchParams.get('status') === 'PENDING');
      await page.reload();
      await jobRows(page).first().waitFor();
      expect(await page.getByLabel('Format').inputValue()).toBe('csv');
      expect(await page.getByLabel('Status').inputValue()).toBe('PENDING');
      expect(await page.getByLabel('Jobs per page').inputValue()).toBe('10');
      expect(await jobRows(page).allTextContents()).toEqual([expect.stringContaining(created.name)]);

      await page.getByRole('link', { name: 'Clear filters' }).click();
      await page.waitForURL((url) => url.search === '?pageSize=10');
      await page.getByLabel('Frequency').selectOption('oneTime');
      await page.waitForURL(/frequency=oneTime/);
      await jobRows(page).filter({ hasText: 'Profiles once' }).waitFor();
      expect(await jobRows(page).count()).toBe(1);

      // Exported on: the day of the last run (UTC).
      await page.getByRole('link', { name: 'Clear filters' }).click();
      await page.getByLabel('Exported on (UTC day)').fill(todayUtc());
      await page.waitForURL(new RegExp(`exportedOn=${todayUtc()}`));
      const exportedToday = (
        await call('GET', `/export-jobs?exportedFrom=${todayUtc()}&exportedTo=${todayUtc()}`)
      ).body.items.map((job: { name: string }) => job.name);
      expect(exportedToday).toContain(created.name);
      await jobRows(page).filter({ hasText: created.name }).waitFor();
      expect((await jobRows(page).allTextContents()).length).toBe(exportedToday.length);
    });
  });

  it('explains why a one-time job cannot be edited, instead of offering Edit', async () => {
    await walk(browser, 'one-time not editable', async (page) => {
      await page.goto(signedInUrl(service, acme, `export-jobs/${oneTimeId}`));
      await page.getByRole('heading', { name: 'Profiles once' }).waitFor();
      expect(await page.locator('#not-editable').textContent()).toMatch(/^One-time jobs cannot be edited/);
      expect(await page.getByRole('link', { name: 'Edit' }).count()).toBe(0);
      // The edit address itself says the same.
      await page.goto(signedInUrl(service, acme, `export-jobs/${oneTimeId}/edit`));
      await page.getByText(/^One-time jobs cannot be edited/).waitFor();
      expect(await page.getByRole('button', { name: 'Save changes' }).count()).toBe(0);
    });
    const refused = await call('PATCH', `/export-jobs/${oneTimeId}`, { format: 'csv', version: 1 });
    expect(refused.body.error.code).toBe('one_time_not_editable');
  });
});

describe('editing and stopping', () => {
  it('edits a recurring job: only what changed is sent, and the job shows it', async () => {
    const before = (await call('GET', `/export-jobs/${created.id}`)).body;
    await walk(browser, 'edit job', async (page) => {
      await page.goto(signedInUrl(service, acme, `export-jobs/${created.id}`));
      await page.getByRole('link', { name: 'Edit' }).click();
      await page.getByRole('heading', { name: `Edit ${created.name}` }).waitFor();
      expect(await page.getByLabel('Every (hours)').inputValue()).toBe('6');
      expect(await page.getByLabel(/^report_run/).isChecked()).toBe(true);
      expect(await page.getByLabel('User profiles').isDisabled()).toBe(true);
      await page.getByLabel('Every (hours)').fill('12');
      await page.getByLabel(/^dashboard_viewed/).check();
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('heading', { name: created.name }).waitFor();
      await page.getByText('Every 12 hours').waitFor();
    });
    const job = (await call('GET', `/export-jobs/${created.id}`)).body;
    expect(job).toMatchObject({
      ...before,
      frequency: { kind: 'recurring', everyHours: 12 },
      events: job.events,
      version: before.version + 1,
      updatedAt: job.updatedAt,
    });
    expect([...job.events].sort()).toEqual(['dashboard_viewed', 'report_run']);
    expect(service.services.scheduler.jobSchedule(created.id)?.everyHours).toBe(12);
  });

  it('stops a job only once confirmed, then explains why it can no longer be edited', async () => {
    await walk(browser, 'stop job', async (page) => {
      await page.goto(signedInUrl(service, acme, `export-jobs/${created.id}`));
      await page.getByRole('button', { name: 'Stop' }).click();
      const confirmation = page.getByRole('group', { name: /^Stop Reports every few hours\?/ });
      await confirmation.waitFor();
      expect(await page.evaluate('document.activeElement?.textContent')).toBe('Cancel');
      await confirmation.getByRole('button', { name: 'Cancel' }).click();
      expect(await confirmation.count()).toBe(0);
      expect((await call('GET', `/export-jobs/${created.id}`)).body.status).toBe('PENDING');

      await page.getByRole('button', { name: 'Stop' }).click();
      await confirmation.getByRole('button', { name: 'Stop the job' }).click();
      await page.locator('dl.status .badge').filter({ hasText: 'STOPPED' }).waitFor();
      expect(await page.locator('#not-editable').textContent()).toMatch(/stopped, and finished jobs cannot be edited/);
      expect(await page.getByRole('link', { name: 'Edit' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Stop' }).count()).toBe(0);
    });
    expect((await call('GET', `/export-jobs/${created.id}`)).body).toMatchObject({
      status: 'STOPPED',
      stoppedReason: 'Stopped by a user.',
    });
    expect(service.services.scheduler.jobSchedule(created.id)).toBeUndefined();
  });
});

describe('for people', () => {
  it('fits 375 px and labels every control, on the list and the create form', async () => {
    await walk(browser, 'jobs narrow', async (page) => {
      await page.setViewportSize({ width: 375, height: 800 });
      for (const path of ['export-jobs', 'export-jobs/new']) {
        await page.goto(signedInUrl(service, acme, path));
        await page.getByRole('heading', { name: 'Export jobs', level: 1 }).waitFor();
        await page.locator('form').first().waitFor();
        expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
        expect(await unlabelledControls(page)).toEqual([]);
      }
    });
  });
});
