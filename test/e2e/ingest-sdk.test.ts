/**
 * The official @bucketco/node-sdk, pointed at the local `<base>/ingest`, sends tracking data that
 * lands in the usage store; invalid payloads are refused whole, naming the bad field.
 */
import { BucketClient } from '@bucketco/node-sdk';
import type { CompanyUsage } from '../../lambdas/core/model';
import { startTestService, type TestService } from '../support/local-service';
import { createTenant, type Member } from '../support/tenants';

let service: TestService;
let tenant: Member;

const DAY = 86_400_000;
const at = (iso: string) => Date.parse(iso);

async function storedCompanies(): Promise<Map<string, CompanyUsage>> {
  const companies = new Map<string, CompanyUsage>();
  for await (const company of service.services.usage.streamCompanyUsage(tenant.environmentId)) {
    companies.set(company.company.companyId, company);
  }
  return companies;
}

beforeAll(async () => {
  service = await startTestService();
  tenant = await createTenant(service, 'pro', 'SDK Co');
  await service.call('PUT', `/v1/environments/${tenant.environmentId}/features/reports`, {
    token: tenant.token,
    body: { key: 'report_run', name: 'Reports' },
  });
});

afterAll(() => service.stop());

describe('the official Bucket node SDK', () => {
  it('sends users, companies and events that land in the usage store', async () => {
    const client = new BucketClient({
      secretKey: tenant.ingestKey,
      apiBaseUrl: `${service.url}/ingest`,
      offline: false,
      batchOptions: { flushOnExit: false, intervalMs: 0, maxSize: 100 },
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
    await client.initialize();
    expect(client.getFeatureDefinitions().map((f) => f.key)).toEqual(['report_run']);

    await client.updateCompany('acme', {
      attributes: { name: 'Acme, Inc.', plan: 'enterprise', employees: 1200 },
      userId: 'alice',
    });
    await client.updateUser('alice', { attributes: { name: 'Alice' } });
    await client.track('alice', 'report_run');
    await client.track('bob', 'report_run', { companyId: 'globex' });
    await client.flush();

    const companies = await storedCompanies();
    const acme = companies.get('acme')!;
    expect(acme.company.name).toBe('Acme, Inc.');
    expect(acme.company.attributes).toMatchObject({ plan: 'enterprise', employees: 1200 });
    // alice's event carried no company: it is attributed through the company call that linked her.
    expect(acme.usage.map((u) => u.eventKey)).toEqual(['report_run']);
    expect(acme.usage[0].usedDays.size).toBe(1);
    expect(companies.get('globex')!.usage[0].eventKey).toBe('report_run');
  });
});

describe('the tracking HTTP API', () => {
  const post = (path: string, body: unknown, key = tenant.ingestKey) =>
    service.call('POST', `/ingest/${path}`, { headers: { authorization: `Bearer ${key}` }, body });

  it('records timestamps in epoch ms or ISO-8601 and feedback by feature key or id', async () => {
    expect(
      (
        await post('company', {
          companyId: 'initech',
          attributes: { name: 'Initech' },
          timestamp: '2026-10-01T08:00:00Z',
        })
      ).body,
    ).toEqual({ success: true });
    expect(
      (
        await post('event', {
          event: 'report_run',
          userId: 'p',
          companyId: 'initech',
          timestamp: at('2026-10-02T09:30:00Z'),
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await post('event', {
          event: 'report_run',
          userId: 'p',
          companyId: 'initech',
          timestamp: '2026-10-02T07:00:00Z',
        })
      ).status,
    ).toBe(200);
    expect(
      (await post('feedback', { companyId: 'initech', key: 'report_run', score: 4, timestamp: '2026-10-03T00:00:00Z' }))
        .status,
    ).toBe(200);
    expect((await post('feedback', { companyId: 'initech', featureId: 'reports', comment: 'no score' })).status).toBe(
      200,
    );

    const initech = (await storedCompanies()).get('initech')!;
    expect(initech.company.firstSeen).toBe(at('2026-10-01T08:00:00Z'));
    const usage = initech.usage.find((u) => u.eventKey === 'report_run')!;
    expect(usage.firstUsed).toBe(at('2026-10-02T07:00:00Z'));
    expect([...usage.usedDays]).toEqual([[at('2026-10-02T00:00:00Z') / DAY, at('2026-10-02T09:30:00Z')]]);
    expect(usage.feedback.map(({ count, scoreCount, scoreSum }) => ({ count, scoreCount, scoreSum }))).toEqual(
      expect.arrayContaining([
        { count: 1, scoreCount: 1, scoreSum: 4 },
        { count: 1, scoreCount: 0, scoreSum: 0 },
      ]),
    );
    expect(usage.feedback).toHaveLength(2);
  });

  it('accepts the publishableKey query parameter', async () => {
    const response = await service.call('POST', `/ingest/user?publishableKey=${tenant.ingestKey}`, {
      body: { userId: 'u-9' },
    });
    expect(response).toEqual({ status: 200, body: { success: true } });
  });

  it('refuses a bulk with one bad item whole, naming the field, and writes nothing', async () => {
    const response = await post('bulk', [
      { type: 'company', companyId: 'halfwritten', attributes: { name: 'Half' } },
      { type: 'event', event: 'report_run', companyId: 'halfwritten' },
    ]);
    expect(response.status).toBe(400);
    expect(response.body.success).toBe(false);
    expect(response.body.error.issues).toEqual([expect.objectContaining({ path: '[1].userId' })]);
    expect((await storedCompanies()).has('halfwritten')).toBe(false);
  });

  it('refuses feedback for an unknown feature id before writing anything', async () => {
    const response = await post('bulk', [
      { type: 'company', companyId: 'halfwritten2' },
      { type: 'feedback', companyId: 'halfwritten2', featureId: 'nope', score: 3 },
    ]);
    expect(response.status).toBe(400);
    expect(response.body.error.issues).toEqual([expect.objectContaining({ path: '[1].featureId' })]);
    expect((await storedCompanies()).has('halfwritten2')).toBe(false);
  });

  it.each([
    ['event', { userId: 'u' }, 'event'],
    ['event', { event: 'x', userId: 'u', timestamp: 'yesterday' }, 'timestamp'],
    ['feedback', { companyId: 'c', key: 'report_run', score: 6 }, 'score'],
    ['company', { attributes: {} }, 'companyId'],
  ])('answers an invalid %s with 400 naming %j', async (type, body, field) => {
    const response = await post(type, body);
    expect(response.status).toBe(400);
    expect(response.body.error.issues.map((i: { path: string }) => i.path)).toContain(field);
  });

  it('refuses timestamps in the future (seconds sent as milliseconds the other way round)', async () => {
    const response = await post('event', { event: 'x', userId: 'u', companyId: 'c', timestamp: Date.now() * 1000 });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/future/);
  });

  it('answers 401 to an unknown ingest key and 400 to a non-JSON body', async () => {
    expect((await post('user', { userId: 'u' }, 'ik_wrong')).status).toBe(401);
    const notJson = await service.call('POST', '/ingest/user', {
      headers: { authorization: `Bearer ${tenant.ingestKey}` },
      body: '{oops',
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.message).toMatch(/not valid JSON/);
  });
});
