/**
 * The Lambda entry points (lambdas/handlers), each loaded with the environment variables the
 * synthesized CDK template gives its function, as the Lambda runtime would (plus what the runtime adds:
 * region, credentials, the function's own name). DynamoDB and SES are the emulators (through the SDK's
 * `AWS_ENDPOINT_URL_<SERVICE>` variables); Lambda, Scheduler, KMS, Firehose and S3 are
 * `aws-sdk-client-mock` stubs (no emulator for the first four; the handlers' S3 clients are built for AWS and cannot be
 * pointed at s3rver, whose behaviour the S3 adapters' own tests cover).
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { AwsStub } from 'aws-sdk-client-mock';
import {
  DynamoDbAutomaticExportSettingsStore,
  DynamoDbExportRunStore,
} from '../../lambdas/adapters/dynamodb/automatic-export-stores';
import { DynamoDbManualExportStore } from '../../lambdas/adapters/dynamodb/manual-export-store';
import { DynamoDbDestinationStore, DynamoDbExportJobStore } from '../../lambdas/adapters/dynamodb/export-job-stores';
import { DynamoDbRawExportStore } from '../../lambdas/adapters/dynamodb/raw-export-store';
import { DynamoDbTenantStore } from '../../lambdas/adapters/dynamodb/tenant-store';
import { DynamoDbUsageStore } from '../../lambdas/adapters/dynamodb/usage-store';
import {
  readApiConfig,
  readFailureCheckConfig,
  readRunExportConfig,
  readStoreConfig,
} from '../../lambdas/adapters/aws-wiring';
import { ConfigurationError, type Environment } from '../../lambdas/config';
import { storedIngestKey } from '../../lambdas/core/ingest-keys';
import { encodeRawRecord, hourPrefix, type RawRecord } from '../../lambdas/core/raw-log';
import { destinationOf, jobOf } from '../support/export-job-store-contracts';
import {
  createEmulatorClients,
  EMULATOR_CREDENTIALS,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import {
  synthesizeFunctionEnvironments,
  TEST_CONTEXT,
  TEST_REGION,
  type FunctionEnvironments,
} from '../support/function-environments';

type Stub = AwsStub<any, any, any>;
interface Loaded {
  handler: (...args: any[]) => Promise<any>;
  lambda: Stub;
  scheduler: Stub;
  kms: Stub;
  s3: Stub;
  firehose: Stub;
  /** The handler's own copies of the SDK modules (its module registry is separate from the test's). */
  sdk: { lambda: any; kms: any; s3: any };
}

const RUN_EXPORT_FUNCTION_NAME = 'DataExport-test-RunExportFunction';
const runtimeOf = (functionName: string) => ({ AWS_LAMBDA_FUNCTION_NAME: functionName });

let environments: FunctionEnvironments;
let emulators: RunningEmulators;
let clients: EmulatorClients;
let tenants: DynamoDbTenantStore;
const originalEnv = process.env;

beforeAll(async () => {
  environments = synthesizeFunctionEnvironments();
  emulators = await startEmulators();
  clients = createEmulatorClients(emulators);
  // The tables the template names, created on dynalite.
  await ensureTables(clients.dynamodb, {
    configTable: environments.api.CONFIG_TABLE,
    usageTable: environments.api.USAGE_TABLE,
    profilesTable: environments.ingest.PROFILES_TABLE,
  });
  tenants = new DynamoDbTenantStore({ client: clients.documentClient, tableName: environments.api.CONFIG_TABLE });
  // What the Lambda runtime gives every function, with the emulators' endpoints.
  process.env = {
    ...originalEnv,
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamodbEndpoint,
    AWS_ENDPOINT_URL_SESV2: emulators.sesEndpoint,
  };
});

afterAll(async () => {
  process.env = originalEnv;
  clients?.destroy();
  await emulators?.stop();
});

/** Loads a handler module afresh with `functionEnvironment`, its AWS clients without an emulator stubbed. */
function load(file: string, functionEnvironment: Environment, runtime: Environment = {}): Loaded {
  const previous = process.env;
  process.env = { ...previous, ...functionEnvironment, ...runtime };
  try {
    let loaded: Loaded | undefined;
    jest.isolateModules(() => {
      // A fresh module registry is only reachable through synchronous `require` inside this callback.
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { mockClient } = require('aws-sdk-client-mock');
      const sdk = {
        lambda: require('@aws-sdk/client-lambda'),
        kms: require('@aws-sdk/client-kms'),
        s3: require('@aws-sdk/client-s3'),
      };
      const stubs = {
        lambda: mockClient(sdk.lambda.LambdaClient),
        scheduler: mockClient(require('@aws-sdk/client-scheduler').SchedulerClient),
        kms: mockClient(sdk.kms.KMSClient),
        s3: mockClient(sdk.s3.S3Client),
        firehose: mockClient(require('@aws-sdk/client-firehose').FirehoseClient),
      };
      loaded = { handler: require(`../../lambdas/handlers/${file}`).handler, ...stubs, sdk };
      /* eslint-enable @typescript-eslint/no-require-imports */
    });
    return loaded!;
  } finally {
    process.env = previous;
  }
}

