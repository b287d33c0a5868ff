/** Error responses carry their headers through both entry points: API Gateway here, the local server in e2e. */
import { ManualExportService, TooManyExportsError } from '../../lambdas/core/manual-export';
import { apiRouter } from '../../lambdas/http/api-routes';
import { toApiGateway } from '../../lambdas/http/apigateway';
import { errorResponse } from '../../lambdas/http/errors';

describe('errorResponse', () => {
  it('maps a refused export start to 429 too_many_exports with Retry-After in seconds', () => {
    const response = errorResponse(new TooManyExportsError(2, 30));
    expect(response).toMatchObject({
      status: 429,
      headers: { 'retry-after': '30' },
      body: { error: { code: 'too_many_exports' } },
    });
    expect((response.body as { error: { message: string } }).error.message).toMatch(/At most 2 manual exports/);
  });
});

describe('API Gateway answer of a refused export start', () => {
  it('keeps the Retry-After header next to the content type', async () => {
    const manualExports = {
      request: async () => {
        throw new TooManyExportsError(2, 30);
      },
    } as unknown as ManualExportService;
    const router = apiRouter({
      manualExports,
      tenancy: undefined as never,
      automaticExports: undefined as never,
      eventCatalog: undefined as never,
      destinationService: undefined as never,
      exportJobService: undefined as never,
      rawRevisions: undefined as never,
    });
    const response = await router.handle({
      method: 'POST',
      path: '/v1/environments/env_1/exports/manual',
      query: {},
      headers: {},
      body: JSON.stringify({ aggregation: 'snapshot' }),
      caller: { organizationId: 'org_1', role: 'member' },
    });
    const result = toApiGateway(response);
    expect(result).toMatchObject({
      statusCode: 429,
      headers: { 'content-type': 'application/json', 'retry-after': '30' },
    });
    expect(JSON.parse((result as { body: string }).body).error.code).toBe('too_many_exports');
  });
});
