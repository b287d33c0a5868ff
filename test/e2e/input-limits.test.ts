/**
 * The cases of the hardening issue, over HTTP against the local service: each bad input answers a
 * 4xx that names the field and the limit, and nothing of it is stored; the company whose pre-1970
 * event used to break its day log keeps being tracked and exported.
 */
import { parse } from 'csv-parse/sync';
import { MAX_BODY_BYTES } from '../../lambdas/core/limits';
import { startTestService, type TestService } from '../support/local-service';
import { createTenant, type Member } from '../support/tenants';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const DAY = 86_400_000;

let service: TestService;
let tenant: Member;

const ingest = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  service.call('POST', `/ingest/${path}`, {
    headers: { authorization: `Bearer ${tenant.ingestKey}`, ...headers },
    body,
  });

/** Raw bytes to a route, as a client with its own encoder would send them. */
async function send(
  path: string,
  body: Uint8Array | string,
  headers: Record<string, string>,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, body: await response.json() };
}

async function storedCompanyIds(): Promise<string[]> {
  const ids: string[] = [];
  for await (const { company } of service.services.usage.streamCompanyUsage(tenant.environmentId))
    ids.push(company.companyId);
  return ids;
}

async function snapshotRows(): Promise<Record<string, string>[]> {
  const started = await service.call('POST', `/v1/environments/${tenant.environmentId}/exports/manual`, {
    token: tenant.token,
    body: { aggregation: 'snapshot' },
  });
  expect(started.status).toBe(202);
  await service.services.dispatcher.idle();
  const job = (
    await service.call('GET', `/v1/environments/${tenant.environmentId}/exports/manual/${started.body.id}`, {
      token: tenant.token,
    })
  ).body;
  expect(job.status).toBe('done');
  return parse(await (await fetch(job.downloadUrl)).text(), { columns: true });
}

beforeAll(async () => {
  service = await startTestService({ clock: { now: () => NOW } });
  tenant = await createTenant(service, 'enterprise', 'Limits Co');
  await service.call('PUT', `/v1/environments/${tenant.environmentId}/features/reports`, {
    token: tenant.token,
    body: { key: 'report_run', name: 'Reports' },
  });
});

afterAll(() => service.stop());

describe('the cases of the hardening issue', () => {
  it('refuses an attribute beyond 2^53 with a 400 naming it', async () => {
    const response = await ingest('company', '{"companyId":"big1","attributes":{"id":1e16}}');
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ success: false, error: { code: 'invalid_request' } });
    expect(response.body.error.issues).toEqual([
      { path: 'attributes.id', message: expect.stringContaining('send larger numbers as a string') },
    ]);
    expect(await storedCompanyIds()).not.toContain('big1');
  });

  it('refuses a pre-2000 event of old1 and keeps tracking and exporting old1', async () => {
    for (let day = 7; day >= 1; day--) {
      expect(
        (await ingest('event', { event: 'report_run', userId: 'u1', companyId: 'old1', timestamp: NOW - day * DAY }))
          .status,
      ).toBe(200);
    }
    const old = await ingest('event', {
      event: 'report_run',
      userId: 'u1',
      companyId: 'old1',
      timestamp: '1969-12-25T00:00:00Z',
    });
    expect(old.status).toBe(400);
    expect(old.body.error.issues).toEqual([
      { path: 'timestamp', message: expect.stringContaining('on or after 2000-01-01T00:00:00.000Z') },
    ]);
    const latest = NOW - 2 * 3_600_000;
    expect(
      (await ingest('event', { event: 'report_run', userId: 'u1', companyId: 'old1', timestamp: NOW - 8 * DAY }))
        .status,
    ).toBe(200);
    expect(
      (await ingest('event', { event: 'report_run', userId: 'u1', companyId: 'old1', timestamp: latest })).status,
    ).toBe(200);

    const row = (await snapshotRows()).find((r) => r['Company ID'] === 'old1' && r['Feature ID'] === 'reports')!;
    expect(row['First Used']).toBe(new Date(NOW - 8 * DAY).toISOString());
    expect(row['Last Used']).toBe(new Date(latest).toISOString());
    // Nine active days in the last 28: adopted and retained.
    expect(row['STARS State Label']).toBe('retained');
  });

  it('answers 401 to an ingest key of 2,100 characters, and to one shorter than 16', async () => {
    for (const key of [`ik_${'a'.repeat(2097)}`, 'ik_short']) {
      const response = await ingest('company', { companyId: 'k1' }, { authorization: `Bearer ${key}` });
      expect(response.status).toBe(401);
      expect(response.body.error.message).toMatch(/16-128 characters/);
    }
    const byQuery = await service.call('GET', `/ingest/features?publishableKey=${'k'.repeat(129)}`);
    expect(byQuery.status).toBe(401);
  });

  it('refuses an attribute nested 100,000 levels deep', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const response = await ingest('company', `{"companyId":"deep1","attributes":{"tree":${deep}}}`);
    expect(response.status).toBe(400);
    expect(response.body.error.issues).toEqual([
      { path: 'attributes.tree', message: expect.stringContaining('more than 8 levels deep') },
    ]);
    expect(await storedCompanyIds()).not.toContain('deep1');
  });

  it('refuses an attribute of 500 KB', async () => {
    const response = await ingest('company', { companyId: 'huge1', attributes: { notes: 'x'.repeat(500 * 1024) } });
    expect(response.status).toBe(400);
    expect(response.body.error.issues).toEqual([
      { path: 'attributes.notes', message: expect.stringContaining('at most 8192 bytes') },
    ]);
    expect(await storedCompanyIds()).not.toContain('huge1');
  });

  it('a segment on "constructor" matches no company without such an attribute', async () => {
    const put = await service.call('PUT', `/v1/environments/${tenant.environmentId}/segments/proto`, {
      token: tenant.token,
      body: { name: 'Has constructor', conditions: [{ attribute: 'constructor', operator: 'isSet' }] },
    });
    expect(put.status).toBe(200);
    expect(
      (await ingest('company', { companyId: 'builder', attributes: { constructor: 'Bob' }, timestamp: NOW - DAY }))
        .status,
    ).toBe(200);
    const rows = await snapshotRows();
    const segmentsOf = (id: string) => rows.find((r) => r['Company ID'] === id)!['Segment Names'];
    expect(segmentsOf('old1')).toBe('');
    expect(segmentsOf('builder')).toBe('Has constructor');
  });

  it('refuses the settings key ../../../../tmp/dx-probe and saves nothing', async () => {
    const path = `/v1/environments/${tenant.environmentId}/data-export/settings`;
    const before = await service.call('GET', path, { token: tenant.token });
    const response = await service.call('PUT', path, {
      token: tenant.token,
      body: {
        enabled: false,
        provider: 'Custom',
        bucket: 'demo-customer-bucket',
        endpoint: service.emulators.s3Endpoint,
        key: '../../../../tmp/dx-probe',
      },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.issues).toEqual([
      { path: 'key', message: expect.stringContaining('must not contain "." or ".." segments') },
    ]);
    expect(await service.call('GET', path, { token: tenant.token })).toEqual(before);
  });
});

