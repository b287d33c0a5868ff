/**
 * `npm start`: the whole service on this machine, no AWS account. Starts the emulators (data kept
 * under .local/), creates the tables, creates the demo tenant on first start, serves the API.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildDashboard } from '../../dashboard/build';
import { optionalInteger, optionalString } from '../config';
import { readIngestKeyGraceSeconds, type Services } from '../services';
import { LocalSecretSealer } from '../adapters/local/local-sealer';
import { hashIngestKey } from '../core/ingest-keys';
import { logger } from '../core/log';
import { DEFAULT_RAW_EXPORT_BUDGET_MS } from '../core/raw-revisions';
import { startCustomerStorage } from './customer-storage';
import { createDemoTenant, DEMO_CUSTOMER_BUCKET, DEMO_FEATURES } from './demo';
import { createEmulatorClients, ensureTables, startEmulators } from './emulators';
import { startLocalServer } from './server';
import { LocalTokens } from './tokens';
import { LOCAL_EXPORTS_BUCKET, LOCAL_RAW_EVENTS_BUCKET, LOCAL_TABLES, localServices } from './wiring';

interface DemoState {
  organizationId: string;
  environmentId: string;
  ingestKey: string;
}

function readSecret(path: string, generate: () => string = () => randomBytes(32).toString('base64url')): string {
  if (!existsSync(path)) writeFileSync(path, generate(), { mode: 0o600 });
  return readFileSync(path, 'utf8').trim();
}

/**
 * The demo tenant of an earlier start, if its data is still in the store. Data written before ingest
 * keys were stored hashed has environments without a key hash, whose keys no lookup finds: a new demo
 * tenant is created then (`rm -rf .local` removes the old data).
 */
async function existingDemo(services: Services, statePath: string): Promise<DemoState | undefined> {
  if (!existsSync(statePath)) return undefined;
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as DemoState;
  const environment = await services.tenants.getEnvironment(state.environmentId);
  if (!environment) return undefined;
  if (!environment.ingestKeyHash) {
    console.log(
      'The saved demo tenant predates hashed ingest keys: creating a new one (rm -rf .local removes the old data).',
    );
    return undefined;
  }
  if (hashIngestKey(state.ingestKey) !== environment.ingestKeyHash) {
    console.log(
      "The demo environment's ingest key was rotated: demo.json shows the first one, which works only during its grace period.",
    );
  }
  return state;
}

