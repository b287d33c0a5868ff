/**
 * The dashboard in a real browser (Chromium through playwright-core) against the local service: the
 * Data export settings form with its status panel, and the Manual export page. One browser for the
 * file; each walk gets its own context (its own sessionStorage) and signs in through the link
 * `npm start` prints. A walk fails on any console error, uncaught exception or failed request.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { ManualExportRequest } from '../../lambdas/ports';
import type { Browser, Page } from 'playwright-core';
import { parse } from 'csv-parse/sync';
import { startCustomerStorage, type CustomerStorage } from '../../lambdas/local/customer-storage';
import { syntheticTenant } from '../../lambdas/local/synthetic';
import { launchBrowser, unlabelledControls, walk } from '../support/browser';
import { startTestService, type TestService } from '../support/local-service';
import { createTenant } from '../support/tenants';

const BUCKET = 'customer-exports';
let service: TestService;
let storage: CustomerStorage;
let browser: Browser;
let enterprise: { environmentId: string; token: string };
let free: { environmentId: string; token: string };
/** A pro organization whose manual exports wait for {@link releaseBusyExports}, to fill its two slots. */
let busy: { environmentId: string; token: string };
let releaseBusyExports: () => void;

/** The link `npm start` prints: a page of the environment, the token in the fragment. */
const signedInUrl = (who: { environmentId: string; token: string }, page: string) =>
  `${service.url}/environments/${who.environmentId}/settings/${page}#token=${who.token}`;

async function fillCustomDestination(page: Page, accessKeyId: string): Promise<void> {
  await page.getByLabel('Enable automatic export').check();
  await page.getByLabel('S3 provider').selectOption('Custom');
  await page.getByLabel('Bucket', { exact: true }).fill(BUCKET);
  await page.getByLabel('Region').fill('us-east-1');
  await page.getByLabel('Key', { exact: true }).fill('warehouse');
  await page.getByLabel('Endpoint').fill(storage.endpoint);
  await page.getByLabel('Access key', { exact: true }).fill(accessKeyId);
  await page.getByLabel('Secret access key').fill('a-secret-that-must-never-leak');
  await page.getByLabel('Notification emails').fill('data-team@customer.example');
}

const settingsOf = async (who: { environmentId: string; token: string }) =>
  (await service.call('GET', `/v1/environments/${who.environmentId}/data-export/settings`, { token: who.token })).body;

beforeAll(async () => {
  browser = await launchBrowser();
  service = await startTestService();
  await service.clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  storage = await startCustomerStorage(service.emulators.s3Endpoint);
  enterprise = await createTenant(service, 'enterprise', 'Enterprise Co');
  free = await createTenant(service, 'free', 'Free Co');
  busy = await createTenant(service, 'pro', 'Busy Co');
  const gate = new Promise<void>((resolve) => (releaseBusyExports = resolve));
  service.services.dispatcher.attach(async ({ environmentId, jobId }: ManualExportRequest) => {
    if (environmentId === busy.environmentId) await gate;
    await service.services.manualExports.run(environmentId, jobId);
  });
  await service.call('PUT', `/v1/environments/${enterprise.environmentId}/features/reports`, {
    token: enterprise.token,
    body: { key: 'report_run', name: 'Reports' },
  });
  for (const company of syntheticTenant({
    companies: 5,
    featureKeys: ['report_run'],
    days: 40,
    endAt: Date.now(),
    seed: 3,
  })) {
    await service.services.usage.putCompanyUsage(enterprise.environmentId, company);
  }
});

afterAll(async () => {
  releaseBusyExports?.();
  await browser?.close();
  await storage?.close();
  await service?.stop();
});

