/**
 * Tenant isolation over every API route, through the API Gateway entry path and the real adapters:
 * a member or operator token of organization A aimed at organization B's resources answers 404 (403
 * for a member on operator routes), exactly as for a missing resource, and changes nothing stored.
 * The same requests by B's own member succeed, so each refusal is the tenancy check, not validation.
 */
import type { Environment, Organization } from '../../lambdas/core/model';
import { apiRoutes, type ApiServices } from '../../lambdas/http/api-routes';
import { createTenant, startInProcessService, type InProcessService } from '../support/in-process-service';

const NOW = Date.parse('2026-11-23T12:00:00Z');

let service: InProcessService;
let a: { organization: Organization; environment: Environment };
let b: { organization: Organization; environment: Environment };
let exportOfB: string;
let destinationOfB: string;
/** Deleted by B's own member in the matrix, so B's job keeps the destination it uses. */
let spareDestinationOfB: string;
let jobOfB: string;

const destinationBody = () => ({
  name: 'Warehouse',
  provider: 'Custom',
  bucket: service.customerBucket,
  endpoint: service.emulators.s3Endpoint,
  auth: { mode: 'accessKey', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});
const jobBody = () => ({
  destinationId: destinationOfB,
  type: 'allEvents',
  frequency: { kind: 'recurring', everyHours: 6 },
  format: 'csv',
  notifyEmails: ['x@example.com'],
});

/** A valid body (JSON text) for each route that takes one; a route missing here fails the matrix. */
function validBody({ method, path }: { method: string; path: string }): string | undefined {
  if (method === 'GET' || method === 'DELETE') return undefined;
  const bodies: Record<string, unknown> = {
    'POST /v1/organizations': { name: 'Intruder', plan: 'free' },
    'PATCH /v1/organizations/{orgId}': { plan: 'free' },
    'POST /v1/organizations/{orgId}/environments': { name: 'Intruder env' },
    'PUT /v1/environments/{envId}/features/{featureId}': { key: 'hijacked', name: 'Hijacked' },
    'PUT /v1/environments/{envId}/segments/{segmentId}': { name: 'Hijacked', conditions: [] },
    'POST /v1/environments/{envId}/exports/manual': { aggregation: 'snapshot' },
    'PUT /v1/environments/{envId}/data-export/settings': {
      enabled: false,
      cadence: 'weekly',
      notifyEmails: ['x@example.com'],
    },
    'POST /v1/environments/{envId}/ingest-keys/rotate': {},
    'POST /v1/environments/{envId}/destinations': destinationBody(),
    'PUT /v1/environments/{envId}/destinations/{destinationId}': { ...destinationBody(), name: 'Hijacked', version: 1 },
    'POST /v1/environments/{envId}/export-jobs': jobBody(),
    'PATCH /v1/environments/{envId}/export-jobs/{jobId}': { format: 'json', version: 1 },
    'POST /v1/environments/{envId}/export-jobs/{jobId}/stop': {},
    'PUT /v1/environments/{envId}/raw-export/settings': { enabled: false, notifyEmails: [] },
  };
  const key = `${method} ${path}`;
  if (!(key in bodies)) throw new Error(`No body for ${key}: add one to the tenant matrix`);
  return JSON.stringify(bodies[key]);
}

/** Query strings the routes need to succeed. */
const QUERIES: Record<string, Record<string, string>> = {
  '/v1/environments/{envId}/destinations/bucket-policy': { bucket: 'acme-exports' },
};

/** The route's path aimed at B's resources (or at a missing one). */
function pathFor(template: string, target: 'b' | 'missing', method = 'GET'): string {
  const ids: Record<string, string> =
    target === 'b'
      ? {
          orgId: b.organization.id,
          envId: b.environment.id,
          featureId: 'reports',
          segmentId: 'big',
          exportId: exportOfB,
          destinationId: method === 'DELETE' ? spareDestinationOfB : destinationOfB,
          jobId: jobOfB,
        }
      : {
          orgId: 'org_missing',
          envId: 'env_missing',
          featureId: 'reports',
          segmentId: 'big',
          exportId: 'exp_missing',
          destinationId: 'dst_missing',
          jobId: 'job_missing',
        };
  return template.replace(/\{(\w+)\}/g, (_, name: string) => ids[name]);
}

const routes = apiRoutes({} as ApiServices).filter((route) => route.access !== 'public');

beforeAll(async () => {
  service = await startInProcessService({ clock: { now: () => NOW } });
  a = await createTenant(service, 'A Inc', 'enterprise');
  b = await createTenant(service, 'B Ltd', 'enterprise');
  const memberB = { org: b.organization.id, role: 'member' };
  const envB = `/v1/environments/${b.environment.id}`;
  await service.send({
    method: 'PUT',
    path: `${envB}/features/reports`,
    claims: memberB,
    body: JSON.stringify({ key: 'report_run', name: 'Reports' }),
  });
  await service.send({
    method: 'PUT',
    path: `${envB}/segments/big`,
    claims: memberB,
    body: JSON.stringify({
      name: 'Big',
      conditions: [{ attribute: 'employees', operator: 'greaterThan', value: 100 }],
    }),
  });
  exportOfB = (
    await service.send({
      method: 'POST',
      path: `${envB}/exports/manual`,
      claims: memberB,
      body: JSON.stringify({ aggregation: 'snapshot' }),
    })
  ).body.id;
  const createDestination = async () =>
    (
      await service.send({
        method: 'POST',
        path: `${envB}/destinations`,
        claims: memberB,
        body: JSON.stringify(destinationBody()),
      })
    ).body.id as string;
  destinationOfB = await createDestination();
  spareDestinationOfB = await createDestination();
  jobOfB = (
    await service.send({
      method: 'POST',
      path: `${envB}/export-jobs`,
      claims: memberB,
      body: JSON.stringify(jobBody()),
    })
  ).body.id;
  await service.services.dispatcher.idle();
});

afterAll(() => service?.stop());

describe('tenant isolation matrix', () => {
  // Operators manage every organization by design: their operator routes are not tenant-scoped.
  const cases = routes.flatMap((route) =>
    (['member', 'operator'] as const)
      .filter((role) => !(route.access === 'operator' && role === 'operator'))
      .map((role) => ({ route, role, name: `${role} of A: ${route.method} ${route.path}` })),
  );

  it.each(cases)('$name', async ({ route, role }) => {
    const claims = { org: a.organization.id, role };
    const body = validBody(route);
    const before = await service.snapshot([a.environment.id, b.environment.id]);
    const query = QUERIES[route.path];
    const cross = await service.send({
      method: route.method,
      path: pathFor(route.path, 'b', route.method),
      query,
      claims,
      body,
    });
    const expected = route.access === 'operator' ? 403 : 404;
    expect(cross.status).toBe(expected);
    expect(await service.snapshot([a.environment.id, b.environment.id])).toEqual(before);
    if (expected === 404) {
      // Indistinguishable from a missing environment: the same answer, only the id differs.
      const missing = await service.send({
        method: route.method,
        path: pathFor(route.path, 'missing', route.method),
        query,
        claims,
        body,
      });
      expect(cross.body.error).toEqual({
        ...missing.body.error,
        message: missing.body.error.message.replace('env_missing', b.environment.id),
      });
    }
  });

  it.each(routes.filter((route) => route.access === 'member'))(
    "B's own member gets 2xx: $method $path",
    async (route) => {
      const response = await service.send({
        method: route.method,
        path: pathFor(route.path, 'b', route.method),
        query: QUERIES[route.path],
        claims: { org: b.organization.id, role: 'member' },
        body: validBody(route),
      });
      expect(response.status).toBeGreaterThanOrEqual(200);
      expect(response.status).toBeLessThan(300);
    },
  );
});
