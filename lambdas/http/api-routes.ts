/**
 * The management API (`/v1`): one table of routes from which both the router and the OpenAPI
 * document are built, so the published contract cannot drift from what is served.
 */
import { z } from 'zod';
import { maskedIngestKey } from '../core/ingest-keys';
import { LIMITS_TABLE, MAX_BODY_BYTES } from '../core/limits';
import type { Environment, EnvironmentWithIngestKey, Organization } from '../core/model';
import type { AutomaticExportService } from '../core/automatic-export';
import type { EventCatalogService } from '../core/event-catalog';
import type { ManualExportService } from '../core/manual-export';
import type { TenancyService } from '../core/tenancy';
import {
  changePlanBody,
  createEnvironmentBody,
  createOrganizationBody,
  idParameter,
  putFeatureBody,
  putExportSettingsBody,
  putSegmentBody,
  runHistoryQuery,
  startManualExportBody,
} from './api-schemas';
import { Router } from './router';
import type { HttpResponse, RouteContext } from './types';
import { validate, validateBody } from './validation';

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  summary: string;
  /** Who may call it; `public` routes need no token. */
  access: 'public' | 'member' | 'operator';
  body?: z.ZodType;
  /** Answers worth documenting besides the error envelope (OpenAPI response objects by status). */
  responses?: Record<string, object>;
  handler: (context: RouteContext) => Promise<HttpResponse>;
}

export interface ApiServices {
  tenancy: TenancyService;
  manualExports: ManualExportService;
  automaticExports: AutomaticExportService;
  eventCatalog: EventCatalogService;
}

const ok = (body: unknown, status = 200): HttpResponse => ({ status, body });
const iso = (ms: number) => new Date(ms).toISOString();

const organizationView = (org: Organization) => ({ id: org.id, name: org.name, plan: org.plan, createdAt: iso(org.createdAt) });
/** The ingest key itself only in the answer that issued it; afterwards its masked prefix. */
const environmentView = (env: Environment | EnvironmentWithIngestKey) => ({
  id: env.id,
  organizationId: env.organizationId,
  name: env.name,
  ...('ingestKey' in env ? { ingestKey: env.ingestKey } : {}),
  maskedIngestKey: maskedIngestKey(env.ingestKeyPrefix),
  createdAt: iso(env.createdAt),
});

/** Every id in a path has the same shape; anything else is answered 400 before it reaches a store. */
function validatePathIds(params: Record<string, string>): void {
  for (const [name, value] of Object.entries(params)) validate(idParameter, value, `${name} in the path`);
}

