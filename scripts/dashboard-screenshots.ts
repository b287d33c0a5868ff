/**
 * The README's dashboard screenshots (`npm run screenshots`): the local service on in-memory emulators
 * with the demo tenant (a smaller one: 40 companies over 60 days), its automatic export saved and run,
 * destinations, export jobs with runs, and events; then Chromium visits each page and saves a PNG under
 * docs/images/. The raw export is turned on and run just before its own page is shot, so that its
 * items of yesterday change none of the other pages. A page that meets a console error or a failed
 * request fails the script.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createDemoTenant } from '../lambdas/local/demo';
import { launchBrowser, watchedPage } from '../test/support/browser';
import type { Member } from '../test/support/tenants';
import { CUSTOMER_BUCKET, startTestService, type TestService } from '../test/support/local-service';

const OUT_DIR = join(__dirname, '..', 'docs', 'images');
const HOUR_MS = 3_600_000;

async function seed(service: TestService) {
  const demo = await createDemoTenant(service.services, { companies: 40, days: 60 });
  const member: Member = {
    organizationId: demo.organization.id,
    environmentId: demo.environment.id,
    ingestKey: demo.environment.ingestKey,
    token: await service.token(demo.organization.id),
  };
  const call = memberCall(service, member);
  const endpoint = service.customerStorage!.endpoint;

  const settings = await call('GET', '/data-export/settings');
  await call('PUT', '/data-export/settings', {
    enabled: true,
    cadence: 'daily',
    provider: 'Custom',
    bucket: CUSTOMER_BUCKET,
    region: 'us-east-1',
    key: 'company-data',
    endpoint,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER-SECRET',
    notifyEmails: ['data-team@demo.example'],
    version: settings.version,
  });
  for (const daysAgo of [2, 1, 0]) {
    const scheduledTime = `${new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10)}T00:00:00Z`;
    await service.call('POST', '/local/scheduler/fire', { body: { envId: member.environmentId, scheduledTime } });
  }

  const events = ['purchase', 'signup', 'report_run', 'dashboard_viewed', 'alert_created'].flatMap((event, index) =>
    Array.from({ length: 3 + index }, (_, n) => ({
      type: 'event',
      event,
      userId: `user-${n}`,
      attributes: { plan: n % 2 ? 'pro' : 'enterprise', amount: n * 10 },
    })),
  );
  await ingest(service, member, events);
  await service.services.rawLog.flush();

  const warehouse = await call('POST', '/destinations', {
    name: 'Warehouse',
    provider: 'Custom',
    bucket: CUSTOMER_BUCKET,
    key: 'events',
    endpoint,
    auth: { mode: 'accessKey', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER-SECRET' },
  });
  const lake = await call('POST', '/destinations', {
    name: 'Data lake',
    provider: 'Custom',
    bucket: CUSTOMER_BUCKET,
    key: 'lake',
    endpoint,
    auth: { mode: 'bucketPolicy' },
  });
  const job = { notifyEmails: ['data-team@demo.example'] };
  const today = new Date().toISOString().slice(0, 10);
  const purchases = await call('POST', '/export-jobs', {
    ...job,
    name: 'Purchases every 6 hours',
    destinationId: warehouse.id,
    type: 'selectedEvents',
    events: ['purchase', 'signup'],
    identityPriority: ['identity', 'email'],
    frequency: { kind: 'recurring', everyHours: 6 },
    format: 'csv',
  });
  await service.call('POST', '/local/scheduler/fire', {
    body: { jobId: purchases.id, scheduledTime: new Date(Date.now() + 1000).toISOString() },
  });
  await call('POST', '/export-jobs', {
    ...job,
    name: 'All events to the lake',
    destinationId: lake.id,
    type: 'allEvents',
    frequency: { kind: 'recurring', everyHours: 12 },
    format: 'parquet',
  });
  await call('POST', '/export-jobs', {
    ...job,
    name: 'Profiles backfill',
    destinationId: lake.id,
    type: 'userProfiles',
    frequency: { kind: 'oneTime', from: today, to: today },
    format: 'json',
  });
  const old = await call('POST', '/export-jobs', {
    ...job,
    name: 'Old XML feed',
    destinationId: warehouse.id,
    type: 'allEvents',
    frequency: { kind: 'recurring', everyHours: 24 },
    format: 'xml',
  });
  await call('POST', `/export-jobs/${old.id}/stop`);
  await service.services.dispatcher.idle();
  return { member, purchasesId: purchases.id, lakeId: lake.id, warehouseId: warehouse.id };
}

/** The member's API call; an answer other than 2xx fails the script. */
function memberCall(service: TestService, member: Member) {
  return async (method: string, path: string, body?: unknown) => {
    const answer = await service.call(method, `/v1/environments/${member.environmentId}${path}`, {
      token: member.token,
      body,
    });
    if (answer.status >= 300)
      throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
}

async function ingest(service: TestService, member: Member, items: unknown[]): Promise<void> {
  const answer = await service.call('POST', '/ingest/bulk', {
    headers: { authorization: `Bearer ${member.ingestKey}` },
    body: items,
  });
  if (answer.status !== 200) throw new Error(`ingest answered ${answer.status}: ${JSON.stringify(answer.body)}`);
}

/**
 * The raw export on, into the warehouse, with items received yesterday (one raw-log object per hour:
 * one revision each) and run as scheduled at 00:00 UTC today: yesterday's revisions exported, today's
 * counted and left for the next run.
 */
async function seedRawExport(service: TestService, member: Member, destinationId: string): Promise<void> {
  const today = Math.floor(Date.now() / (24 * HOUR_MS)) * 24 * HOUR_MS;
  for (const hoursBefore of [15, 11, 6]) {
    await service.services.clock.at(today - hoursBefore * HOUR_MS, async () => {
      await ingest(service, member, [
        { type: 'event', event: 'report_run', userId: `user-${hoursBefore}`, attributes: { rows: hoursBefore * 100 } },
      ]);
      await service.services.rawLog.flush();
    });
  }
  const call = memberCall(service, member);
  const settings = await call('GET', '/raw-export/settings');
  await call('PUT', '/raw-export/settings', {
    enabled: true,
    destinationId,
    notifyEmails: ['data-team@demo.example'],
    version: settings.version,
  });
  const fired = await service.call('POST', '/local/scheduler/fire', {
    body: { target: 'raw-export', envId: member.environmentId, scheduledTime: new Date(today).toISOString() },
  });
  if (fired.body?.outcome !== 'successful')
    throw new Error(`The raw export run answered ${fired.status}: ${JSON.stringify(fired.body)}`);
}

async function shoot(browser: Browser, url: string, file: string, ready: (page: Page) => Promise<void>): Promise<void> {
  const watched = await watchedPage(browser);
  try {
    await watched.page.emulateMedia({ reducedMotion: 'reduce' });
    await watched.page.setViewportSize({ width: 1100, height: 800 });
    await watched.page.goto(url);
    await ready(watched.page);
    if (watched.problems.length > 0) throw new Error(`${file}: the page met problems:\n${watched.problems.join('\n')}`);
    await watched.page.screenshot({ path: join(OUT_DIR, file), fullPage: true });
    console.log(`docs/images/${file}`);
  } finally {
    await watched.context.close();
  }
}

async function main(): Promise<void> {
  mkdirSync(OUT_DIR, { recursive: true });
  const [browser, service] = await Promise.all([launchBrowser(), startTestService({ customerStorage: true })]);
  try {
    const { member, purchasesId, lakeId, warehouseId } = await seed(service);
    const url = (page: string) => `${service.url}/environments/${member.environmentId}/${page}#token=${member.token}`;
    await shoot(browser, url('settings/data-export'), 'dashboard-data-export.png', (page) =>
      page.getByRole('region', { name: 'Run history' }).waitFor(),
    );
    await shoot(browser, url('settings/manual-export'), 'dashboard-manual-export.png', async (page) => {
      await page.getByLabel('30 days, daily granularity').check();
      await page.getByRole('button', { name: 'Download export' }).click();
      await page.getByRole('link', { name: /^Download .*\.csv$/ }).waitFor({ timeout: 60_000 });
    });
    await shoot(browser, url('destinations'), 'dashboard-destinations.png', (page) =>
      page.getByRole('region', { name: 'Destinations' }).waitFor(),
    );
    await shoot(browser, url(`destinations/${lakeId}`), 'dashboard-destination-policy.png', (page) =>
      page.getByLabel(/^Bucket policy for/).waitFor(),
    );
    await shoot(browser, url('export-jobs'), 'dashboard-export-jobs.png', (page) =>
      page.getByRole('region', { name: 'Export jobs' }).waitFor(),
    );
    await shoot(browser, url('export-jobs/new'), 'dashboard-export-job-form.png', async (page) => {
      await page.getByLabel('Selected events').check();
      await page.getByLabel(/^purchase/).check();
      await page.getByLabel(/^signup/).check();
    });
    await shoot(browser, url(`export-jobs/${purchasesId}`), 'dashboard-export-job.png', (page) =>
      page.getByRole('region', { name: 'Run history' }).waitFor(),
    );
    await seedRawExport(service, member, warehouseId);
    await shoot(browser, url('settings/raw-export'), 'dashboard-raw-export.png', (page) =>
      page.getByText(/^[\d,]+ of [\d,]+ revisions exported$/).waitFor(),
    );
  } finally {
    await browser.close();
    await service.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
