/**
 * Secrets and tokens never reach the logs: a whole flow on the local service (settings saved with a
 * secret access key, items ingested with the ingest key, a refused key, a manual export, a scheduled run
 * that fails at the customer's storage, the failure check) with every log line captured at DEBUG, then
 * searched for the secret access key, the bearer tokens and the ingest keys.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { logger } from '../../lambdas/core/log';
import { startCustomerStorage, type CustomerStorage } from '../../lambdas/local/customer-storage';
import { startTestService, type TestService } from '../support/local-service';

const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCY-never-logged';
const BUCKET = 'customer-exports';
const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

let service: TestService;
let proxy: CustomerStorage;
const output: string[] = [];
const secrets: Record<string, string> = { secretAccessKey: SECRET_ACCESS_KEY };
const restores: (() => void)[] = [];

/** Everything written to the console and to stdout/stderr while the flow runs. */
function captureOutput(): void {
  for (const method of CONSOLE_METHODS) {
    const spy = jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      output.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
    });
    restores.push(() => spy.mockRestore());
  }
  for (const stream of [process.stdout, process.stderr]) {
    const spy = jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    });
    restores.push(() => spy.mockRestore());
  }
  logger.setLogLevel('DEBUG');
  restores.push(() => logger.setLogLevel('SILENT'));
}

beforeAll(async () => {
  service = await startTestService();
  await service.clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  proxy = await startCustomerStorage(service.emulators.s3Endpoint);
  captureOutput();
  try {
    const operator = await service.token('ops', 'operator');
    const org = (
      await service.call('POST', '/v1/organizations', {
        token: operator,
        body: { name: 'Secret Co', plan: 'enterprise' },
      })
    ).body;
    const environment = (
      await service.call('POST', `/v1/organizations/${org.id}/environments`, {
        token: operator,
        body: { name: 'Production' },
      })
    ).body;
    const member = await service.token(org.id);
    Object.assign(secrets, { operatorToken: operator, memberToken: member, ingestKey: environment.ingestKey });
    const envPath = `/v1/environments/${environment.id}`;

    const ingest = (key: string) =>
      service.call('POST', '/ingest/event', {
        headers: { authorization: `Bearer ${key}` },
        body: { userId: 'alice', event: 'report_run', companyId: 'acme', attributes: { rows: 3 } },
      });
    expect((await ingest(environment.ingestKey)).status).toBe(200);
    const wrongKey = `${environment.ingestKey.slice(0, -4)}zzzz`;
    secrets.wrongIngestKey = wrongKey;
    expect((await ingest(wrongKey)).status).toBe(401);

    const version = (await service.call('GET', `${envPath}/data-export/settings`, { token: member })).body.version;
    const saved = await service.call('PUT', `${envPath}/data-export/settings`, {
      token: member,
      body: {
        version,
        enabled: true,
        cadence: 'daily',
        provider: 'Custom',
        bucket: BUCKET,
        region: 'us-east-1',
        key: 'warehouse',
        endpoint: proxy.endpoint,
        accessKeyId: 'S3RVER',
        secretAccessKey: SECRET_ACCESS_KEY,
        notifyEmails: ['data-team@customer.example'],
      },
    });
    expect(saved.status).toBe(200);

    const started = await service.call('POST', `${envPath}/exports/manual`, {
      token: member,
      body: { aggregation: '30d-daily' },
    });
    expect(started.status).toBe(202);
    await service.services.dispatcher.idle();
    expect(
      (await service.call('GET', `${envPath}/exports/manual/${started.body.id}`, { token: member })).body.status,
    ).toBe('done');

    // The customer revokes the key: the scheduled run fails at their storage, and the check warns them.
    proxy.mode = 'revoked';
    const run = await service.call('POST', '/local/scheduler/fire', {
      body: { envId: environment.id, scheduledTime: new Date().toISOString() },
    });
    expect(run.body).toMatchObject({ outcome: 'failed', errorCode: 'access_denied' });
    expect((await service.call('POST', '/local/check-failures', { body: {} })).status).toBe(200);
  } finally {
    for (const restore of restores.reverse()) restore();
  }
});

afterAll(async () => {
  await proxy?.close();
  await service?.stop();
});

it('logged the flow (the failed run with its error among it)', () => {
  expect(output.join('\n')).toContain('Scheduled export failed');
});

it.each(['secretAccessKey', 'operatorToken', 'memberToken', 'ingestKey', 'wrongIngestKey'])(
  'no log line holds the %s',
  (name) => {
    const secret = secrets[name];
    expect(secret.length).toBeGreaterThan(12);
    expect(output.filter((line) => line.includes(secret))).toEqual([]);
  },
);