export function apiRoutes({ tenancy, manualExports, automaticExports, eventCatalog }: ApiServices): ApiRoute[] {
  return [
    {
      method: 'POST',
      path: '/v1/organizations',
      summary: 'Create an organization with its plan',
      access: 'operator',
      body: createOrganizationBody,
      handler: async ({ request }) =>
        ok(organizationView(await tenancy.createOrganization(request.caller, validateBody(createOrganizationBody, request.body))), 201),
    },
    {
      method: 'PATCH',
      path: '/v1/organizations/{orgId}',
      summary: "Change an organization's plan",
      access: 'operator',
      body: changePlanBody,
      handler: async ({ request, params }) => {
        const { plan } = validateBody(changePlanBody, request.body);
        return ok(organizationView(await tenancy.changePlan(request.caller, params.orgId, plan)));
      },
    },
    {
      method: 'POST',
      path: '/v1/organizations/{orgId}/environments',
      summary: 'Create an environment; the answer carries its ingest key, shown this once (only its hash is stored)',
      access: 'operator',
      body: createEnvironmentBody,
      handler: async ({ request, params }) => {
        const { name } = validateBody(createEnvironmentBody, request.body);
        return ok(environmentView(await tenancy.createEnvironment(request.caller, params.orgId, name)), 201);
      },
    },
    {
      method: 'GET',
      path: '/v1/environments/{envId}',
      summary: 'The environment; its ingest key only masked (maskedIngestKey, e.g. "ik_abc…")',
      access: 'member',
      handler: async ({ request, params }) => ok(environmentView(await tenancy.getEnvironment(request.caller, params.envId))),
    },
    {
      method: 'POST',
      path: '/v1/environments/{envId}/ingest-keys/rotate',
      summary:
        'Issue a new ingest key, answered this once. The replaced key keeps working until previousKeyValidUntil (24 h by default), then gets 401. 409 when another rotation ran at the same time.',
      access: 'member',
      responses: {
        '201': { description: '{id, name, ingestKey (the new key, shown this once), maskedIngestKey, previousKeyValidUntil, ...}' },
        '409': { description: 'Another rotation of this environment ran at the same time; use its key, or rotate again.' },
      },
      handler: async ({ request, params }) => {
        const { environment, previousKeyValidUntil } = await tenancy.rotateIngestKey(request.caller, params.envId);
        return ok({ ...environmentView(environment), previousKeyValidUntil: iso(previousKeyValidUntil) }, 201);
      },
    },
    {
      method: 'GET',
      path: '/v1/environments/{envId}/features',
      summary: 'Feature definitions',
      access: 'member',
      handler: async ({ request, params }) => ok({ features: await tenancy.listFeatures(request.caller, params.envId) }),
    },
    {
      method: 'PUT',
      path: '/v1/environments/{envId}/features/{featureId}',
      summary: 'Create or replace a feature definition (adoption defaults to 5 active days of 28)',
      access: 'member',
      body: putFeatureBody,
      handler: async ({ request, params }) => {
        const input = validateBody(putFeatureBody, request.body);
        return ok(await tenancy.putFeature(request.caller, params.envId, params.featureId, input));
      },
    },
    {
      method: 'GET',
      path: '/v1/environments/{envId}/events',
      summary:
        'The event catalog: every event name received, with firstSeen, lastSeen (receive times), an approximate count and every property key seen',
      access: 'member',
      responses: {
        '200': {
          description:
            '{"items": [{"name", "firstSeen", "lastSeen" (ISO-8601 receive times), "count" (approximate), "propertyKeys" (every key seen, sorted)}]}, sorted by name',
        },
      },
      handler: async ({ request, params }) => {
        const entries = await eventCatalog.list(request.caller, params.envId);
        return ok({ items: entries.map((entry) => ({ ...entry, firstSeen: iso(entry.firstSeen), lastSeen: iso(entry.lastSeen) })) });
      },
    },
    {
      method: 'GET',
      path: '/v1/environments/{envId}/segments',
      summary: 'Segment definitions',
      access: 'member',
      handler: async ({ request, params }) => ok({ segments: await tenancy.listSegments(request.caller, params.envId) }),
    },
    {
      method: 'PUT',
      path: '/v1/environments/{envId}/segments/{segmentId}',
      summary: 'Create or replace a segment: an AND of conditions on company attributes and first/last seen',
      access: 'member',
      body: putSegmentBody,
      handler: async ({ request, params }) => {
        const input = validateBody(putSegmentBody, request.body);
        return ok(await tenancy.putSegment(request.caller, params.envId, params.segmentId, input));
      },
    },
    {
      method: 'POST',
      path: '/v1/environments/{envId}/exports/manual',
      summary: 'Start a manual CSV export (pro or enterprise plan); answers 202 at once, poll the job for the download URL',
      access: 'member',
      body: startManualExportBody,
      responses: {
        '202': { description: 'The export job, pending; Location names it.' },
        '429': {
          description:
            'too_many_exports: at most 2 manual exports of an environment are pending or running at once. Start it again once one is done or failed.',
          headers: { 'Retry-After': { description: 'Seconds to wait before starting again.', schema: { type: 'integer' } } },
        },
      },
      handler: async ({ request, params }) => {
        const { aggregation } = validateBody(startManualExportBody, request.body);
        const job = await manualExports.request(request.caller, params.envId, aggregation);
        return { status: 202, body: job, headers: { location: `/v1/environments/${params.envId}/exports/manual/${job.id}` } };
      },
    },
    {
      method: 'GET',
      path: '/v1/environments/{envId}/exports/manual/{exportId}',
      summary: 'A manual export: pending, running, done (row and byte counts, download URL and its expiry) or failed (error)',
      access: 'member',
      handler: async ({ request, params }) => ok(await manualExports.get(request.caller, params.envId, params.exportId)),
    },
    {
      method: 'GET',
      path: '/v1/environments/{envId}/data-export/settings',
      summary:
        'Automatic export settings (the secret access key is never returned; the access key id is masked), with their `version` (0 while none were saved): send it back with the next save',
      access: 'member',
      handler: async ({ request, params }) => ok(await automaticExports.getSettings(request.caller, params.envId)),
    },
    {
      method: 'PUT',
      path: '/v1/environments/{envId}/data-export/settings',
      summary:
        'Save automatic export settings (enterprise plan). Send the `version` you read: a save based on older settings answers 409 `conflict` (reload and save again); without a version the save only creates settings. Enabling validates the destination by listing the bucket; nothing is saved when that fails. Omit secretAccessKey to keep the stored one. The schedule follows the saved settings.',
      access: 'member',
      body: putExportSettingsBody,
      handler: async ({ request, params }) => {
        const input = validateBody(putExportSettingsBody, request.body);
        return ok(await automaticExports.putSettings(request.caller, params.envId, input));
      },
    },
    {
      method: 'GET',
      path: '/v1/environments/{envId}/data-export/status',
      summary: "The automatic export's status: last run, never ran before / successful / failed / stopped, next run, error",
      access: 'member',
      handler: async ({ request, params }) => ok(await automaticExports.getStatus(request.caller, params.envId)),
    },
    {
      method: 'GET',
      path: '/v1/environments/{envId}/data-export/runs',
      summary: 'Run history, most recent first (?limit=1-100, default 20): rows, bytes, object key, duration, error',
      access: 'member',
      handler: async ({ request, params }) => {
        const { limit } = validate(runHistoryQuery, request.query, 'query string');
        return ok({ runs: await automaticExports.history(request.caller, params.envId, limit) });
      },
    },
  ];
}

