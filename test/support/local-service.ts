/** Starts the whole local service on in-memory emulators and random ports, for e2e tests. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDashboard } from '../../dashboard/build';
import type { Role } from '../../lambdas/core/access';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import { startCustomerStorage, type CustomerStorage } from '../../lambdas/local/customer-storage';
import { startLocalServer } from '../../lambdas/local/server';
import { LocalTokens } from '../../lambdas/local/tokens';
import {
  LOCAL_EXPORTS_BUCKET,
  LOCAL_RAW_EVENTS_BUCKET,
  localServices,
  type LocalServices,
} from '../../lambdas/local/wiring';
import type { Clock } from '../../lambdas/ports';

export interface TestService {
  url: string;
  services: LocalServices;
  clients: EmulatorClients;
  emulators: RunningEmulators;
  /** The simulated customer storage in front of the local S3, when asked for (bucket CUSTOMER_BUCKET). */
  customerStorage?: CustomerStorage;
  token(organizationId: string, role?: Role): Promise<string>;
  /** fetch against the service with JSON in and out. */
  call(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export const CUSTOMER_BUCKET = 'customer-bucket';

/** An email as aws-ses-v2-local stores it. */
export interface StoredEmail {
  subject: string;
  from: string;
  destination: { to: string[] };
  body: { text: string; html: string };
}

/** The emails the local SES has received for `address`, oldest first. */
export async function emailsTo(service: TestService, address: string): Promise<StoredEmail[]> {
  const { emails } = (await (await fetch(`${service.emulators.sesEndpoint}/store`)).json()) as {
    emails: StoredEmail[];
  };
  return emails.filter((email) => email.destination.to.includes(address));
}

/** Grants or revokes the simulated customer storage's bucket policy for the service's export role. */
export const setBucketPolicy = (service: TestService, state: 'granted' | 'revoked') =>
  service.call('POST', '/local/customer-storage', { body: { bucketPolicy: state } });

export async function startTestService(
  options: { clock?: Clock; rawEventsFlushIntervalMs?: number; customerStorage?: boolean } = {},
): Promise<TestService> {
  const emulators = await startEmulators({
    buckets: [LOCAL_EXPORTS_BUCKET, LOCAL_RAW_EVENTS_BUCKET, ...(options.customerStorage ? [CUSTOMER_BUCKET] : [])],
  });
  const clients = createEmulatorClients(emulators);
  const suffix = randomBytes(4).toString('hex');
  const tables = {
    configTable: `config-${suffix}`,
    usageTable: `usage-${suffix}`,
    profilesTable: `profiles-${suffix}`,
  };
  await ensureTables(clients.dynamodb, tables);
  const services = await localServices(clients, {
    tables,
    clock: options.clock,
    rawEventsFlushIntervalMs: options.rawEventsFlushIntervalMs,
  });
  const tokens = new LocalTokens(randomBytes(32).toString('hex'));
  const dashboardDir = buildDashboard({
    outDir: mkdtempSync(join(tmpdir(), 'dashboard-')),
    config: { apiBaseUrl: '' },
  });
  const customerStorage = options.customerStorage ? await startCustomerStorage(emulators.s3Endpoint) : undefined;
  const server = await startLocalServer(services, tokens, { port: 0, dashboardDir, customerStorage });
  return {
    url: server.url,
    services,
    clients,
    emulators,
    customerStorage,
    token: (organizationId, role = 'member') => tokens.mint(organizationId, role),
    call: async (method, path, { token, body, headers } = {}) => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    stop: async () => {
      await server.close();
      await customerStorage?.close();
      await services.rawLog.close();
      await services.dispatcher.idle();
      clients.destroy();
      await emulators.stop();
      rmSync(dashboardDir, { recursive: true, force: true });
    },
  };
}
