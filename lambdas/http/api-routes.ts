/**
 * The management API (`/v1`): one table of routes from which both the router and the OpenAPI
 * document are built, so the published contract cannot drift from what is served.
 */
import { z } from 'zod';
import { requireCaller, requireOperator, type Caller } from '../core/access';
import { maskedIngestKey } from '../core/ingest-keys';
import { LIMITS_TABLE, MAX_BODY_BYTES } from '../core/limits';
import type { Environment, EnvironmentWithIngestKey, Organization } from '../core/model';
import type { AutomaticExportService } from '../core/automatic-export';
import type { EventCatalogService } from '../core/event-catalog';
import type { ManualExportService } from '../core/manual-export';
import type { TenancyService } from '../core/tenancy';
import type { DestinationService } from '../core/destinations';
import type { ExportJobService } from '../core/export-jobs';
import type { RawRevisionsService } from '../core/raw-revisions';
import {
  bucketPolicyQuery,
  createDestinationBody,
  createExportJobBody,
  listExportJobsQuery,
  patchExportJobBody,
  putDestinationBody,
  changePlanBody,
  createEnvironmentBody,
  createOrganizationBody,
  idParameter,
  putFeatureBody,
  putExportSettingsBody,
  putRawExportSettingsBody,
  putSegmentBody,
  runHistoryQuery,
  startManualExportBody,
} from './api-schemas';
import { Router } from './router';
import type { HttpResponse, RouteContext } from './types';
import { validate, validateBody } from './validation';
import { isoTime } from '../core/iso-time';

export type RouteAccess = 'public' | 'member' | 'operator';

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  summary: string;
  /**
   * Who may call it; `public` routes need no token. The router enforces it before the handler runs (and
   * the use cases still check which environments a member reaches), so the OpenAPI document says what
   * is enforced.
   */
  access: RouteAccess;
  /** The JSON body, validated by the router against this same schema (see `withBody`). */
  body?: z.ZodType;
  /** Answers worth documenting besides the error envelope (OpenAPI response objects by status). */
  responses?: Record<string, object>;
  /** Called with the body parsed by `body` (undefined for routes without one). */
  handler: (context: RouteContext, body: unknown) => Promise<HttpResponse>;
}

/** A route with a JSON body: its handler gets the body as its schema parses it. */
function withBody<Schema extends z.ZodType>(
  route: Omit<ApiRoute, 'body' | 'handler'> & {
    body: Schema;
    handler: (context: RouteContext, body: z.output<Schema>) => Promise<HttpResponse>;
  },
): ApiRoute {
  // The router hands over what `validateBody(route.body, ...)` returned: the schema's output.
  return { ...route, handler: (context, body) => route.handler(context, body as z.output<Schema>) };
}

/** Refuses a caller the route's access does not admit (401 without a token, 403 for the wrong role). */
function enforceAccess(access: RouteAccess, caller: Caller | undefined): void {
  if (access === 'operator') requireOperator(caller);
  else if (access === 'member') requireCaller(caller);
}

export interface ApiServices {
  tenancy: TenancyService;
  manualExports: ManualExportService;
  automaticExports: AutomaticExportService;
  destinationService: DestinationService;
  exportJobService: ExportJobService;
  eventCatalog: EventCatalogService;
  rawRevisions: RawRevisionsService;
}

const ok = (body: unknown, status = 200): HttpResponse => ({ status, body });

const organizationView = (org: Organization) => ({
  id: org.id,
  name: org.name,
  plan: org.plan,
  createdAt: isoTime(org.createdAt),
});
/** The ingest key itself only in the answer that issued it; afterwards its masked prefix. */
const environmentView = (env: Environment | EnvironmentWithIngestKey) => ({
  id: env.id,
  organizationId: env.organizationId,
  name: env.name,
  ...('ingestKey' in env ? { ingestKey: env.ingestKey } : {}),
  maskedIngestKey: maskedIngestKey(env.ingestKeyPrefix),
  createdAt: isoTime(env.createdAt),
});

/** Every id in a path has the same shape; anything else is answered 400 before it reaches a store. */
function validatePathIds(params: Record<string, string>): void {
  for (const [name, value] of Object.entries(params)) validate(idParameter, value, `${name} in the path`);
}