/** The asynchronous invocations a loaded handler made: the function, the invocation type, the event. */
function invocationsOf(loaded: Loaded): { FunctionName: string; InvocationType: string; event: unknown }[] {
  return loaded.lambda.commandCalls(loaded.sdk.lambda.InvokeCommand).map((call) => {
    const { FunctionName, InvocationType, Payload } = call.args[0].input;
    return { FunctionName, InvocationType, event: JSON.parse(Buffer.from(Payload).toString()) };
  });
}

function apiEvent(
  method: string,
  path: string,
  options: { claims?: Record<string, unknown>; body?: unknown; headers?: Record<string, string> } = {},
) {
  const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body)).toString('base64');
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...options.headers },
    body,
    isBase64Encoded: body !== undefined,
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'test' },
      authorizer: options.claims && { jwt: { claims: options.claims, scopes: [] } },
    },
  };
}

/** What the Lambda runtime passes every invocation (the fields the handlers and Powertools read). */
function lambdaContext(functionName: string, remainingMs = 120_000) {
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${TEST_REGION}:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `request-${functionName}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => remainingMs,
  };
}

const parse = (response: { statusCode: number; body: string }) => ({
  status: response.statusCode,
  body: JSON.parse(response.body || 'null'),
});

let orgCounter = 0;
/** An organization with one environment, created through the tenant store of the template's table. */
async function tenant(plan: 'free' | 'pro' | 'enterprise') {
  const n = ++orgCounter;
  const organization = { id: `org_h${n}`, name: `Tenant ${n}`, plan, createdAt: 1 };
  const ingestKey = `ik_handlers_test_key_${n}`;
  const { hash, prefix } = storedIngestKey(ingestKey);
  const environment = {
    id: `env_h${n}`,
    organizationId: organization.id,
    name: 'Production',
    ingestKeyHash: hash,
    ingestKeyPrefix: prefix,
    createdAt: 1,
  };
  await tenants.createOrganization(organization);
  await tenants.createEnvironment(environment);
  return { organization, environment, ingestKey };
}

describe('configuration readers, with the template environment', () => {
  /**
   * Every variable the template gives a function is either not needed by its reader or, when missing,
   * fails the reader loudly, naming it; returns those the reader needs.
   */
  function requiredVariables(reader: (env: Environment) => unknown, env: Environment): string[] {
    expect(() => reader(env)).not.toThrow();
    const required: string[] = [];
    for (const name of Object.keys(env)) {
      const { [name]: _removed, ...without } = env;
      let failure: unknown;
      try {
        reader(without);
      } catch (error) {
        failure = error;
      }
      if (failure === undefined) continue;
      expect(failure).toBeInstanceOf(ConfigurationError);
      expect((failure as Error).message).toContain(name);
      required.push(name);
    }
    return required.sort();
  }

  test('api: reads tables, bucket, key, run-export function and schedule settings', () => {
    expect(requiredVariables(readApiConfig, environments.api)).toEqual(
      [
        'CONFIG_TABLE',
        'USAGE_TABLE',
        'EXPORTS_BUCKET',
        'EXPORT_FUNCTION_NAME',
        'SECRETS_KEY_ID',
        'SCHEDULE_GROUP_NAME',
        'SCHEDULER_ROLE_ARN',
        'RUN_EXPORT_FUNCTION_ARN',
        'SCHEDULE_DLQ_ARN',
        'EXPORT_ROLE_ARN',
        'RAW_EVENTS_BUCKET',
      ].sort(),
    );
    const env = environments.api;
    expect(readApiConfig(env)).toEqual({
      configTable: env.CONFIG_TABLE,
      usageTable: env.USAGE_TABLE,
      exportsBucket: env.EXPORTS_BUCKET,
      exportFunctionName: env.EXPORT_FUNCTION_NAME,
      downloadLinkSeconds: Number(env.DOWNLOAD_LINK_SECONDS),
      secretsKeyId: env.SECRETS_KEY_ID,
      exportRoleArn: env.EXPORT_ROLE_ARN,
      rawEventsBucket: env.RAW_EVENTS_BUCKET,
      ingestKeyGraceSeconds: Number(env.INGEST_KEY_GRACE_SECONDS),
      schedule: {
        groupName: env.SCHEDULE_GROUP_NAME,
        roleArn: env.SCHEDULER_ROLE_ARN,
        targetArn: env.RUN_EXPORT_FUNCTION_ARN,
        deadLetterArn: env.SCHEDULE_DLQ_ARN,
        flexibleWindowMinutes: Number(env.SCHEDULE_FLEXIBLE_WINDOW_MINUTES),
      },
    });
    // The schedules' target is the run-export function the API dispatches manual exports to.
    expect(env.RUN_EXPORT_FUNCTION_ARN).toContain(env.EXPORT_FUNCTION_NAME);
  });

  test('run-export: its own function name (from the runtime) is the dispatch target of the jobs it starts; job runs read the raw log and profiles', () => {
    const env: Record<string, string> = { ...environments.runExport, ...runtimeOf(RUN_EXPORT_FUNCTION_NAME) };
    expect(requiredVariables(readRunExportConfig, env)).toEqual(
      [
        'CONFIG_TABLE',
        'USAGE_TABLE',
        'EXPORTS_BUCKET',
        'SECRETS_KEY_ID',
        'EXPORT_ROLE_ARN',
        'AWS_LAMBDA_FUNCTION_NAME',
        'RAW_EVENTS_BUCKET',
        'PROFILES_TABLE',
      ].sort(),
    );
    expect(readRunExportConfig(env)).toMatchObject({
      exportFunctionName: RUN_EXPORT_FUNCTION_NAME,
      downloadLinkSeconds: 3600,
      rawEventsBucket: env.RAW_EVENTS_BUCKET,
      profilesTable: env.PROFILES_TABLE,
    });
    // The raw log's bucket and the profiles table are those of the stack's raw event log and ingest.
    expect(env.PROFILES_TABLE).toBe(environments.ingest.PROFILES_TABLE);
    expect(readRunExportConfig(env).schedule).toBeUndefined();
    // Only run-export runs profile jobs; the API lists the raw log (the raw export's status) too.
    expect(readApiConfig(environments.api).profilesTable).toBeUndefined();
    expect(readApiConfig(environments.api).rawEventsBucket).toBe(env.RAW_EVENTS_BUCKET);
  });

  test('check-failures and ingest', () => {
    expect(requiredVariables(readFailureCheckConfig, environments.checkFailures)).toEqual(
      [
        'CONFIG_TABLE',
        'EXPORT_FUNCTION_NAME',
        'SENDER_EMAIL',
        'DASHBOARD_URL',
        'SCHEDULE_GROUP_NAME',
        'SCHEDULER_ROLE_ARN',
        'RUN_EXPORT_FUNCTION_ARN',
        'SCHEDULE_DLQ_ARN',
      ].sort(),
    );
    expect(readFailureCheckConfig(environments.checkFailures)).toMatchObject({
      senderEmail: TEST_CONTEXT.senderEmail,
      dashboardUrl: TEST_CONTEXT.dashboardUrl,
    });
    expect(requiredVariables(readStoreConfig, environments.ingest)).toEqual(['CONFIG_TABLE', 'USAGE_TABLE']);
  });

  test('a blank or malformed value fails as loudly as a missing one', () => {
    expect(() => readStoreConfig({ ...environments.ingest, USAGE_TABLE: '  ' })).toThrow(/USAGE_TABLE must be set/);
    expect(() => readApiConfig({ ...environments.api, DOWNLOAD_LINK_SECONDS: '1h' })).toThrow(
      new ConfigurationError('Invalid configuration: DOWNLOAD_LINK_SECONDS must be an integer, got "1h".'),
    );
  });

  test.each([
    ['api', 'SCHEDULE_GROUP_NAME', 'api'],
    ['ingest', 'USAGE_TABLE', 'ingest'],
    ['run-export', 'EXPORTS_BUCKET', 'runExport'],
    ['run-export', 'RAW_EVENTS_BUCKET', 'runExport'],
    ['run-export', 'PROFILES_TABLE', 'runExport'],
    ['check-failures', 'SENDER_EMAIL', 'checkFailures'],
  ] as const)('the %s handler does not load without %s', (file, missing, fn) => {
    const { [missing]: _removed, ...env } = environments[fn] as Environment;
    expect(() => load(file, env, runtimeOf(RUN_EXPORT_FUNCTION_NAME))).toThrow(
      `environment variable ${missing} must be set`,
    );
  });
});

describe('api handler', () => {
  let api: Loaded;
  beforeAll(() => {
    api = load('api', environments.api);
  });
  const call = async (method: string, path: string, options?: Parameters<typeof apiEvent>[2]) =>
    parse(await api.handler(apiEvent(method, path, options), lambdaContext('DataExport-test-ApiFunction')));

  test('an operator creates an organization and an environment in the template tables (base64 bodies)', async () => {
    const operator = { org: 'org_operators', role: 'operator' };
    const created = await call('POST', '/v1/organizations', {
      claims: operator,
      body: { name: 'Zoë Co', plan: 'pro' },
    });
    expect(created).toMatchObject({ status: 201, body: { name: 'Zoë Co', plan: 'pro' } });
    expect(await tenants.getOrganization(created.body.id)).toMatchObject({ name: 'Zoë Co', plan: 'pro' });

    const environment = await call('POST', `/v1/organizations/${created.body.id}/environments`, {
      claims: operator,
      body: { name: 'Production' },
    });
    expect(environment.status).toBe(201);
    // A token without a role is a member of its organization.
    const read = await call('GET', `/v1/environments/${environment.body.id}`, { claims: { org: created.body.id } });
    expect(read).toMatchObject({ status: 200, body: { id: environment.body.id, name: 'Production' } });
  });

  test('a token without a role, or with an unknown one, is not an operator', async () => {
    for (const claims of [{ org: 'org_x' }, { org: 'org_x', role: 'member' }]) {
      expect((await call('POST', '/v1/organizations', { claims, body: { name: 'Nope', plan: 'pro' } })).status).toBe(
        403,
      );
    }
    const unknownRole = await call('POST', '/v1/organizations', {
      claims: { org: 'org_x', role: 'admin' },
      body: { name: 'Nope', plan: 'pro' },
    });
    expect(unknownRole).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect((await call('GET', '/v1/environments/env_h1', { claims: { role: 'operator' } })).status).toBe(401);
  });

  test("another organization's environment is not found", async () => {
    const { environment } = await tenant('pro');
    expect(
      (await call('GET', `/v1/environments/${environment.id}`, { claims: { org: 'org_other', role: 'member' } }))
        .status,
    ).toBe(404);
  });

  test('a manual export is handed to the run-export function the template names, asynchronously', async () => {
    const { organization, environment } = await tenant('pro');
    api.lambda.reset().resolves({ StatusCode: 202 });
    const started = await call('POST', `/v1/environments/${environment.id}/exports/manual`, {
      claims: { org: organization.id, role: 'member' },
      body: { aggregation: 'snapshot' },
    });
    expect(started).toMatchObject({ status: 202, body: { status: 'pending' } });
    expect(invocationsOf(api)).toEqual([
      {
        FunctionName: environments.api.EXPORT_FUNCTION_NAME,
        InvocationType: 'Event',
        event: { kind: 'manual-export', environmentId: environment.id, jobId: started.body.id },
      },
    ]);
  });

  test('a failed dispatch answers 500 without the SDK error', async () => {
    const { organization, environment } = await tenant('pro');
    api.lambda.reset().rejects(new Error('Rate exceeded for arn:aws:lambda:secret'));
    const response = await call('POST', `/v1/environments/${environment.id}/exports/manual`, {
      claims: { org: organization.id, role: 'member' },
      body: { aggregation: 'snapshot' },
    });
    expect(response).toEqual({
      status: 500,
      body: { error: { code: 'internal_error', message: 'Something went wrong on our side. Please try again.' } },
    });
  });
});

describe('ingest handler', () => {
  /** Firehose takes every record, or refuses every one (throttled) as PutRecordBatch reports it. */
  const firehoseAnswers = (loaded: Loaded, refuse: boolean) =>
    loaded.firehose.callsFake((input: { Records: unknown[] }) => ({
      FailedPutCount: refuse ? input.Records.length : 0,
      RequestResponses: input.Records.map((_, index) =>
        refuse ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' } : { RecordId: `r${index}` },
      ),
    }));
  const sentRecords = (loaded: Loaded) =>
    loaded.firehose
      .calls()
      .flatMap((call) =>
        (call.args[0].input as { Records: { Data: Uint8Array }[] }).Records.map((r) =>
          JSON.parse(Buffer.from(r.Data).toString('utf8')),
        ),
      );

  test('accepts tracking data with the environment key into the template stream and usage table; refuses a wrong key', async () => {
    const ingest = load('ingest', environments.ingest);
    firehoseAnswers(ingest, false);
    const { environment, ingestKey } = await tenant('pro');
    const company = (key: string) =>
      ingest.handler(
        apiEvent('POST', '/ingest/company', {
          headers: { authorization: `Bearer ${key}` },
          body: { companyId: 'c1', attributes: { name: 'Acme' } },
        }),
        lambdaContext('DataExport-test-IngestFunction'),
      );
    expect(parse(await company(ingestKey))).toEqual({ status: 200, body: { success: true } });
    expect(parse(await company('ik_not_the_key_of_anyone')).status).toBe(401);

    expect(ingest.firehose.calls().map((call) => call.args[0].input.DeliveryStreamName)).toEqual([
      environments.ingest.RAW_EVENTS_STREAM,
    ]);
    expect(sentRecords(ingest)).toEqual([
      expect.objectContaining({
        environmentId: environment.id,
        type: 'company',
        companyId: 'c1',
        attributes: { name: 'Acme' },
      }),
    ]);
    const usage = new DynamoDbUsageStore({
      client: clients.documentClient,
      tableName: environments.ingest.USAGE_TABLE,
    });
    const stored = [];
    for await (const c of usage.streamCompanyUsage(environment.id)) stored.push(c.company);
    expect(stored).toEqual([expect.objectContaining({ companyId: 'c1', attributes: { name: 'Acme' } })]);
  });

  test('answers 503 and stores nothing when the stream keeps refusing the records', async () => {
    const ingest = load('ingest', environments.ingest);
    firehoseAnswers(ingest, true);
    const { environment, ingestKey } = await tenant('pro');
    const response = parse(
      await ingest.handler(
        apiEvent('POST', '/ingest/company', {
          headers: { authorization: `Bearer ${ingestKey}` },
          body: { companyId: 'c2' },
        }),
        lambdaContext('DataExport-test-IngestFunction'),
      ),
    );
    expect(response).toMatchObject({
      status: 503,
      body: { success: false, error: { code: 'temporarily_unavailable' } },
    });
    expect(ingest.firehose.calls().length).toBeGreaterThan(1);
    const usage = new DynamoDbUsageStore({
      client: clients.documentClient,
      tableName: environments.ingest.USAGE_TABLE,
    });
    const stored = [];
    for await (const c of usage.streamCompanyUsage(environment.id)) stored.push(c.company);
    expect(stored).toEqual([]);
  });
});

describe('run-export handler', () => {
  let runExport: Loaded;
  const context = lambdaContext(RUN_EXPORT_FUNCTION_NAME);
  beforeAll(() => {
    runExport = load('run-export', environments.runExport, runtimeOf(RUN_EXPORT_FUNCTION_NAME));
  });
  beforeEach(() => {
    runExport.s3.reset();
    runExport.kms.reset();
  });

  test('refuses an event it does not know', async () => {
    await expect(runExport.handler({ kind: 'unknown-export', environmentId: 'env_1' }, context)).rejects.toMatchObject({
      name: 'ValidationError',
    });
    await expect(
      runExport.handler({ kind: 'scheduled-export', environmentId: 'env_1', scheduledTime: 'yesterday' }, context),
    ).rejects.toMatchObject({
      name: 'ValidationError',
    });
  });

  test('a manual export delivered twice runs once, into the exports bucket the template names', async () => {
    const { environment } = await tenant('pro');
    const jobs = new DynamoDbManualExportStore({
      client: clients.documentClient,
      tableName: environments.runExport.CONFIG_TABLE,
    });
    await jobs.create({
      id: 'exp_twice',
      environmentId: environment.id,
      aggregation: 'snapshot',
      status: 'pending',
      requestedAt: Date.now(),
    });
    runExport.s3.resolves({});
    const event = { kind: 'manual-export', environmentId: environment.id, jobId: 'exp_twice' };
    await Promise.all([runExport.handler(event, context), runExport.handler(event, context)]);

    const puts = runExport.s3.commandCalls(runExport.sdk.s3.PutObjectCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0].args[0].input).toMatchObject({
      Bucket: environments.runExport.EXPORTS_BUCKET,
      ContentType: 'text/csv; charset=utf-8',
    });
    expect(puts[0].args[0].input.Key).toMatch(new RegExp(`^manual/${environment.id}/exp_twice/`));
    expect(await jobs.get(environment.id, 'exp_twice')).toMatchObject({ status: 'done', rowCount: 0 });
  });

  test('a manual export that fails is recorded as failed, not retried', async () => {
    const { environment } = await tenant('pro');
    const jobs = new DynamoDbManualExportStore({
      client: clients.documentClient,
      tableName: environments.runExport.CONFIG_TABLE,
    });
    await jobs.create({
      id: 'exp_fails',
      environmentId: environment.id,
      aggregation: 'snapshot',
      status: 'pending',
      requestedAt: Date.now(),
    });
    runExport.s3.rejects(new Error('S3 is down'));
    await expect(
      runExport.handler({ kind: 'manual-export', environmentId: environment.id, jobId: 'exp_fails' }, context),
    ).resolves.toBeUndefined();
    expect(await jobs.get(environment.id, 'exp_fails')).toMatchObject({
      status: 'failed',
      error: 'The export failed on our side. Please start it again; if it keeps failing, contact support.',
    });
  });

  test('a raw-export event lists the raw log in the bucket the template names, and writes the guide files into the destination', async () => {
    const { environment } = await tenant('enterprise');
    const table = { client: clients.documentClient, tableName: environments.runExport.CONFIG_TABLE };
    await new DynamoDbDestinationStore(table).create({
      environmentId: environment.id,
      id: 'dst_raw',
      name: 'KM',
      destination: { provider: 'AWS', bucket: 'customer-bucket', region: 'eu-west-1', keyPrefix: 'km' },
      auth: {
        mode: 'accessKey',
        accessKeyId: 'AKIACUSTOMER',
        sealedSecretAccessKey: `kms:v1:${Buffer.from('ciphertext').toString('base64')}`,
      },
      createdAt: 1,
      updatedAt: 1,
      version: 1,
    });
    const store = new DynamoDbRawExportStore(table);
    await store.putSettings(
      {
        environmentId: environment.id,
        enabled: true,
        destinationId: 'dst_raw',
        notifyEmails: ['ops@customer.test'],
        updatedAt: 1,
        version: 1,
      },
      0,
    );
    runExport.kms.resolves({ Plaintext: Buffer.from('customer-secret') });
    runExport.s3.on(runExport.sdk.s3.ListObjectsV2Command).resolves({ Contents: [] });
    runExport.s3.on(runExport.sdk.s3.PutObjectCommand).resolves({});
    await expect(
      runExport.handler(
        { kind: 'raw-export', environmentId: environment.id, scheduledTime: '2026-03-02T12:00:00Z' },
        context,
      ),
    ).resolves.toBeUndefined();
    expect(runExport.s3.commandCalls(runExport.sdk.s3.ListObjectsV2Command)[0].args[0].input).toMatchObject({
      Bucket: environments.runExport.RAW_EVENTS_BUCKET,
      Prefix: `raw/${environment.id}/`,
    });
    const puts = runExport.s3.commandCalls(runExport.sdk.s3.PutObjectCommand).map((call) => call.args[0].input);
    expect(puts.map((input) => [input.Bucket, input.Key])).toEqual([
      ['customer-bucket', 'km/status.csv'],
      ['customer-bucket', 'km/index.csv'],
    ]);
    expect(await store.getProgress(environment.id)).toMatchObject({
      exportedRevisions: 0,
      totalRevisions: 0,
      lastStatus: 'successful',
    });
  });

  /** An enterprise environment with an enabled daily export into an AWS bucket. */
  async function scheduledExport() {
    const { environment } = await tenant('enterprise');
    const settings = new DynamoDbAutomaticExportSettingsStore({
      client: clients.documentClient,
      tableName: environments.runExport.CONFIG_TABLE,
    });
    await settings.put(
      {
        environmentId: environment.id,
        enabled: true,
        cadence: 'daily',
        destination: { provider: 'AWS', bucket: 'customer-bucket', region: 'eu-west-1', keyPrefix: 'exports' },
        accessKeyId: 'AKIACUSTOMER',
        sealedSecretAccessKey: `kms:v1:${Buffer.from('ciphertext').toString('base64')}`,
        notifyEmails: ['ops@customer.test'],
        updatedAt: 1,
        version: 1,
      },
      0,
    );
    const event = { kind: 'scheduled-export', environmentId: environment.id, scheduledTime: '2026-03-02T00:00:07Z' };
    const runs = new DynamoDbExportRunStore({
      client: clients.documentClient,
      tableName: environments.runExport.CONFIG_TABLE,
    });
    return { environment, event, runs };
  }

  test('a scheduled export that fails transiently is rethrown, so Lambda retries it', async () => {
    const { environment, event, runs } = await scheduledExport();
    runExport.kms.rejects(new Error('KMS throttled'));
    await expect(runExport.handler(event, context)).rejects.toMatchObject({
      name: 'RetryableRunError',
      message: 'The export failed on our side. It will be retried automatically.',
    });
    expect(await runs.getRun(environment.id, Date.parse('2026-03-02T00:00:00Z'))).toMatchObject({
      status: 'failed',
      errorCode: 'internal_error',
    });
    // A transient failure: retried and reported past 24 hours, no warning sequence for the customer.
    expect(await runs.getStatus(environment.id)).toMatchObject({ transientSince: expect.any(Number) });
    expect((await runs.getStatus(environment.id))?.failingSince).toBeUndefined();
  });

  test("a scheduled export refused by the customer's bucket is recorded, not retried", async () => {
    const { environment, event, runs } = await scheduledExport();
    runExport.kms.resolves({ Plaintext: Buffer.from('customer-secret') });
    runExport.s3.rejects(
      new runExport.sdk.s3.S3ServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'Access Denied',
      }),
    );
    await expect(runExport.handler(event, context)).resolves.toBeUndefined();
    // The secret was unsealed with the key the template names, bound to the environment.
    expect(runExport.kms.commandCalls(runExport.sdk.kms.DecryptCommand)[0].args[0].input).toMatchObject({
      KeyId: environments.runExport.SECRETS_KEY_ID,
      EncryptionContext: expect.objectContaining({ environmentId: environment.id }),
    });
    expect(await runs.getStatus(environment.id)).toMatchObject({
      lastStatus: 'failed',
      lastErrorCode: 'access_denied',
      failingSince: expect.any(Number),
    });
  });
});

describe('export jobs: from the API to run-export, with the template environments', () => {
  let api: Loaded;
  let runExport: Loaded;
  const context = lambdaContext(RUN_EXPORT_FUNCTION_NAME);
  beforeAll(() => {
    api = load('api', environments.api);
    runExport = load('run-export', environments.runExport, runtimeOf(RUN_EXPORT_FUNCTION_NAME));
  });
  const call = async (method: string, path: string, options?: Parameters<typeof apiEvent>[2]) =>
    parse(await api.handler(apiEvent(method, path, options), lambdaContext('DataExport-test-ApiFunction')));
  const jobs = () =>
    new DynamoDbExportJobStore({ client: clients.documentClient, tableName: environments.runExport.CONFIG_TABLE });

  /** An enterprise environment with a bucket-policy destination (the probe write answered by the S3 stub). */
  async function withDestination() {
    const { organization, environment } = await tenant('enterprise');
    const claims = { org: organization.id, role: 'member' };
    api.s3.reset().resolves({});
    const saved = await call('POST', `/v1/environments/${environment.id}/destinations`, {
      claims,
      body: {
        name: 'Warehouse',
        provider: 'AWS',
        bucketUrl: 'https://customer-warehouse.s3.eu-west-1.amazonaws.com/clevertap',
        auth: { mode: 'bucketPolicy' },
      },
    });
    expect(saved).toMatchObject({ status: 201, body: { auth: { mode: 'bucketPolicy' } } });
    return { environment, claims, destinationId: saved.body.id as string };
  }

  /** The raw event log of the S3 stub: `records` in one object of their receive hour, nothing elsewhere. */
  function rawLog(environmentId: string, records: RawRecord[]) {
    const s3 = runExport.sdk.s3;
    runExport.s3.reset();
    runExport.s3.on(s3.ListObjectsV2Command).callsFake((input: { Prefix: string }) => ({
      Contents: records.some((record) => hourPrefix(environmentId, record.receivedAt) === input.Prefix)
        ? [{ Key: `${input.Prefix}stream-1.jsonl.gz` }]
        : [],
    }));
    runExport.s3.on(s3.GetObjectCommand).callsFake(() => ({
      Body: Readable.from([gzipSync(records.map((record) => encodeRawRecord(record)).join(''))]),
    }));
    runExport.s3.on(s3.PutObjectCommand).resolves({});
  }
  const listedBuckets = () =>
    runExport.s3.commandCalls(runExport.sdk.s3.ListObjectsV2Command).map((c) => c.args[0].input.Bucket);

  test('a one-time job is dispatched to run-export asynchronously; the event runs it from the raw log the template names into the customer bucket', async () => {
    const { environment, claims, destinationId } = await withDestination();
    api.lambda.reset().resolves({ StatusCode: 202 });
    const timestamp = Date.now() - 2_000;
    const day = new Date(timestamp).toISOString().slice(0, 10);
    const created = await call('POST', `/v1/environments/${environment.id}/export-jobs`, {
      claims,
      body: {
        destinationId,
        type: 'allEvents',
        frequency: { kind: 'oneTime', from: day, to: day },
        format: 'json',
        compression: 'none',
        notifyEmails: ['ops@customer.test'],
      },
    });
    expect(created.status).toBe(201);
    const invocations = invocationsOf(api);
    expect(invocations).toEqual([
      {
        FunctionName: environments.api.EXPORT_FUNCTION_NAME,
        InvocationType: 'Event',
        event: {
          kind: 'job-run',
          environmentId: environment.id,
          jobId: created.body.id,
          scheduledTime: expect.any(String),
        },
      },
    ]);
    const { event } = invocations[0];

    const record: RawRecord = {
      id: 'item-1',
      environmentId: environment.id,
      receivedAt: timestamp + 1_000,
      type: 'event',
      userId: 'u1',
      event: 'Signed Up',
      timestamp,
      attributes: { plan: 'pro' },
    };
    rawLog(environment.id, [record]);
    await expect(runExport.handler(event, context)).resolves.toBeUndefined();

    expect(new Set(listedBuckets())).toEqual(new Set([environments.runExport.RAW_EVENTS_BUCKET]));
    const puts = runExport.s3.commandCalls(runExport.sdk.s3.PutObjectCommand).map((c) => c.args[0].input);
    expect(puts).toEqual([
      expect.objectContaining({ Bucket: 'customer-warehouse', Key: expect.stringMatching(/^clevertap\//) }),
    ]);
    expect(await jobs().get(environment.id, created.body.id)).toMatchObject({ status: 'DONE' });
    const [run] = await jobs().listRuns(environment.id, created.body.id, 10);
    expect(run).toMatchObject({ status: 'successful', files: [expect.objectContaining({ records: 1 })] });
  });

  test("a recurring job's schedule input, once EventBridge Scheduler puts its time in, runs the window before that time", async () => {
    const { environment, claims, destinationId } = await withDestination();
    api.scheduler.reset().resolves({});
    const created = await call('POST', `/v1/environments/${environment.id}/export-jobs`, {
      claims,
      body: {
        destinationId,
        type: 'allEvents',
        frequency: { kind: 'recurring', everyHours: 4 },
        format: 'csv',
        notifyEmails: ['ops@customer.test'],
      },
    });
    expect(created.status).toBe(201);
    const schedules = api.scheduler
      .calls()
      .map((c) => c.args[0].input as { Name: string; Target: { Arn: string; RoleArn: string; Input: string } });
    expect(schedules).toHaveLength(1);
    const { Target } = schedules[0];
    expect({ Arn: Target.Arn, RoleArn: Target.RoleArn }).toEqual({
      Arn: environments.api.RUN_EXPORT_FUNCTION_ARN,
      RoleArn: environments.api.SCHEDULER_ROLE_ARN,
    });
    expect(Target.Arn).toContain(environments.api.EXPORT_FUNCTION_NAME);

    rawLog(environment.id, []);
    const fired = JSON.parse(Target.Input.replace('<aws.scheduler.scheduled-time>', '2026-03-02T04:00:00Z'));
    await expect(runExport.handler(fired, context)).resolves.toBeUndefined();

    const prefixes = runExport.s3
      .commandCalls(runExport.sdk.s3.ListObjectsV2Command)
      .map((c) => c.args[0].input.Prefix);
    // The window's hours, and no other (the run may read them more than once).
    // The window ends 15 minutes before the scheduled time (the raw log's settling margin), and the
    // first run's starts 4 hours before that: 23:45 to 03:45.
    expect([...new Set(prefixes)].sort()).toEqual(
      ['2026/03/01/23', '2026/03/02/00', '2026/03/02/01', '2026/03/02/02', '2026/03/02/03'].map(
        (hour) => `raw/${environment.id}/${hour}/`,
      ),
    );
    expect(new Set(listedBuckets())).toEqual(new Set([environments.runExport.RAW_EVENTS_BUCKET]));
    const [run] = await jobs().listRuns(environment.id, created.body.id, 10);
    expect(run).toMatchObject({
      status: 'successful',
      window: { from: Date.parse('2026-03-01T23:45:00Z'), to: Date.parse('2026-03-02T03:45:00Z') },
    });
    expect(await jobs().get(environment.id, created.body.id)).toMatchObject({ status: 'PENDING' });
  });

  test('a run for a job that is gone is skipped, not retried', async () => {
    await expect(
      runExport.handler(
        {
          kind: 'scheduled-job-run',
          environmentId: 'env_gone',
          jobId: 'job_gone',
          scheduledTime: '2026-03-02T04:00:00Z',
        },
        context,
      ),
    ).resolves.toBeUndefined();
  });

  test('a job run whose stores fail is rethrown, so Lambda retries it', async () => {
    // A fresh run-export whose job store is unreachable (DynamoDB refusing connections, one attempt per
    // call): the SDK resolves the endpoint at the first call, so the environment holds for the call.
    const unreachable = load('run-export', environments.runExport, runtimeOf(RUN_EXPORT_FUNCTION_NAME));
    const previous = process.env;
    process.env = { ...previous, AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' };
    try {
      await expect(
        unreachable.handler(
          { kind: 'job-run', environmentId: 'env_h1', jobId: 'job_any', scheduledTime: '2026-03-02T04:00:00Z' },
          context,
        ),
      ).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      process.env = previous;
    }
  });

  test('refuses a job-run event without its job or time', async () => {
    await expect(
      runExport.handler({ kind: 'job-run', environmentId: 'env_1', scheduledTime: '2026-03-02T04:00:00Z' }, context),
    ).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(
      runExport.handler(
        {
          kind: 'scheduled-job-run',
          environmentId: 'env_1',
          jobId: 'job_1',
          scheduledTime: '<aws.scheduler.scheduled-time>',
        },
        context,
      ),
    ).rejects.toMatchObject({
      name: 'ValidationError',
    });
  });
});

describe('check-failures handler', () => {
  test('emails the owners of a failing export from the sender the template names, through SES', async () => {
    const checkFailures = load('check-failures', environments.checkFailures);
    const { environment } = await tenant('enterprise');
    const options = { client: clients.documentClient, tableName: environments.checkFailures.CONFIG_TABLE };
    await new DynamoDbAutomaticExportSettingsStore(options).put(
      {
        environmentId: environment.id,
        enabled: true,
        cadence: 'daily',
        destination: { provider: 'AWS', bucket: 'customer-bucket', region: 'eu-west-1', keyPrefix: '' },
        notifyEmails: [`owner-${environment.id}@customer.test`],
        updatedAt: 1,
        version: 1,
      },
      0,
    );
    const failingSince = Date.now() - 3_600_000;
    await new DynamoDbExportRunStore(options).recordOutcome(environment.id, failingSince - 60_000, {
      status: 'failed',
      finishedAt: failingSince,
      durationMs: 60_000,
      error: 'Access denied.',
      errorCode: 'access_denied',
      failureClass: 'customer',
    });

    await checkFailures.handler(undefined, lambdaContext('DataExport-test-CheckFailuresFunction'));

    const { emails } = (await (await fetch(`${emulators.sesEndpoint}/store`)).json()) as {
      emails: { from: string; destination: { to: string[] } }[];
    };
    expect(emails.filter((email) => email.destination.to.includes(`owner-${environment.id}@customer.test`))).toEqual([
      expect.objectContaining({ from: TEST_CONTEXT.senderEmail }),
    ]);
    expect((await new DynamoDbExportRunStore(options).getStatus(environment.id))?.emailsSent).toEqual([1]);
  });

  test('runs a failing one-time export job again through the run-export function the template names', async () => {
    const checkFailures = load('check-failures', environments.checkFailures);
    checkFailures.lambda.resolves({ StatusCode: 202 });
    const { environment } = await tenant('enterprise');
    const options = { client: clients.documentClient, tableName: environments.checkFailures.CONFIG_TABLE };
    await new DynamoDbDestinationStore(options).create(destinationOf(environment.id, 'dst_1'));
    const createdAt = Date.now() - 2 * 3_600_000;
    const jobStore = new DynamoDbExportJobStore(options);
    await jobStore.create(
      jobOf(environment.id, 'job_once', 1, {
        frequency: { kind: 'oneTime', from: '2026-11-20', to: '2026-11-20' },
        createdAt,
        notifyEmails: [`owner-${environment.id}@customer.test`],
      }),
    );
    await jobStore.recordRunOutcome(environment.id, 'job_once', {
      runId: '20261120000000',
      status: 'failed',
      finishedAt: createdAt + 60_000,
      failureClass: 'customer',
      errorCode: 'access_denied',
    });

    await checkFailures.handler(undefined, lambdaContext('DataExport-test-CheckFailuresFunction'));

    expect(invocationsOf(checkFailures)).toEqual([
      {
        FunctionName: environments.checkFailures.EXPORT_FUNCTION_NAME,
        InvocationType: 'Event',
        event: {
          kind: 'job-run',
          environmentId: environment.id,
          jobId: 'job_once',
          scheduledTime: new Date(createdAt).toISOString(),
        },
      },
    ]);
  });
});
