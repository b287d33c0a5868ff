/**
 * The Destinations page in Chromium against the local service and its simulated customer storage: an
 * access-key destination (refused key shown at its field, then saved; the secret never shown), a
 * bucket-policy destination (the policy shown and copied, refused while the bucket's policy is
 * revoked, saved once granted), an edit, and a delete refused while a job uses the destination,
 * naming that job. One service and one browser for the file.
 */
import type { Browser, Page } from 'playwright-core';
import { LOCAL_EXPORT_ROLE_ARN } from '../../lambdas/local/wiring';
import { launchBrowser, unlabelledControls, walk } from '../support/browser';
import { createTenant, memberCall, signedInUrl, type Member } from '../support/tenants';
import { CUSTOMER_BUCKET, setBucketPolicy, startTestService, type TestService } from '../support/local-service';

let service: TestService;
let browser: Browser;
let acme: Member;
let call: ReturnType<typeof memberCall>;

beforeAll(async () => {
  [browser, service] = await Promise.all([launchBrowser(), startTestService({ customerStorage: true })]);
  acme = await createTenant(service, 'enterprise', 'Acme');
  call = memberCall(service, acme);
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

const destinations = async () =>
  (await call('GET', '/destinations')).body.items as { id: string; name: string; auth: { mode: string } }[];

async function fillCustomBucket(page: Page, key: string): Promise<void> {
  await page.getByLabel('S3 provider').selectOption('Custom');
  await page.getByLabel('Bucket', { exact: true }).fill(CUSTOMER_BUCKET);
  await page.getByLabel('Region').fill('us-east-1');
  await page.getByLabel('Key', { exact: true }).fill(key);
  await page.getByLabel('Endpoint').fill(service.customerStorage!.endpoint);
}

describe('Destinations page', () => {
  it('adds an access-key destination: the API message at the field it names, then saved; the secret never shown', async () => {
    await walk(browser, 'access key destination', async (page) => {
      await page.goto(signedInUrl(service, acme, 'destinations'));
      await page.getByText('No destinations yet.').waitFor();
      await page.getByRole('link', { name: 'Add destination' }).click();
      await page.getByRole('heading', { name: 'Add a destination' }).waitFor();

      // Nothing typed: the API's issues land at their fields.
      await page.getByRole('button', { name: 'Save destination' }).click();
      await page.locator('#name-error').waitFor();
      expect(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid')).toBe('true');

      await page.getByLabel('Name', { exact: true }).fill('Warehouse');
      await fillCustomBucket(page, 'warehouse');
      await page.getByLabel('Access key', { exact: true }).fill('WRONG');
      await page.getByLabel('Secret access key').fill('S3RVER-SECRET');
      await page.getByRole('button', { name: 'Save destination' }).click();
      // The errors of the first try stay until the answer to this one replaces them.
      await page
        .locator('#accessKeyId-error')
        .filter({ hasText: /^The access key is not valid/ })
        .waitFor();
      expect(await page.locator('#name-error').count()).toBe(0);
      expect(await page.getByLabel('Access key', { exact: true }).getAttribute('aria-invalid')).toBe('true');
      expect(await destinations()).toEqual([]);

      await page.getByLabel('Access key', { exact: true }).fill('S3RVER');
      await page.getByRole('button', { name: 'Save destination' }).click();
      const row = page.getByRole('region', { name: 'Destinations' }).getByRole('row').filter({ hasText: 'Warehouse' });
      await row.waitFor();
      expect(await row.getByRole('cell').nth(3).textContent()).toBe('Access key ****RVER');
      expect(await page.content()).not.toContain('S3RVER-SECRET');
    });
    const [saved] = await destinations();
    expect(saved).toMatchObject({
      name: 'Warehouse',
      auth: { mode: 'accessKey', accessKeyId: '****RVER', secretAccessKeySet: true },
    });
  });

  it('edits it: the secret "unchanged" is kept when the same key id is typed again', async () => {
    await walk(browser, 'edit destination', async (page) => {
      await page.goto(signedInUrl(service, acme, 'destinations'));
      await page.getByRole('link', { name: 'Warehouse' }).click();
      await page.getByRole('heading', { name: 'Edit Warehouse' }).waitFor();
      expect(await page.getByLabel('Bucket', { exact: true }).inputValue()).toBe(CUSTOMER_BUCKET);
      const secret = page.getByLabel('Secret access key');
      expect(await secret.inputValue()).toBe('');
      expect(await secret.getAttribute('placeholder')).toBe('unchanged');
      expect(await page.getByLabel('Access key', { exact: true }).getAttribute('placeholder')).toBe('****RVER');

      await page.getByLabel('Name', { exact: true }).fill('Warehouse (renamed)');
      await page.getByLabel('Access key', { exact: true }).fill('S3RVER');
      await page.getByRole('button', { name: 'Save destination' }).click();
      await page.getByRole('link', { name: 'Warehouse (renamed)' }).waitFor();
    });
    expect((await destinations())[0]).toMatchObject({ name: 'Warehouse (renamed)', version: 2 });
  });

  it('adds a bucket-policy destination: shows the policy for the bucket, copies it, and saves once the bucket grants it', async () => {
    await walk(browser, 'bucket policy destination', async (page) => {
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: service.url });
      await page.goto(signedInUrl(service, acme, 'destinations/new'));
      await page.getByLabel('Name', { exact: true }).fill('Lake');
      await page.getByLabel(/^Bucket policy/).check();
      await page.getByText('Enter the bucket above to see the policy').waitFor();
      await fillCustomBucket(page, 'lake');

      const policy = page.getByLabel(`Bucket policy for ${CUSTOMER_BUCKET}`);
      await policy.waitFor();
      const expected = (await call('GET', `/destinations/bucket-policy?bucket=${CUSTOMER_BUCKET}`)).body.policy;
      expect(JSON.parse((await policy.textContent())!)).toEqual(expected);
      expect(expected.Statement[0]).toMatchObject({
        Principal: { AWS: LOCAL_EXPORT_ROLE_ARN },
        Resource: `arn:aws:s3:::${CUSTOMER_BUCKET}/*`,
      });
      await page.getByRole('button', { name: 'Copy policy' }).click();
      await page.getByRole('status').filter({ hasText: 'Copied.' }).waitFor();
      expect(JSON.parse(await page.evaluate<string>('navigator.clipboard.readText()'))).toEqual(expected);

      // The policy is not in the bucket yet: the probe write is refused, and the page says so at the access choice.
      await setBucketPolicy(service, 'revoked');
      await page.getByRole('button', { name: 'Save destination' }).click();
      await page.locator('#mode-error').waitFor();
      expect(await page.locator('#mode-error').textContent()).toMatch(/denied/i);

      await setBucketPolicy(service, 'granted');
      await page.getByRole('button', { name: 'Save destination' }).click();
      const row = page.getByRole('row').filter({ hasText: 'Lake' });
      await row.waitFor();
      expect(await row.getByRole('cell').nth(3).textContent()).toBe('Bucket policy');
    });
  });

  it('refuses to delete a destination an export job uses, naming the job; deletes it once the job is stopped', async () => {
    const lake = (await destinations()).find((destination) => destination.name === 'Lake')!;
    const job = (
      await call('POST', '/export-jobs', {
        name: 'Nightly events',
        destinationId: lake.id,
        type: 'allEvents',
        frequency: { kind: 'recurring', everyHours: 24 },
        format: 'json',
        notifyEmails: ['data@acme.example'],
      })
    ).body;

    await walk(browser, 'delete destination', async (page) => {
      await page.goto(signedInUrl(service, acme, 'destinations'));
      await page.getByRole('button', { name: 'Delete Lake' }).click();
      await page
        .getByRole('group', { name: 'Delete the destination Lake?' })
        .getByRole('button', { name: 'Delete' })
        .click();
      const refusal = page.getByRole('alert');
      await refusal.waitFor();
      expect(await refusal.textContent()).toContain(job.id);
      await refusal.getByRole('link', { name: 'Nightly events' }).click();
      await page.getByRole('heading', { name: 'Nightly events' }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/environments/${acme.environmentId}/export-jobs/${job.id}`);

      expect((await call('POST', `/export-jobs/${job.id}/stop`)).body.status).toBe('STOPPED');
      await page.goBack();
      await page.getByRole('button', { name: 'Delete Lake' }).click();
      await page.getByRole('button', { name: 'Delete', exact: true }).click();
      await page.getByRole('link', { name: 'Lake' }).waitFor({ state: 'detached' });
    });
    expect((await destinations()).map((destination) => destination.name)).toEqual(['Warehouse (renamed)']);
  });

  it('fits 375 px and labels every control, with the form open', async () => {
    await walk(browser, 'destinations narrow', async (page) => {
      await page.setViewportSize({ width: 375, height: 800 });
      await page.goto(signedInUrl(service, acme, 'destinations/new'));
      await page.getByLabel(/^Bucket policy/).check();
      await page.getByLabel('S3 bucket URL').fill('https://acme-lake.s3.eu-west-1.amazonaws.com/events');
      await page.getByLabel('Bucket policy for acme-lake').waitFor();
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      expect(await unlabelledControls(page)).toEqual([]);
    });
  });
});
