/** API Gateway HTTP API (payload 2.0) events to and from the service's HttpRequest/HttpResponse. */
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyResultV2,
} from 'aws-lambda';
import { ROLES, type Caller, type Role } from '../core/access';
import { checkBodyText, decodeBody } from './body';
import type { Router } from './router';
import type { HttpRequest, HttpResponse } from './types';

function callerFromClaims(claims: Record<string, unknown> | undefined): Caller | undefined {
  const organizationId = claims?.org;
  const role = claims?.role ?? 'member';
  if (typeof organizationId !== 'string' || !ROLES.includes(role as Role)) return undefined;
  return { organizationId, role: role as Role };
}

export function fromApiGateway(event: APIGatewayProxyEventV2 | APIGatewayProxyEventV2WithJWTAuthorizer): HttpRequest {
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const body = event.isBase64Encoded
    ? decodeBody(event.body === undefined ? undefined : Buffer.from(event.body, 'base64'))
    : checkBodyText(event.body);
  const authorizer = (event.requestContext as APIGatewayProxyEventV2WithJWTAuthorizer['requestContext']).authorizer;
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath,
    query: event.queryStringParameters ?? {},
    headers,
    body,
    caller: callerFromClaims(authorizer?.jwt?.claims),
  };
}

export function toApiGateway(response: HttpResponse): APIGatewayProxyResultV2 {
  return {
    statusCode: response.status,
    headers: { 'content-type': 'application/json', ...response.headers },
    body: response.body === undefined ? '' : JSON.stringify(response.body),
  };
}

/** One API Gateway event through a router; a body refused before routing answers in the router's shape. */
export async function handleApiGateway(
  router: Router,
  event: APIGatewayProxyEventV2 | APIGatewayProxyEventV2WithJWTAuthorizer,
): Promise<APIGatewayProxyResultV2> {
  let request: HttpRequest;
  try {
    request = fromApiGateway(event);
  } catch (error) {
    return toApiGateway(router.refuse(error));
  }
  return toApiGateway(await router.handle(request));
}
