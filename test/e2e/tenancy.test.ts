/** Tenancy over HTTP: operators manage organizations; a member's token reaches only its own environments. */
import { startTestService, type TestService } from '../support/local-service';

let service: TestService;
let operator: string;
let orgA: { id: string };
let orgB: { id: string };
let envA: { id: string; ingestKey: string };
let envB: { id: string; ingestKey: string };
let memberA: string;

beforeAll(async () => {
  service = await startTestService();
  operator = await service.token('ops', 'operator');
  orgA = (await service.call('POST', '/v1/organizations', { token: operator, body: { name: 'A Inc', plan: 'pro' } }))
    .body;
  orgB = (
    await service.call('POST', '/v1/organizations', { token: operator, body: { name: 'B Ltd', plan: 'enterprise' } })
  ).body;
  envA = (
    await service.call('POST', `/v1/organizations/${orgA.id}/environments`, {
      token: operator,
      body: { name: 'Production' },
    })
  ).body;
  envB = (
    await service.call('POST', `/v1/organizations/${orgB.id}/environments`, {
      token: operator,
      body: { name: 'Production' },
    })
  ).body;
  memberA = await service.token(orgA.id, 'member');
  const memberB = await service.token(orgB.id, 'member');
  await service.call('PUT', `/v1/environments/${envB.id}/features/reports`, {
    token: memberB,
    body: { key: 'report_run', name: 'Reports' },
  });
  await service.call('PUT', `/v1/environments/${envB.id}/segments/big`, {
    token: memberB,
    body: { name: 'Big', conditions: [{ attribute: 'employees', operator: 'greaterThan', value: 100 }] },
  });
});

afterAll(() => service.stop());

