import { NotFoundError } from '../core/errors';
import { errorResponse, MethodNotAllowedError } from './errors';
import type { HttpRequest, HttpResponse, RouteHandler } from './types';

interface Route {
  method: string;
  segments: string[];
  handler: RouteHandler;
}

/** Path templates like `/v1/environments/{envId}`; parameters are URL-decoded. */
export class Router {
  private readonly routes: Route[] = [];

  constructor(private readonly toErrorResponse: (error: unknown) => HttpResponse = errorResponse) {}

  add(method: string, template: string, handler: RouteHandler): this {
    this.routes.push({ method, segments: template.split('/').filter(Boolean), handler });
    return this;
  }

  /** The answer to a request refused before it could be routed (e.g. a body over the limit). */
  refuse(error: unknown): HttpResponse {
    return this.toErrorResponse(error);
  }

  async handle(request: HttpRequest): Promise<HttpResponse> {
    try {
      const segments = request.path.split('/').filter(Boolean);
      const matching = this.routes
        .map((route) => ({ route, params: match(route.segments, segments) }))
        .filter((candidate) => candidate.params !== undefined);
      const found = matching.find((candidate) => candidate.route.method === request.method);
      if (found) return await found.route.handler({ request, params: found.params! });
      if (matching.length > 0) {
        throw new MethodNotAllowedError(request.path, [...new Set(matching.map((c) => c.route.method))]);
      }
      throw new NotFoundError(`No route ${request.method} ${request.path}. See GET /v1/openapi.json for the API.`);
    } catch (error) {
      return this.toErrorResponse(error);
    }
  }
}

function match(template: string[], actual: string[]): Record<string, string> | undefined {
  if (template.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const part = template[i];
    if (part.startsWith('{') && part.endsWith('}')) {
      let value: string;
      try {
        value = decodeURIComponent(actual[i]);
      } catch {
        return undefined;
      }
      params[part.slice(1, -1)] = value;
    } else if (part !== actual[i]) {
      return undefined;
    }
  }
  return params;
}
