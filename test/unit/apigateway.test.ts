/** API Gateway HTTP API (payload 2.0) events into the service's requests, and responses back. */
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { fromApiGateway, toApiGateway } from '../../lambdas/http/apigateway';

function event(
  overrides: {
    claims?: Record<string, unknown>;
    body?: string;
    isBase64Encoded?: boolean;
    headers?: Record<string, string>;
  } = {},
) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/v1/environments/env_1',
    rawQueryString: 'a=1',
    queryStringParameters: { a: '1' },
    headers: overrides.headers ?? { 'Content-Type': 'application/json', Authorization: 'Bearer x' },
    body: overrides.body,
    isBase64Encoded: overrides.isBase64Encoded ?? false,
    requestContext: {
      http: {
        method: 'post',
        path: '/v1/environments/env_1',
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.1',
        userAgent: 'test',
      },
      authorizer:
        overrides.claims === undefined
          ? undefined
          : { jwt: { claims: overrides.claims, scopes: [] }, principalId: '', integrationLatency: 0 },
    },
  } as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
}

describe('fromApiGateway', () => {
  test('carries method, path, query, lower-cased headers and body', () => {
    expect(fromApiGateway(event({ body: '{"a":1}', claims: { org: 'org_1', role: 'member' } }))).toEqual({
      method: 'POST',
      path: '/v1/environments/env_1',
      query: { a: '1' },
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: '{"a":1}',
      caller: { organizationId: 'org_1', role: 'member' },
    });
  });

  test('decodes a base64 body as UTF-8', () => {
    const text = '{"name":"Zoë & Co — 東京"}';
    const request = fromApiGateway(
      event({ body: Buffer.from(text, 'utf8').toString('base64'), isBase64Encoded: true }),
    );
    expect(request.body).toBe(text);
  });

  test('a request without a body has none; without query or headers, empty ones', () => {
    const bare = {
      ...event(),
      headers: undefined,
      queryStringParameters: undefined,
    } as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
    expect(fromApiGateway(bare)).toMatchObject({ body: undefined, query: {}, headers: {} });
  });

  test('an operator token makes an operator caller', () => {
    expect(fromApiGateway(event({ claims: { org: 'org_ops', role: 'operator' } })).caller).toEqual({
      organizationId: 'org_ops',
      role: 'operator',
    });
  });

  test('a token without a role is a member, never an operator', () => {
    expect(fromApiGateway(event({ claims: { org: 'org_1' } })).caller).toEqual({
      organizationId: 'org_1',
      role: 'member',
    });
  });

  test.each([
    ['an unknown role', { org: 'org_1', role: 'admin' }],
    ['a role of another case', { org: 'org_1', role: 'Operator' }],
    ['a role that is not a string', { org: 'org_1', role: ['operator'] }],
    ['no organization', { role: 'operator' }],
    ['an organization that is not a string', { org: 42, role: 'member' }],
  ])('a token with %s makes no caller (401)', (_case, claims) => {
    expect(fromApiGateway(event({ claims })).caller).toBeUndefined();
  });

  test('no authorizer (the ingest API), or one without JWT claims, makes no caller', () => {
    expect(fromApiGateway(event()).caller).toBeUndefined();
    const otherAuthorizer = event();
    (otherAuthorizer.requestContext as { authorizer?: unknown }).authorizer = { lambda: { org: 'org_1' } };
    expect(fromApiGateway(otherAuthorizer).caller).toBeUndefined();
  });
});

describe('toApiGateway', () => {
  test('answers JSON with the status and extra headers', () => {
    expect(toApiGateway({ status: 201, body: { id: 'x' }, headers: { location: '/x' } })).toEqual({
      statusCode: 201,
      headers: { 'content-type': 'application/json', location: '/x' },
      body: '{"id":"x"}',
    });
  });

  test('an empty response has an empty body', () => {
    expect(toApiGateway({ status: 204 })).toEqual({
      statusCode: 204,
      headers: { 'content-type': 'application/json' },
      body: '',
    });
  });
});
