/**
 * Local mode's HTTP server: the same routers as the Lambdas, behind node:http. `/v1` gets its caller
 * from the local token key (API Gateway's authorizer does that on AWS); `/local` holds the routes that
 * exist only here, to mint tokens and drive time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ROLES } from '../core/access';
import { NotFoundError } from '../core/errors';
import { RetryableRunError } from '../core/automatic-export';
import { DEFAULT_RAW_EXPORT_BUDGET_MS } from '../core/raw-revisions';
import { apiRouter } from '../http/api-routes';
import { decodeBody } from '../http/body';
import { PayloadTooLargeError } from '../http/errors';
import { MAX_BODY_BYTES } from '../core/limits';
import { ingestRouter } from '../http/ingest-routes';
import { logger } from '../core/log';
import { Router } from '../http/router';
import type { HttpRequest, HttpResponse } from '../http/types';
import { validateBody } from '../http/validation';
import { BUCKET_POLICY_STATES, CUSTOMER_STORAGE_MODES, type CustomerStorage } from './customer-storage';
import { serveDashboardFile } from './dashboard-files';
import type { LocalTokens } from './tokens';
import type { LocalServices } from './wiring';

const mintTokenBody = z.object({ org: z.string().min(1), role: z.enum(ROLES) }).strict();
/** When a fire is for, and when the run happens (the scheduled time by default, as if fired on time). */
const fireTimes = {
  scheduledTime: z.iso.datetime({
    offset: true,
    error: 'scheduledTime must be an ISO-8601 date-time, e.g. 2026-11-24T00:00:00Z',
  }),
  now: z.iso.datetime({ offset: true, error: 'now must be an ISO-8601 date-time' }).optional(),
};
const fireJobBody = z.object({ jobId: z.string().min(1), ...fireTimes }).strict();
const fireScheduleBody = z.object({ envId: z.string().min(1), ...fireTimes }).strict();
const fireRawExportBody = z
  .object({
    target: z.literal('raw-export'),
    envId: z.string().min(1),
    ...fireTimes,
    /** How long the run may write revisions (ms); 0 writes one revision. Lambda's default otherwise. */
    budgetMs: z.number().int().min(0).max(DEFAULT_RAW_EXPORT_BUDGET_MS).optional(),
  })
  .strict();

export interface LocalServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

const customerStorageBody = z
  .object({
    access: z
      .enum(CUSTOMER_STORAGE_MODES, { error: `access must be one of ${CUSTOMER_STORAGE_MODES.join(', ')}` })
      .optional(),
    /** Grants or revokes the buckets' policy for the service's export role (bucket-policy destinations). */
    bucketPolicy: z
      .enum(BUCKET_POLICY_STATES, { error: `bucketPolicy must be one of ${BUCKET_POLICY_STATES.join(', ')}` })
      .optional(),
  })
  .strict()
  .refine((body) => body.access !== undefined || body.bucketPolicy !== undefined, 'send access, bucketPolicy or both');
const checkFailuresBody = z
  .object({
    now: z.iso
      .datetime({ offset: true, error: 'now must be an ISO-8601 date-time, e.g. 2026-11-25T01:00:00Z' })
      .optional(),
  })
  .strict();

/** Which schedule a fire is for: an export job's (`{jobId, ...}`), the raw export's (`{target: "raw-export", ...}`) or the automatic export's. */
function fireTarget(body: string | undefined): 'job' | 'raw-export' | 'automatic-export' {
  try {
    const parsed: unknown = JSON.parse(body ?? '');
    if (typeof parsed !== 'object' || parsed === null) return 'automatic-export';
    if ('jobId' in parsed) return 'job';
    return 'target' in parsed ? 'raw-export' : 'automatic-export';
  } catch {
    return 'automatic-export';
  }
}