describe('bodies', () => {
  /** A bulk request padded with JSON whitespace to exactly `bytes`. */
  const paddedBulk = (bytes: number) => {
    const json = JSON.stringify([{ type: 'company', companyId: 'padded' }]);
    return `${json.slice(0, -1)}${' '.repeat(bytes - json.length)}]`;
  };

  it('accepts a body of exactly 1 MB and answers 413 one byte past it, on ingest and the API', async () => {
    const atLimit = paddedBulk(MAX_BODY_BYTES);
    expect(Buffer.byteLength(atLimit)).toBe(MAX_BODY_BYTES);
    expect(await send('/ingest/bulk', atLimit, { authorization: `Bearer ${tenant.ingestKey}` })).toEqual({
      status: 200,
      body: { success: true },
    });

    const over = await send('/ingest/bulk', paddedBulk(MAX_BODY_BYTES + 1), {
      authorization: `Bearer ${tenant.ingestKey}`,
    });
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({
      success: false,
      error: { code: 'payload_too_large', message: expect.stringContaining('1048576 bytes') },
    });

    const api = await send(`/v1/environments/${tenant.environmentId}/segments/big`, 'x'.repeat(3 * MAX_BODY_BYTES), {
      authorization: `Bearer ${tenant.token}`,
    });
    expect(api).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
  });

  it('refuses a body that is not valid UTF-8', async () => {
    const bytes = Buffer.concat([Buffer.from('{"companyId":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const response = await send('/ingest/company', bytes, { authorization: `Bearer ${tenant.ingestKey}` });
    expect(response).toMatchObject({
      status: 400,
      body: { success: false, error: { message: expect.stringContaining('not valid UTF-8') } },
    });
  });

  it('refuses ids of more than 256 bytes and lone surrogates, naming the field', async () => {
    const long = await ingest('event', { event: 'e'.repeat(257), userId: 'u1', companyId: 'c1' });
    expect(long.body.error.issues).toEqual([{ path: 'event', message: expect.stringContaining('at most 256 bytes') }]);
    const surrogate = await ingest('company', '{"companyId":"bad\\ud800"}');
    expect(surrogate.status).toBe(400);
    expect(surrogate.body.error.issues).toEqual([
      { path: 'companyId', message: expect.stringContaining('lone surrogate') },
    ]);
  });
});