export function apiRoutes({
  tenancy,
  manualExports,
  automaticExports,
  eventCatalog,
  destinationService,
  exportJobService,
  rawRevisions,
}: ApiServices): ApiRoute[] {
  return [
    ...destinationRoutes(destinationService),
    ...exportJobRoutes(exportJobService),
    ...rawExportRoutes(rawRevisions),
    withBody({
      method: 'POST',
      path: '/v1/organizations',
      summary: 'Create an organization with its plan',
      access: 'operator',
      body: createOrganizationBody,
      handler: async ({ request }, body) =>
        ok(organizationView(await tenancy.createOrganization(request.caller, body)), 201),
    }),
    withBody({
      method: 'PATCH',
      path: '/v1/organizations/{orgId}',
      summary: "Change an organization's plan",
      access: 'operator',
      body: changePlanBody,
      handler: async ({ request, params }, body) => {
        const { plan } = body;
        return ok(organizationView(await tenancy.changePlan(request.caller, params.orgId, plan)));
      },
    }),
    withBody({
      method: 'POST',
      path: '/v1/organizations/{orgId}/environments',
      summary: 'Create an environment; the answer carries its ingest key, shown this once (only its hash is stored)',
      access: 'operator',
      body: createEnvironmentBody,
      handler: async ({ request, params }, body) => {
        const { name } = body;
        return ok(environmentView(await tenancy.createEnvironment(request.caller, params.orgId, name)), 201);
      },
    }),
    {
      method: 'GET',
      path: '/v1/environments/{envId}',
      summary: 'The environment; its ingest key only masked (maskedIngestKey, e.g. "ik_abc…")',
      access: 'member',
      handler: async ({ request, params }) =>
        ok(environmentView(await tenancy.getEnvironment(request.caller, params.envId))),
    },
    {
      method: 'POST',
      path: '/v1/environments/{envId}/ingest-keys/rotate',
      summary:
        'Issue a new ingest key, answered this once. The replaced key keeps working until previousKeyValidUntil (24 h by default), then gets 401. 409 when another rotation ran at the same time.',
      access: 'member',
      responses: {
        '201': {
          description:
            '{id, name, ingestKey (the new key, shown this once), maskedIngestKey, previousKeyValidUntil, ...}',
        },
        '409': {
          description: 'Another rotation of this environment ran at the same time; use its key, or rotate again.',
        },
      },
      handler: async ({ request, params }) => {
        const { environment, previousKeyValidUntil } = await tenancy.rotateIngestKey(request.caller, params.envId);
        return ok({ ...environmentView(environment), previousKeyValidUntil: isoTime(previousKeyValidUntil) }, 201);
      },
    },
    {
      method: 'GET',
      path: '/v1/environments/{envId}/features',
      summary: 'Feature definitions',
      access: 'member',
      handler: async ({ request, params }) =>
        ok({ features: await tenancy.listFeatures(request.caller, params.envId) }),
    },
    withBody({
      method: 'PUT',
      path: '/v1/environments/{envId}/features/{featureId}',
      summary: 'Create or replace a feature definition (adoption defaults to 5 active days of 28)',
      access: 'member',
      body: putFeatureBody,
      handler: async ({ request, params }, body) => {
        const input = body;
        return ok(await tenancy.putFeature(request.caller, params.envId, params.featureId, input));
      },
    }),
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
        return ok({
          items: entries.map((entry) => ({
            ...entry,
            firstSeen: isoTime(entry.firstSeen),
            lastSeen: isoTime(entry.lastSeen),
          })),
        });
      },
    },
    {
      method: 'GET',
      path: '/v1/environments/{envId}/segments',
      summary: 'Segment definitions',
      access: 'member',
      handler: async ({ request, params }) =>
        ok({ segments: await tenancy.listSegments(request.caller, params.envId) }),
    },
    withBody({
      method: 'PUT',
      path: '/v1/environments/{envId}/segments/{segmentId}',
      summary: 'Create or replace a segment: an AND of conditions on company attributes and first/last seen',
      access: 'member',
      body: putSegmentBody,
      handler: async ({ request, params }, body) => {
        const input = body;
        return ok(await tenancy.putSegment(request.caller, params.envId, params.segmentId, input));
      },
    }),
    withBody({
      method: 'POST',
      path: '/v1/environments/{envId}/exports/manual',
      summary:
        'Start a manual CSV export (pro or enterprise plan); answers 202 at once, poll the job for the download URL',
      access: 'member',
      body: startManualExportBody,
      responses: {
        '202': { description: 'The export job, pending; Location names it.' },
        '429': {
          description:
            'too_many_exports: at most 2 manual exports of an environment are pending or running at once. Start it again once one is done or failed.',
          headers: {
            'Retry-After': { description: 'Seconds to wait before starting again.', schema: { type: 'integer' } },
          },
        },
      },
      handler: async ({ request, params }, body) => {
        const { aggregation } = body;
        const job = await manualExports.request(request.caller, params.envId, aggregation);
        return {
          status: 202,
          body: job,
          headers: { location: `/v1/environments/${params.envId}/exports/manual/${job.id}` },
        };
      },
    }),
    {
      method: 'GET',
      path: '/v1/environments/{envId}/exports/manual/{exportId}',
      summary:
        'A manual export: pending, running, done (row and byte counts, download URL and its expiry) or failed (error)',
      access: 'member',
      handler: async ({ request, params }) =>
        ok(await manualExports.get(request.caller, params.envId, params.exportId)),
    },
    {
      method: 'GET',
      path: '/v1/environments/{envId}/data-export/settings',
      summary:
        'Automatic export settings (the secret access key is never returned; the access key id is masked), with their `version` (0 while none were saved): send it back with the next save',
      access: 'member',
      handler: async ({ request, params }) => ok(await automaticExports.getSettings(request.caller, params.envId)),
    },
    withBody({
      method: 'PUT',
      path: '/v1/environments/{envId}/data-export/settings',
      summary:
        'Save automatic export settings (enterprise plan). Send the `version` you read: a save based on older settings answers 409 `conflict` (reload and save again); without a version the save only creates settings. Enabling validates the destination by listing the bucket; nothing is saved when that fails. Omit secretAccessKey to keep the stored one. The schedule follows the saved settings.',
      access: 'member',
      body: putExportSettingsBody,
      handler: async ({ request, params }, body) => {
        const input = body;
        return ok(await automaticExports.putSettings(request.caller, params.envId, input));
      },
    }),
    {
      method: 'GET',
      path: '/v1/environments/{envId}/data-export/status',
      summary:
        "The automatic export's status: last run, never ran before / successful / failed / stopped, next run, error",
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

const DESTINATIONS = '/v1/environments/{envId}/destinations';

function destinationRoutes(destinations: DestinationService): ApiRoute[] {
  return [
    withBody({
      method: 'POST',
      path: DESTINATIONS,
      summary:
        'Create a named destination (enterprise plan). auth {"mode": "accessKey", accessKeyId, secretAccessKey} is validated by listing the bucket; {"mode": "bucketPolicy"} by a zero-byte probe write of <key>/.export-access-check as the service\'s export role (paste the policy of GET .../destinations/bucket-policy first). Nothing is saved when validation fails.',
      access: 'member',
      body: createDestinationBody,
      handler: async ({ request, params }, body) =>
        ok(await destinations.create(request.caller, params.envId, body), 201),
    }),
    {
      method: 'GET',
      path: DESTINATIONS,
      summary: "The environment's destinations (secrets never returned; access key ids masked)",
      access: 'member',
      handler: async ({ request, params }) => ok({ items: await destinations.list(request.caller, params.envId) }),
    },
    {
      method: 'GET',
      path: `${DESTINATIONS}/bucket-policy`,
      summary:
        "The bucket policy granting the service's export role s3:PutObject on arn:aws:s3:::<bucket>/* (?bucket=<name>): {policy}",
      access: 'member',
      handler: async ({ request, params }) => {
        const { bucket } = validate(bucketPolicyQuery, request.query, 'query string');
        return ok(await destinations.bucketPolicy(request.caller, params.envId, bucket));
      },
    },
    {
      method: 'GET',
      path: `${DESTINATIONS}/{destinationId}`,
      summary: 'A destination; a bucket-policy destination carries its policy',
      access: 'member',
      handler: async ({ request, params }) =>
        ok(await destinations.get(request.caller, params.envId, params.destinationId)),
    },
    withBody({
      method: 'PUT',
      path: `${DESTINATIONS}/{destinationId}`,
      summary:
        'Replace a destination, validated as on creation. Send the `version` you read (409 `conflict` when stale); omit auth.secretAccessKey to keep the stored one for the same access key id.',
      access: 'member',
      body: putDestinationBody,
      handler: async ({ request, params }, body) =>
        ok(await destinations.update(request.caller, params.envId, params.destinationId, body)),
    }),
    {
      method: 'DELETE',
      path: `${DESTINATIONS}/{destinationId}`,
      summary: 'Delete a destination; 409 `destination_in_use`, naming the jobs, while active export jobs use it',
      access: 'member',
      responses: { '204': { description: 'Deleted.' } },
      handler: async ({ request, params }) => {
        await destinations.delete(request.caller, params.envId, params.destinationId);
        return { status: 204 };
      },
    },
  ];
}

const JOBS = '/v1/environments/{envId}/export-jobs';

function exportJobRoutes(jobs: ExportJobService): ApiRoute[] {
  return [
    withBody({
      method: 'POST',
      path: JOBS,
      summary:
        'Create an event or profile export job (enterprise plan): one-time jobs (UTC days within the last 60) start at once; recurring ones run every 4-24 hours from startDate (or now).',
      access: 'member',
      body: createExportJobBody,
      handler: async ({ request, params }, body) => ok(await jobs.create(request.caller, params.envId, body), 201),
    }),
    {
      method: 'GET',
      path: JOBS,
      summary:
        'Export jobs, newest first. Filters: provider, type, format, status, frequency (oneTime|recurring), exportedFrom/exportedTo (last run); pageSize 10, 20 (default), 30 or 40; cursor (the nextCursor of the previous page).',
      access: 'member',
      handler: async ({ request, params }) =>
        ok(await jobs.list(request.caller, params.envId, validate(listExportJobsQuery, request.query, 'query string'))),
    },
    {
      method: 'GET',
      path: `${JOBS}/{jobId}`,
      summary: 'An export job: PENDING, RUNNING, DONE or STOPPED',
      access: 'member',
      handler: async ({ request, params }) => ok(await jobs.get(request.caller, params.envId, params.jobId)),
    },
    withBody({
      method: 'PATCH',
      path: `${JOBS}/{jobId}`,
      summary:
        'Edit a recurring job (send its `version`); changes apply from the next run. 409 `one_time_not_editable` for one-time jobs, 409 `job_finished` for DONE or STOPPED ones; 400 when switching between events and profiles.',
      access: 'member',
      body: patchExportJobBody,
      handler: async ({ request, params }, body) =>
        ok(await jobs.update(request.caller, params.envId, params.jobId, body)),
    }),
    {
      method: 'POST',
      path: `${JOBS}/{jobId}/stop`,
      summary: 'Stop a job: STOPPED, and its schedule deleted',
      access: 'member',
      handler: async ({ request, params }) => ok(await jobs.stop(request.caller, params.envId, params.jobId)),
    },
    {
      method: 'GET',
      path: `${JOBS}/{jobId}/runs`,
      summary:
        'Run history, most recent first (?limit=1-100, default 20): window, status, files with records and bytes, error',
      access: 'member',
      handler: async ({ request, params }) => {
        const { limit } = validate(runHistoryQuery, request.query, 'query string');
        return ok({ runs: await jobs.runs(request.caller, params.envId, params.jobId, limit) });
      },
    },
  ];
}

const RAW_EXPORT = '/v1/environments/{envId}/raw-export';

function rawExportRoutes(rawRevisions: RawRevisionsService): ApiRoute[] {
  return [
    {
      method: 'GET',
      path: `${RAW_EXPORT}/settings`,
      summary:
        'Raw revisions export settings (enterprise plan): {enabled, destinationId, notifyEmails, version, stoppedAt, stoppedReason}',
      access: 'member',
      handler: async ({ request, params }) => ok(await rawRevisions.getSettings(request.caller, params.envId)),
    },
    withBody({
      method: 'PUT',
      path: `${RAW_EXPORT}/settings`,
      summary:
        'Save the raw revisions export settings (enterprise plan): {enabled, destinationId, notifyEmails (1-10 to enable), version?}. Enabling needs an existing destination of the environment and schedules runs at 00:00 and 12:00 UTC; disabling removes the schedule. Send the `version` you read (409 `conflict` when stale).',
      access: 'member',
      body: putRawExportSettingsBody,
      handler: async ({ request, params }, body) =>
        ok(await rawRevisions.putSettings(request.caller, params.envId, body)),
    }),
    {
      method: 'GET',
      path: `${RAW_EXPORT}/status`,
      summary:
        'Raw revisions export progress: {totalRevisions, exportedRevisions, maxExportedTimestamp, maxExportedAt, lastRunAt, nextRunAt, status (never ran before / successful / failed / stopped), error}',
      access: 'member',
      handler: async ({ request, params }) => ok(await rawRevisions.getStatus(request.caller, params.envId)),
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
              content: {
                'application/json': { schema: z.toJSONSchema(route.body, { io: 'input', unrepresentable: 'any' }) },
              },
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
  return [
    'Input limits (checked before anything is written):',
    '',
    '| input | limit | refused with |',
    '| --- | --- | --- |',
    ...rows,
  ].join('\n');
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
      enforceAccess(route.access, context.request.caller);
      return route.handler(context, route.body ? validateBody(route.body, context.request.body) : undefined);
    });
  }
  return router;
}