describe('serving', () => {
  it('answers page paths with index.html, files with their type, and nothing outside the bundle', async () => {
    const page = await fetch(`${service.url}/environments/env_x/settings/data-export`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    expect((await fetch(`${service.url}/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await (await fetch(`${service.url}/config.json`)).json()).toEqual({ apiBaseUrl: '' });
    for (const escape of [
      '/%2e%2e/%2e%2e/package.json',
      '/..%2f..%2fpackage.json',
      '/%2e%2e%5c%2e%2e%5cpackage.json',
    ]) {
      const response = await fetch(`${service.url}${escape}`);
      expect(await response.text()).not.toContain('"dependencies"');
    }
    expect((await fetch(`${service.url}/missing.js`)).status).toBe(404);
    // The API keeps its own answers.
    expect((await service.call('GET', '/v1/nothing-here')).body.error.code).toBeDefined();
  });
});

describe('signing in', () => {
  it('asks for a token without the link, opens the Data export page, and keeps the token out of the address', async () => {
    await walk(browser, 'sign in', async (page) => {
      await page.goto(`${service.url}/`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      expect(await page.locator('#token-error').textContent()).toMatch(/member token/);
      await page.getByLabel('Member token').fill(enterprise.token);
      await page.getByLabel('Environment id').fill(enterprise.environmentId);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Data export', level: 1 }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/environments/${enterprise.environmentId}/settings/data-export`);
      await page.getByText('Environment: Production').waitFor(); // the environment's name, read from the API

      await page.goto(signedInUrl(enterprise, 'manual-export'));
      await page.getByRole('heading', { name: 'Manual export', level: 1 }).waitFor();
      expect(page.url()).not.toContain(enterprise.token);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    });
  });
});

describe('Data export page', () => {
  it('shows the invalid_credentials message next to the access key, and saves nothing', async () => {
    await walk(browser, 'wrong key', async (page) => {
      await page.goto(signedInUrl(enterprise, 'data-export'));
      await fillCustomDestination(page, 'WRONG');
      await page.getByRole('button', { name: 'Save' }).click();

      const keyField = page.getByLabel('Access key', { exact: true });
      await page.locator('#accessKeyId-error').waitFor();
      expect(await page.locator('#accessKeyId-error').textContent()).toMatch(/^The access key is not valid/);
      expect(await keyField.getAttribute('aria-invalid')).toBe('true');
      expect(await keyField.getAttribute('aria-describedby')).toContain('accessKeyId-error');
      expect(await page.locator('#bucket-error').count()).toBe(0);
    });
    expect((await settingsOf(enterprise)).version).toBe(0);
  });

  it('saves valid settings to the customer storage, shows them after a reload, the secret "unchanged"', async () => {
    await walk(browser, 'save settings', async (page) => {
      await page.goto(signedInUrl(enterprise, 'data-export'));
      await fillCustomDestination(page, 'S3RVER');
      await page.getByLabel('Periodic schedule').selectOption('weekly');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();

      await page.reload();
      await page.getByLabel('Bucket', { exact: true }).waitFor();
      expect(await page.getByLabel('Enable automatic export').isChecked()).toBe(true);
      expect(await page.getByLabel('Periodic schedule').inputValue()).toBe('weekly');
      expect(await page.getByLabel('S3 provider').inputValue()).toBe('Custom');
      expect(await page.getByLabel('Bucket', { exact: true }).inputValue()).toBe(BUCKET);
      expect(await page.getByLabel('Endpoint').inputValue()).toBe(storage.endpoint);
      expect(await page.getByLabel('Notification emails').inputValue()).toBe('data-team@customer.example');
      const secret = page.getByLabel('Secret access key');
      expect(await secret.inputValue()).toBe('');
      expect(await secret.getAttribute('placeholder')).toBe('unchanged');
      expect(await page.locator('#secretAccessKey-hint').textContent()).toMatch(/^Unchanged/);
      expect(await page.getByLabel('Access key', { exact: true }).getAttribute('placeholder')).toBe('****RVER');

      // Saved again with the secret left empty: the stored one is kept.
      await page.getByLabel('Periodic schedule').selectOption('daily');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    });
    const stored = await settingsOf(enterprise);
    expect(stored).toMatchObject({
      enabled: true,
      cadence: 'daily',
      provider: 'Custom',
      bucket: BUCKET,
      key: 'warehouse',
      secretAccessKeySet: true,
    });
  });

  it('shows a fired run in the status panel and the run history', async () => {
    const scheduledTime = `${new Date().toISOString().slice(0, 10)}T00:00:00Z`;
    const fired = await service.call('POST', '/local/scheduler/fire', {
      body: { envId: enterprise.environmentId, scheduledTime },
    });
    expect(fired.body.outcome).toBe('successful');

    await walk(browser, 'run history', async (page) => {
      await page.goto(signedInUrl(enterprise, 'data-export'));
      const history = page.getByRole('region', { name: 'Run history' });
      const row = history.getByRole('row').filter({ hasText: fired.body.objectKey });
      await row.waitFor();
      const cells = await row.getByRole('cell').allTextContents();
      expect(cells[1]).toBe('successful');
      expect(cells[2]).toBe(fired.body.rowCount.toLocaleString('en-US'));
      expect(cells[5]).toBe(fired.body.objectKey);
      const status = page.locator('dl.status');
      expect(await status.locator('dd').nth(1).textContent()).toBe('successful');
      expect(await status.locator('time').first().getAttribute('datetime')).toBe(new Date(scheduledTime).toISOString());
    });
  });

  it('answers a stale save with the reload guidance', async () => {
    await walk(browser, 'stale save', async (page) => {
      await page.goto(signedInUrl(enterprise, 'data-export'));
      await page.getByLabel('Bucket', { exact: true }).waitFor();
      const { version } = await settingsOf(enterprise);
      // Someone else saves in between.
      await service.call('PUT', `/v1/environments/${enterprise.environmentId}/data-export/settings`, {
        token: enterprise.token,
        body: { enabled: true, cadence: 'weekly', version },
      });
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('button', { name: 'Reload settings' }).click();
      await page.getByRole('button', { name: 'Reload settings' }).waitFor({ state: 'detached' });
      expect(await page.getByLabel('Periodic schedule').inputValue()).toBe('weekly');
    });
  });
});

describe('for people', () => {
  it('fits 375 px without sideways scrolling, labels every control, and reaches Save by keyboard', async () => {
    await walk(browser, 'narrow and keyboard', async (page) => {
      await page.setViewportSize({ width: 375, height: 800 });
      await page.goto(signedInUrl(enterprise, 'data-export'));
      await page.getByRole('button', { name: 'Save' }).waitFor();
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      expect(await unlabelledControls(page)).toEqual([]);

      let reachedSave = false;
      for (let presses = 0; presses < 30 && !reachedSave; presses += 1) {
        await page.keyboard.press('Tab');
        reachedSave = (await page.evaluate('document.activeElement?.textContent')) === 'Save';
      }
      expect(reachedSave).toBe(true);
    });
  });
});

describe('Manual export page', () => {
  it('starts an export, follows its progress and downloads the CSV through the link', async () => {
    await walk(browser, 'manual export', async (page) => {
      await page.goto(signedInUrl(enterprise, 'manual-export'));
      await page.getByLabel('30 days, daily granularity').check();
      await page.getByRole('button', { name: 'Download export' }).click();
      const link = page.getByRole('link', { name: /^Download .*_30d-daily_.*\.csv$/ });
      await link.waitFor({ timeout: 30_000 });

      const download = await page.request.get((await link.getAttribute('href'))!);
      expect(download.status()).toBe(200);
      const rows = parse(await download.text());
      expect(rows[0].slice(0, 5)).toEqual(['Company ID', 'Company Name', 'Feature Name', 'Feature ID', 'Date']);
      const shownRows = Number(
        (await page.getByRole('status').filter({ has: link }).textContent())!
          .match(/([\d,]+) rows/)![1]
          .replace(/,/g, ''),
      );
      expect(shownRows).toBeGreaterThan(0);
      expect(rows.length).toBe(1 + shownRows);
      expect(new Set(rows.slice(1).map((row) => row[4])).size).toBe(30);
    });
  });

  it("shows a free plan why it cannot export, in the API's words", async () => {
    await walk(browser, 'free plan', async (page) => {
      await page.goto(signedInUrl(free, 'manual-export'));
      await page.getByRole('button', { name: 'Download export' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      const refused = await service.call('POST', `/v1/environments/${free.environmentId}/exports/manual`, {
        token: free.token,
        body: { aggregation: 'snapshot' },
      });
      expect(refused.status).toBe(403);
      expect(await alert.textContent()).toBe(refused.body.error.message);
    });
  });

  it('shows the progress of running exports, and the limit message when a third is started', async () => {
    await walk(browser, 'export limit', async (page) => {
      await page.goto(signedInUrl(busy, 'manual-export'));
      const start = page.getByRole('button', { name: 'Download export' });
      const exports = page.getByRole('region', { name: 'Exports' }).getByRole('listitem');
      for (const count of [1, 2]) {
        await start.click();
        await exports
          .nth(count - 1)
          .getByRole('progressbar')
          .waitFor();
      }
      await start.click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toMatch(/^At most 2 manual exports .* in 30 seconds or later/);
      expect(await exports.count()).toBe(2);
      expect(await exports.getByRole('progressbar').count()).toBe(2);

      releaseBusyExports();
      await page
        .getByRole('link', { name: /^Download .*\.csv$/ })
        .nth(1)
        .waitFor({ timeout: 30_000 });
      expect(await exports.getByRole('progressbar').count()).toBe(0);
    });
  });
});