export function openApiDocument(routes: ApiRoute[]): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    const parameters = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      schema: PATH_ID_SCHEMA,
    }));
    paths[route.path] ??= {};
    paths[route.path][route.method.toLowerCase()] = {
      summary: route.summary,
      ...(route.access === 'public' ? { security: [] } : { 'x-required-role': route.access }),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              description: `JSON, at most ${MAX_BODY_BYTES} bytes (1 MB) of UTF-8; larger bodies answer 413.`,
              content: { 'application/json': { schema: z.toJSONSchema(route.body, { io: 'input', unrepresentable: 'any' }) } },
            },
          }
        : {}),
      responses: {
        ...route.responses,
        default: {
          description:
            'Errors are {"error": {"code", "message", "issues"?}} with a 4xx or 5xx status; a refused input names the field and the limit (see the limits in info.description).',
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Data export service API', version: '1', description: limitsDescription() },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    security: [{ bearer: [] }],
    paths,
  };
}

/** Every input limit of the API and of ingest, as a Markdown table. */
function limitsDescription(): string {
  const rows = LIMITS_TABLE.map(({ input, limit, refusal }) => `| ${input} | ${limit} | ${refusal} |`);
  return ['Input limits (checked before anything is written):', '', '| input | limit | refused with |', '| --- | --- | --- |', ...rows].join('\n');
}

const PATH_ID_SCHEMA = z.toJSONSchema(idParameter);

export function apiRouter(services: ApiServices): Router {
  const routes = apiRoutes(services);
  const document = openApiDocument(routes);
  const router = new Router();
  router.add('GET', '/v1/openapi.json', async () => ok(document));
  for (const route of routes) {
    router.add(route.method, route.path, (context) => {
      validatePathIds(context.params);
      return route.handler(context);
    });
  }
  return router;
}