/** Routes that exist only in local mode: mint tokens, and drive time as the scheduler would. */
export function localRouter(tokens: LocalTokens, services: LocalServices, customerStorage?: CustomerStorage): Router {
  const router = new Router()
    .add('POST', '/local/tokens', async ({ request }) => {
      const { org, role } = validateBody(mintTokenBody, request.body);
      return { status: 201, body: { token: await tokens.mint(org, role) } };
    })
    .add('POST', '/local/scheduler/fire', async ({ request }) => {
      const target = fireTarget(request.body);
      if (target === 'raw-export') {
        const { envId, scheduledTime, now, budgetMs } = validateBody(fireRawExportBody, request.body);
        if (!services.scheduler.hasRawExportSchedule(envId)) {
          throw new NotFoundError(
            `Environment ${envId} has no raw export schedule (enable it with PUT .../raw-export/settings).`,
          );
        }
        const result = await services.rawRevisions.run({
          environmentId: envId,
          scheduledTime: Date.parse(scheduledTime),
          runAt: Date.parse(now ?? scheduledTime),
          budgetMs: budgetMs ?? DEFAULT_RAW_EXPORT_BUDGET_MS,
        });
        return { status: 200, body: { envId, ...result } };
      }
      if (target === 'job') {
        const { jobId, scheduledTime, now } = validateBody(fireJobBody, request.body);
        const schedule = services.scheduler.jobSchedule(jobId);
        if (!schedule)
          throw new NotFoundError(
            `Export job ${jobId} has no schedule (only recurring jobs that are not stopped have one).`,
          );
        // The job run's seam (ExportJobService.runJob), as the schedule would fire it.
        const result = await services.exportJobService.runJob({
          environmentId: schedule.environmentId,
          jobId,
          scheduledTime: Date.parse(scheduledTime),
          runAt: Date.parse(now ?? scheduledTime),
        });
        return { status: 200, body: { jobId, ...result } };
      }
      const { envId, scheduledTime, now } = validateBody(fireScheduleBody, request.body);
      try {
        const result = await services.clock.at(Date.parse(now ?? scheduledTime), () =>
          services.automaticExports.runScheduled(envId, Date.parse(scheduledTime)),
        );
        return { status: 200, body: result };
      } catch (error) {
        if (!(error instanceof RetryableRunError)) throw error;
        // On AWS the scheduler would retry; here the caller decides when to fire again.
        return { status: 200, body: { outcome: 'failed', retryable: true, error: error.message } };
      }
    })
    .add('POST', '/local/check-failures', async ({ request }) => {
      const { now } = validateBody(checkFailuresBody, request.body);
      return { status: 200, body: await services.failureCheck.check(now === undefined ? undefined : Date.parse(now)) };
    });
  if (customerStorage) {
    router.add('POST', '/local/customer-storage', async ({ request }) => {
      const { access, bucketPolicy } = validateBody(customerStorageBody, request.body);
      if (access) customerStorage.mode = access;
      if (bucketPolicy) customerStorage.bucketPolicy = bucketPolicy;
      return {
        status: 200,
        body: {
          access: customerStorage.mode,
          bucketPolicy: customerStorage.bucketPolicy,
          endpoint: customerStorage.endpoint,
        },
      };
    });
  }
  return router;
}

/**
 * The body's bytes, or PayloadTooLargeError once they pass the limit. The rest of an oversize body is
 * read and dropped, not kept, so the client gets the 413 instead of a reset connection.
 */
async function readBody(message: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of message) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(size);
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, response: HttpResponse): void {
  const body = response.body === undefined ? '' : JSON.stringify(response.body);
  res.writeHead(response.status, { 'content-type': 'application/json; charset=utf-8', ...response.headers });
  res.end(body);
}

export async function startLocalServer(
  services: LocalServices,
  tokens: LocalTokens,
  options: {
    port: number;
    host?: string;
    customerStorage?: CustomerStorage;
    /** The built dashboard, served at `/`. */ dashboardDir?: string;
  } = {
    port: 0,
  },
): Promise<LocalServer> {
  const api = apiRouter(services);
  const ingest = ingestRouter(services.ingest, services.clock);
  const local = localRouter(tokens, services, options.customerStorage);

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (options.dashboardDir && req.method === 'GET' && !/^\/(v1|ingest|local)(\/|$)/.test(url.pathname)) {
        await serveDashboardFile(options.dashboardDir, url.pathname, res);
        return;
      }
      const router = url.pathname.startsWith('/ingest') ? ingest : url.pathname.startsWith('/local') ? local : api;
      let body: string | undefined;
      try {
        body = decodeBody(await readBody(req));
      } catch (error) {
        send(res, router.refuse(error));
        return;
      }
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : v]),
      );
      const request: HttpRequest = {
        method: (req.method ?? 'GET').toUpperCase(),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body,
      };
      if (router === api) request.caller = await tokens.verify(headers.authorization);
      send(res, await router.handle(request));
    })().catch((error: unknown) => {
      logger.error('Local server failed to answer', { error: error as Error });
      if (!res.headersSent)
        send(res, {
          status: 500,
          body: { error: { code: 'internal_error', message: 'Something went wrong on our side.' } },
        });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