async function main(): Promise<void> {
  const localDir = resolve(optionalString(process.env, 'LOCAL_DIR', '.local'));
  const port = optionalInteger(process.env, 'PORT', 3000);
  mkdirSync(localDir, { recursive: true });

  const emulators = await startEmulators({
    dataDir: join(localDir, 'data'),
    buckets: [LOCAL_EXPORTS_BUCKET, DEMO_CUSTOMER_BUCKET, LOCAL_RAW_EVENTS_BUCKET],
    ports: {
      dynamodb: optionalInteger(process.env, 'LOCAL_DYNAMODB_PORT', port + 1),
      s3: optionalInteger(process.env, 'LOCAL_S3_PORT', port + 2),
      ses: optionalInteger(process.env, 'LOCAL_SES_PORT', port + 3),
    },
  });
  const clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, LOCAL_TABLES);
  const services = await localServices(clients, {
    sealingKey: readSecret(join(localDir, 'sealing-key'), () => LocalSecretSealer.generateKey()),
    scheduleFile: join(localDir, 'schedules.json'),
    dashboardUrl: optionalString(process.env, 'DASHBOARD_URL', `http://127.0.0.1:${port}`),
    ingestKeyGraceSeconds: readIngestKeyGraceSeconds(process.env),
  });
  const tokens = new LocalTokens(readSecret(join(localDir, 'signing-key')));

  const statePath = join(localDir, 'demo-state.json');
  let demo = await existingDemo(services, statePath);
  if (!demo) {
    console.log('Creating the demo tenant (first start)...');
    const created = await createDemoTenant(services);
    demo = {
      organizationId: created.organization.id,
      environmentId: created.environment.id,
      ingestKey: created.environment.ingestKey,
    };
    writeFileSync(statePath, JSON.stringify(demo, null, 2));
  }

  const customerStorage = await startCustomerStorage(
    emulators.s3Endpoint,
    optionalInteger(process.env, 'LOCAL_CUSTOMER_S3_PORT', port + 4),
  );
  const dashboardDir = buildDashboard({ config: { apiBaseUrl: '' } });
  const server = await startLocalServer(services, tokens, { port, customerStorage, dashboardDir });
  // The same expressions EventBridge Scheduler fires on AWS, and the hourly failure check's rule.
  services.scheduler.start(
    async (environmentId, scheduledTime) => {
      await services.automaticExports.runScheduled(environmentId, scheduledTime);
    },
    {
      fireJob: async (request) => void (await services.exportJobService.runJob(request)),
      fireRawExport: async (environmentId, scheduledTime) =>
        void (await services.rawRevisions.run({
          environmentId,
          scheduledTime,
          budgetMs: DEFAULT_RAW_EXPORT_BUDGET_MS,
        })),
    },
  );
  const hourlyCheck = setInterval(() => {
    services.failureCheck
      .check()
      .catch((error: unknown) => logger.error('Failure check failed', { error: error as Error }));
  }, 3_600_000);
  hourlyCheck.unref();
  const memberToken = await tokens.mint(demo.organizationId, 'member');
  const operatorToken = await tokens.mint(demo.organizationId, 'operator');
  const info = {
    baseUrl: server.url,
    organizationId: demo.organizationId,
    environmentId: demo.environmentId,
    memberToken,
    operatorToken,
    ingestKey: demo.ingestKey,
    features: DEMO_FEATURES.map(({ id, key, name }) => ({ id, key, name })),
    s3Endpoint: emulators.s3Endpoint,
    sesEndpoint: emulators.sesEndpoint,
    dynamodbEndpoint: emulators.dynamodbEndpoint,
    customerStorageEndpoint: customerStorage.endpoint,
    customerBucket: DEMO_CUSTOMER_BUCKET,
    rawEventsBucket: LOCAL_RAW_EVENTS_BUCKET,
    // Signed in as the demo member: the token travels in the fragment, which no server or log sees.
    dashboardUrl: `${server.url}/environments/${demo.environmentId}/settings/data-export#token=${memberToken}`,
  };
  writeFileSync(join(localDir, 'demo.json'), JSON.stringify(info, null, 2));

  console.log(`
Data export service running at ${server.url}
  dashboard                  ${info.dashboardUrl}
  DynamoDB (dynalite)        ${emulators.dynamodbEndpoint}
  S3 (s3rver)                ${emulators.s3Endpoint}
  SES (aws-ses-v2-local)     ${emulators.sesEndpoint}  (sent emails: ${emulators.sesEndpoint}/)
  customer storage (S3 API)  ${customerStorage.endpoint}  (bucket ${DEMO_CUSTOMER_BUCKET}, key S3RVER, any secret)

Demo organization ${demo.organizationId} (enterprise), environment ${demo.environmentId}
  member token:    ${memberToken}
  operator token:  ${operatorToken}
  ingest key:      ${demo.ingestKey}
All of this is in ${join(localDir, 'demo.json')}.

Try:
  export BASE=${server.url} TOKEN=$(node -p "require('./.local/demo.json').memberToken") ENV=${demo.environmentId}
  curl -s $BASE/v1/environments/$ENV -H "Authorization: Bearer $TOKEN"
  curl -s $BASE/v1/environments/$ENV/features -H "Authorization: Bearer $TOKEN"
  curl -s -X POST $BASE/ingest/event -H "Authorization: Bearer ${demo.ingestKey}" \\
    -H 'content-type: application/json' -d '{"event":"dashboard_viewed","userId":"u1","companyId":"company-000001"}'

Ctrl-C stops everything.`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping...');
    clearInterval(hourlyCheck);
    services.scheduler.stop();
    await server.close();
    // Buffered raw events reach the bucket before the emulators stop: a 200 answered is never lost.
    await services.rawLog
      .close()
      .catch((error: unknown) =>
        logger.error('Raw events could not be written at shutdown', { error: error as Error }),
      );
    await customerStorage.close();
    await services.dispatcher.idle();
    clients.destroy();
    await emulators.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error('Local mode failed to start:', error);
  process.exit(1);
});