describe('operator routes', () => {
  it('creates organizations and environments with an ingest key', () => {
    expect(orgA).toMatchObject({ id: expect.stringMatching(/^org_/), name: 'A Inc', plan: 'pro' });
    expect(envA).toMatchObject({ id: expect.stringMatching(/^env_/), name: 'Production', organizationId: orgA.id });
    expect(envA.ingestKey).toMatch(/^ik_.{30,}/);
    expect(envA.ingestKey).not.toEqual(envB.ingestKey);
  });

  it('changes a plan', async () => {
    const changed = await service.call('PATCH', `/v1/organizations/${orgA.id}`, {
      token: operator,
      body: { plan: 'enterprise' },
    });
    expect(changed).toMatchObject({ status: 200, body: { id: orgA.id, plan: 'enterprise' } });
    await service.call('PATCH', `/v1/organizations/${orgA.id}`, { token: operator, body: { plan: 'pro' } });
  });

  it('refuses members, and answers unknown organizations with 404', async () => {
    const byMember = await service.call('POST', '/v1/organizations', {
      token: memberA,
      body: { name: 'X', plan: 'free' },
    });
    expect(byMember.status).toBe(403);
    expect(byMember.body.error.message).toMatch(/operator/);
    const unknown = await service.call('POST', '/v1/organizations/org_nope/environments', {
      token: operator,
      body: { name: 'P' },
    });
    expect(unknown.status).toBe(404);
  });

  it('explains invalid bodies field by field', async () => {
    const response = await service.call('POST', '/v1/organizations', {
      token: operator,
      body: { name: '', plan: 'gold' },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['name', 'plan']);
    expect(response.body.error.message).toMatch(/plan must be one of free, pro, enterprise/);
  });
});

describe('authentication', () => {
  it('answers 401 without a token or with a forged one', async () => {
    expect((await service.call('GET', `/v1/environments/${envA.id}`)).status).toBe(401);
    const forged = memberA.slice(0, -4) + (memberA.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect((await service.call('GET', `/v1/environments/${envA.id}`, { token: forged })).status).toBe(401);
  });

  it('serves the OpenAPI document without a token', async () => {
    const response = await service.call('GET', '/v1/openapi.json');
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    expect(Object.keys(response.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/organizations',
        '/v1/environments/{envId}/features/{featureId}',
        '/v1/environments/{envId}/segments/{segmentId}',
      ]),
    );
    expect(response.body.paths['/v1/environments/{envId}/features/{featureId}'].put.requestBody).toBeDefined();
    expect(response.body.paths['/v1/environments/{envId}/ingest-keys/rotate'].post).toMatchObject({
      'x-required-role': 'member',
    });
    expect(response.body.paths['/v1/environments/{envId}/exports/manual'].post.responses['429']).toMatchObject({
      description: expect.stringMatching(/too_many_exports/),
      headers: { 'Retry-After': { schema: { type: 'integer' } } },
    });
  });
});

describe('isolation between organizations', () => {
  it('lets a member read and change its own environment', async () => {
    expect((await service.call('GET', `/v1/environments/${envA.id}`, { token: memberA })).body).toMatchObject({
      id: envA.id,
    });
    const put = await service.call('PUT', `/v1/environments/${envA.id}/features/dash`, {
      token: memberA,
      body: { key: 'dashboard_viewed', name: 'Dashboards', adoption: { minActiveDays: 3, windowDays: 14 } },
    });
    expect(put).toMatchObject({ status: 200, body: { id: 'dash', adoption: { minActiveDays: 3, windowDays: 14 } } });
  });

  it.each([
    ['GET', (env: string) => `/v1/environments/${env}`, undefined],
    ['GET', (env: string) => `/v1/environments/${env}/features`, undefined],
    ['GET', (env: string) => `/v1/environments/${env}/segments`, undefined],
    ['PUT', (env: string) => `/v1/environments/${env}/features/reports`, { key: 'hijacked', name: 'Hijacked' }],
    ['PUT', (env: string) => `/v1/environments/${env}/segments/big`, { name: 'Hijacked', conditions: [] }],
    ['POST', (env: string) => `/v1/environments/${env}/ingest-keys/rotate`, undefined],
  ])(
    "answers %s %s of another organization's environment with 404, the same as a missing one",
    async (method, path, body) => {
      const other = await service.call(method, path(envB.id), { token: memberA, body });
      const missing = await service.call(method, path('env_does_not_exist'), { token: memberA, body });
      expect(other.status).toBe(404);
      expect(other.body.error.message).toEqual(missing.body.error.message.replace('env_does_not_exist', envB.id));
    },
  );

  it("leaves the other organization's definitions untouched", async () => {
    const memberB = await service.token(orgB.id, 'member');
    const features = await service.call('GET', `/v1/environments/${envB.id}/features`, { token: memberB });
    expect(features.body.features).toEqual([
      { id: 'reports', key: 'report_run', name: 'Reports', adoption: { minActiveDays: 5, windowDays: 28 } },
    ]);
    const segments = await service.call('GET', `/v1/environments/${envB.id}/segments`, { token: memberB });
    expect(segments.body.segments).toEqual([
      { id: 'big', name: 'Big', conditions: [{ attribute: 'employees', operator: 'greaterThan', value: 100 }] },
    ]);
  });

  it('cannot ingest into another environment with its own ingest key', async () => {
    const response = await service.call('POST', '/ingest/company', {
      headers: { authorization: `Bearer ${envA.ingestKey}x` },
      body: { companyId: 'c1' },
    });
    expect(response.status).toBe(401);
    expect(response.body.success).toBe(false);
  });
});

describe('definitions', () => {
  it('rejects adoption thresholds that cannot be met', async () => {
    const response = await service.call('PUT', `/v1/environments/${envA.id}/features/bad`, {
      token: memberA,
      body: { key: 'k', name: 'Bad', adoption: { minActiveDays: 10, windowDays: 7 } },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.issues).toEqual([
      { path: 'adoption.minActiveDays', message: 'minActiveDays cannot exceed windowDays' },
    ]);
  });

  it('rejects unknown segment operators with the list of valid ones', async () => {
    const response = await service.call('PUT', `/v1/environments/${envA.id}/segments/s1`, {
      token: memberA,
      body: { name: 'S', conditions: [{ attribute: 'plan', operator: 'like', value: 'x' }] },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.issues[0].path).toBe('conditions[0]');
    expect(response.body.error.message).toMatch(/equals, notEquals, contains, anyOf/);
  });

  it('rejects invalid ids in the path', async () => {
    const response = await service.call('PUT', `/v1/environments/${envA.id}/features/${encodeURIComponent('a b')}`, {
      token: memberA,
      body: { key: 'k', name: 'N' },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/letters, digits/);
  });
});

describe('ingest keys', () => {
  const ingestCompany = (key: string) =>
    service.call('POST', '/ingest/company', {
      headers: { authorization: `Bearer ${key}` },
      body: { companyId: 'c-rotate' },
    });

  it('shows the key once: the environment answers only its masked prefix', async () => {
    const environment = await service.call('GET', `/v1/environments/${envA.id}`, { token: memberA });
    expect(environment.body).not.toHaveProperty('ingestKey');
    expect(environment.body.maskedIngestKey).toBe(`${envA.ingestKey.slice(0, 6)}…`);
    expect(JSON.stringify(environment.body)).not.toContain(envA.ingestKey.slice(6));
  });

  it('rotates: the new key is answered once, both keys work during the grace period', async () => {
    const rotated = await service.call('POST', `/v1/environments/${envA.id}/ingest-keys/rotate`, { token: memberA });
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({ id: envA.id, ingestKey: expect.stringMatching(/^ik_.{30,}/) });
    expect(rotated.body.ingestKey).not.toBe(envA.ingestKey);
    expect(rotated.body.maskedIngestKey).toBe(`${rotated.body.ingestKey.slice(0, 6)}…`);
    const graceHours = (Date.parse(rotated.body.previousKeyValidUntil) - Date.now()) / 3_600_000;
    expect(graceHours).toBeGreaterThan(23.9);
    expect(graceHours).toBeLessThanOrEqual(24);

    expect((await ingestCompany(envA.ingestKey)).status).toBe(200);
    expect((await ingestCompany(rotated.body.ingestKey)).status).toBe(200);
    const environment = await service.call('GET', `/v1/environments/${envA.id}`, { token: memberA });
    expect(environment.body).not.toHaveProperty('ingestKey');
    expect(environment.body.maskedIngestKey).toBe(rotated.body.maskedIngestKey);
  });

  it('needs a token', async () => {
    expect((await service.call('POST', `/v1/environments/${envA.id}/ingest-keys/rotate`)).status).toBe(401);
  });
});
