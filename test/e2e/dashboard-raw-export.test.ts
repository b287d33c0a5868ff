/**
 * The Raw export page in Chromium against the local service. Until the service offers
 * `/raw-export` (issue 15), its routes answer 404 and the page says the feature is not available,
 * without an error of its own.
 */
import type { Browser } from 'playwright-core';
import { launchBrowser, walk } from '../support/browser';
import { dashboardTenant, memberCall, signedInUrl, type Member } from '../support/dashboard-tenants';
import { startTestService, type TestService } from '../support/local-service';

let service: TestService;
let browser: Browser;
let acme: Member;

beforeAll(async () => {
  [browser, service] = await Promise.all([launchBrowser(), startTestService()]);
  acme = await dashboardTenant(service, 'enterprise', 'Acme');
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

describe('Raw export page', () => {
  it('says plainly that raw export is not available when the service answers 404', async () => {
    expect((await memberCall(service, acme)('GET', '/raw-export/settings')).status).toBe(404);
    await walk(browser, 'raw export unavailable', async (page) => {
      await page.goto(signedInUrl(service, acme, 'raw-export'));
      await page.getByRole('heading', { name: 'Raw export', level: 1 }).waitFor();
      const notice = page.getByRole('status').filter({ hasText: 'Raw export is not available on this service yet.' });
      await notice.waitFor();
      expect(await page.getByRole('alert').count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Save' }).count()).toBe(0);
    });
  });
});
