/**
 * The service as the Lambdas run it, in-process: API Gateway events through the same entry function
 * (body limits, routing, validation, error mapping) into the local wiring's real adapters, on one
 * shared set of emulators. For suites that send thousands of requests (fuzzing, the tenant matrix),
 * where a server round trip per request would only add time. `snapshot()` reads everything stored.
 */
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type { EnvironmentWithIngestKey, Organization } from '../../lambdas/core/model';
import { apiRouter } from '../../lambdas/http/api-routes';
import { handleApiGateway } from '../../lambdas/http/apigateway';
import { ingestRouter } from '../../lambdas/http/ingest-routes';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import {
  LOCAL_EXPORTS_BUCKET,
  LOCAL_RAW_EVENTS_BUCKET,
  localServices,
  type LocalServices,
} from '../../lambdas/local/wiring';
import type { Clock } from '../../lambdas/ports';

export interface InProcessRequest {
  method: string;
  /** Raw path, percent-encoded as on the wire. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Text, or bytes (sent base64-encoded, as API Gateway passes binary bodies). */
  body?: string | Uint8Array;
  /** The verified token's claims (API Gateway's JWT authorizer); none for an anonymous call. */
  claims?: { org: string; role: string };
}

export interface InProcessResponse {
  status: number;
  body: any;
}

export interface StoredState {
  tables: Record<string, unknown[]>;
  schedules: Record<string, number | undefined>;
}

export interface InProcessService {
  services: LocalServices;
  clients: EmulatorClients;
  emulators: RunningEmulators;
  /** A bucket of the S3 emulator that destinations may point at (access key id S3RVER). */
  customerBucket: string;
  send(request: InProcessRequest): Promise<InProcessResponse>;
  /** Every item of both tables, and the schedules of the given environments, once background work is done. */
  snapshot(environmentIds: string[]): Promise<StoredState>;
  stop(): Promise<void>;
}

export const CUSTOMER_BUCKET = 'customer-bucket';

export async function startInProcessService(options: { clock?: Clock } = {}): Promise<InProcessService> {
  const emulators = await startEmulators({ buckets: [LOCAL_EXPORTS_BUCKET, CUSTOMER_BUCKET, LOCAL_RAW_EVENTS_BUCKET] });
  const clients = createEmulatorClients(emulators);
  const suffix = randomBytes(4).toString('hex');
  const tables = {
    configTable: `config-${suffix}`,
    usageTable: `usage-${suffix}`,
    profilesTable: `profiles-${suffix}`,
  };
  await ensureTables(clients.dynamodb, tables);
  const services = await localServices(clients, { tables, clock: options.clock });
  const api = apiRouter(services);
  const ingest = ingestRouter(services.ingest, services.clock);

  const scan = async (tableName: string): Promise<unknown[]> => {
    const items: unknown[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await clients.documentClient.send(
        new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };

  return {
    services,
    clients,
    emulators,
    customerBucket: CUSTOMER_BUCKET,
    send: async ({ method, path, query, headers = {}, body, claims }) => {
      const binary = body instanceof Uint8Array;
      const event = {
        version: '2.0',
        routeKey: '$default',
        rawPath: path,
        rawQueryString: new URLSearchParams(query).toString(),
        headers,
        queryStringParameters: query,
        body: body === undefined ? undefined : binary ? Buffer.from(body).toString('base64') : body,
        isBase64Encoded: binary,
        requestContext: {
          http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'fuzz' },
          authorizer: { jwt: { claims: claims ?? {}, scopes: [] } },
        },
      } as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
      const result = await handleApiGateway(path.startsWith('/ingest') ? ingest : api, event);
      const { statusCode, body: text } = result as { statusCode: number; body?: string };
      return { status: statusCode, body: text ? JSON.parse(text) : undefined };
    },
    snapshot: async (environmentIds) => {
      await services.dispatcher.idle();
      // Buffered raw events written first, so the log's objects are part of what was stored.
      await services.rawLog.flush();
      const [config, usage, profiles, rawEvents] = await Promise.all([
        scan(tables.configTable),
        scan(tables.usageTable),
        scan(tables.profilesTable),
        clients.s3
          .send(new ListObjectsV2Command({ Bucket: LOCAL_RAW_EVENTS_BUCKET }))
          .then(({ Contents = [] }) => Contents.map((o) => o.Key)),
      ]);
      return {
        tables: { config, usage, profiles, rawEvents },
        schedules: Object.fromEntries(environmentIds.map((id) => [id, services.scheduler.nextFireAt(id)])),
      };
    },
    stop: async () => {
      await services.rawLog.close();
      await services.dispatcher.idle();
      clients.destroy();
      await emulators.stop();
    },
  };
}

/** Creates an organization and one environment through the API, as an operator would. */
export async function createTenant(
  service: InProcessService,
  name: string,
  plan: Organization['plan'],
): Promise<{ organization: Organization; environment: EnvironmentWithIngestKey }> {
  const operator = { org: 'ops', role: 'operator' };
  const organization = (
    await service.send({
      method: 'POST',
      path: '/v1/organizations',
      claims: operator,
      body: JSON.stringify({ name, plan }),
    })
  ).body;
  const environment = (
    await service.send({
      method: 'POST',
      path: `/v1/organizations/${organization.id}/environments`,
      claims: operator,
      body: JSON.stringify({ name: 'Production' }),
    })
  ).body;
  return { organization, environment };
}
