/**
 * The HTTP shape every entry point speaks: API Gateway events and the local server both translate
 * into these, so routes, validation and error mapping exist once.
 */

import type { Caller } from '../core/access';

export interface HttpRequest {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: string | undefined;
  /** Verified token claims: by API Gateway's JWT authorizer on AWS, by the local signing key locally. */
  caller?: Caller;
}

export interface HttpResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteContext {
  request: HttpRequest;
  params: Record<string, string>;
}

export type RouteHandler = (context: RouteContext) => Promise<HttpResponse>;
