/**
 * The router enforces each route's documented access and validates its documented body before any use
 * case runs: the services here are empty, so reaching one would fail with a 500, not the answer expected.
 */
import { apiRouter, apiRoutes, type ApiServices } from '../../lambdas/http/api-routes';
import type { Caller } from '../../lambdas/core/access';
import { createDestinationBody, putExportSettingsBody, putRawExportSettingsBody } from '../../lambdas/http/api-schemas';

const NO_SERVICES = {} as ApiServices;
const router = apiRouter(NO_SERVICES);
const routes = apiRoutes(NO_SERVICES);
const MEMBER: Caller = { organizationId: 'org_1', role: 'member' };

/** A concrete path for a route template: every parameter a valid id. */
const pathOf = (template: string) => template.replace(/\{\w+\}/g, 'id_1');

async function call(method: string, path: string, caller: Caller | undefined, body?: string) {
  return router.handle({ method, path, query: {}, headers: {}, body, caller });
}

describe('api router', () => {
  it.each(routes.filter((route) => route.access !== 'public').map((route) => [route.method, route.path] as const))(
    'answers %s %s without a token with 401 before any use case runs',
    async (method, path) => {
      const response = await call(method, pathOf(path), undefined, '{}');
      expect(response.status).toBe(401);
    },
  );

  it.each(routes.filter((route) => route.access === 'operator').map((route) => [route.method, route.path] as const))(
    'answers %s %s to a member with 403',
    async (method, path) => {
      const response = await call(method, pathOf(path), MEMBER, '{}');
      expect(response.status).toBe(403);
    },
  );

  it.each(
    routes
      .filter((route) => route.access === 'member' && route.body)
      .map((route) => [route.method, route.path] as const),
  )('validates the body of %s %s against its documented schema', async (method, path) => {
    const response = await call(method, pathOf(path), MEMBER, JSON.stringify({ unexpected: [1] }));
    expect(response.status).toBe(400);
    expect((response.body as { error: { code: string } }).error.code).toBe('invalid_request');
  });
});

describe('settings bodies', () => {
  it.each([
    ['data export', putExportSettingsBody],
    ['raw export', putRawExportSettingsBody],
  ])(
    '%s: takes back the version 0 that a GET of settings never saved answers, and refuses a negative one',
    (_name, body) => {
      expect(body.safeParse({ enabled: false, version: 0 }).success).toBe(true);
      expect(body.safeParse({ enabled: false, version: -1 }).error?.issues.map((issue) => issue.message)).toEqual([
        'version must be 0 or more',
      ]);
    },
  );
});

describe('access key ids', () => {
  // A non-ASCII id cannot be sent in the Authorization header: it must be a 400, never a failed request (500).
  const refusals = (id: string) => [
    putExportSettingsBody.safeParse({ enabled: false, accessKeyId: id }).error?.issues.map((issue) => issue.path),
    createDestinationBody
      .safeParse({
        name: 'Lake',
        provider: 'Custom',
        bucket: 'lake',
        endpoint: 'https://s3.example.com',
        auth: { mode: 'accessKey', accessKeyId: id, secretAccessKey: 's' },
      })
      .error?.issues.map((issue) => issue.path),
  ];

  it('refuses an id with characters outside printable ASCII, at its field', () => {
    for (const id of ['\ufffd\ufffd\ufffd\ufffd', 'AKIA EXAMPLE', 'AKIAÉXAMPLE'])
      expect(refusals(id)).toEqual([[['accessKeyId']], [['auth', 'accessKeyId']]]);
  });

  it('takes the ids providers issue', () => {
    for (const id of ['AKIAIOSFODNN7EXAMPLE', 'GOOG1EXAMPLE', 'minio-admin_01'])
      expect(refusals(id)).toEqual([undefined, undefined]);
  });
});
