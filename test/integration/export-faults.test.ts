/**
 * Fault injection across the export runs: scheduled (automatic) runs into the customer's bucket through
 * the real destination gateway, and manual exports into the service's exports bucket as multipart
 * uploads, both through a proxy in front of s3rver that answers 500s, throttles (503 SlowDown), resets
 * connections and stalls uploads on a schedule, while the run and job records on dynalite see writes
 * rejected or their answers lost. Every run gets at least one fault; failed runs are retried as
 * Lambda's asynchronous retries (scheduled runs) or the customer (manual exports) would.
 *
 * After them: no partial object, no duplicate object, no multipart upload left open, no run or job left
 * running, each recorded as successful or failed, and every object exactly the one a faultless run
 * writes. The figures go to docs/reliability.md (summed up in the README).
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  DynamoDbExportRunStore,
  DynamoDbAutomaticExportSettingsStore,
} from '../../lambdas/adapters/dynamodb/automatic-export-stores';
import { DynamoDbManualExportStore } from '../../lambdas/adapters/dynamodb/manual-export-store';
import { DynamoDbTenantStore } from '../../lambdas/adapters/dynamodb/tenant-store';
import { DynamoDbUsageStore } from '../../lambdas/adapters/dynamodb/usage-store';
import { S3DestinationGateway } from '../../lambdas/adapters/s3/destination-gateway';
import { S3ObjectSink } from '../../lambdas/adapters/s3/object-sink';
import { AutomaticExportService, RetryableRunError } from '../../lambdas/core/automatic-export';
import { MAX_CONCURRENT_MANUAL_EXPORTS, ManualExportService } from '../../lambdas/core/manual-export';
import { DAY_MS } from '../../lambdas/core/model';
import {
  createEmulatorClients,
  EMULATOR_CREDENTIALS,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import { syntheticTenant } from '../../lambdas/local/synthetic';
import {
  injectDynamoDbWriteFaults,
  type DynamoDbFault,
  type DynamoDbWriteFaults,
} from '../support/dynamodb-write-faults';
import { FakeClock, FakeScheduler, FakeSealer } from '../support/fakes';
import { startFaultyS3Proxy, type Fault, type FaultKind, type FaultyS3Proxy } from '../support/faulty-s3-proxy';

const TABLES = { configTable: 'config', usageTable: 'usage' };
const CUSTOMER_BUCKET = 'customer-exports';
const EXPORTS_BUCKET = 'service-exports';
const ORG = 'org_faults';
const FIRST_DAY = Date.parse('2026-03-01T00:00:00Z');
/** Scheduled runs: environments run in parallel, each through its days one after the other. */
const ENVIRONMENTS = 10;
const DAYS = 19;
const MANUAL_JOBS = 16;
const MANUAL_LANES = MAX_CONCURRENT_MANUAL_EXPORTS;
/**
 * A run's time limit, long enough for any run on a busy machine. A stalled upload is cut sooner, by
 * the run's own abort signal (the path its deadline takes): STALL_MS after the proxy stalls it.
 */
const TIME_LIMIT_MS = 60_000;
const STALL_MS = 200;
/** Lambda retries a failed asynchronous invocation twice; the harness allows more, and counts them. */
const MAX_INVOCATIONS = 6;

const put = (kind: FaultKind): Fault => ({ kind, operation: 'PutObject' });
/** The S3 faults of a scheduled run (small objects: a single PutObject), cycled over the runs. */
const SCHEDULED_FAULTS: Fault[][] = [
  [put('error500')],
  [put('slowDown503')],
  [put('reset')],
  [put('stall')],
  [put('error500'), put('error500'), put('error500')],
  [put('slowDown503'), put('slowDown503'), put('slowDown503')],
  [put('reset'), put('reset'), put('reset')],
  [put('stall'), put('error500')],
  [put('reset'), put('slowDown503'), put('error500')],
  [put('error500'), put('reset')],
];
/** The DynamoDB faults of a scheduled run, on its run record or the status item, for every other run. */
const scheduledDynamoDbFaults = (environmentId: string): DynamoDbFault[][] => [
  [{ kind: 'answerLost', operation: 'PutItem', bodyIncludes: [`ENV#${environmentId}`, 'RUN#'] }],
  [],
  [{ kind: 'writeRejected', operation: 'PutItem', bodyIncludes: [`ENV#${environmentId}`, 'RUN#'] }],
  [],
  [{ kind: 'answerLost', operation: 'UpdateItem', bodyIncludes: [`ENV#${environmentId}`, 'RUN#'] }],
  [],
  [{ kind: 'writeRejected', operation: 'UpdateItem', bodyIncludes: [`ENV#${environmentId}`, 'RUN#'] }],
  [],
  [{ kind: 'answerLost', operation: 'UpdateItem', bodyIncludes: [`ENV#${environmentId}`, 'EXPORT#STATUS'] }],
  [],
];
/** The faults of a manual export (a multipart upload of two parts), cycled over the jobs. */
const MANUAL_FAULTS: Fault[][] = [
  [{ kind: 'error500', operation: 'UploadPart' }],
  [
    { kind: 'slowDown503', operation: 'UploadPart' },
    { kind: 'slowDown503', operation: 'UploadPart' },
  ],
  [{ kind: 'reset', operation: 'UploadPart' }],
  [{ kind: 'stall', operation: 'UploadPart' }],
  [{ kind: 'error500', operation: 'CompleteMultipartUpload' }],
  [{ kind: 'stall', operation: 'CompleteMultipartUpload' }],
  [{ kind: 'slowDown503', operation: 'CreateMultipartUpload' }],
  [{ kind: 'reset', operation: 'CompleteMultipartUpload' }],
  [
    { kind: 'error500', operation: 'UploadPart' },
    { kind: 'error500', operation: 'UploadPart' },
    { kind: 'error500', operation: 'UploadPart' },
  ],
  [
    { kind: 'reset', operation: 'CreateMultipartUpload' },
    { kind: 'error500', operation: 'UploadPart' },
    { kind: 'slowDown503', operation: 'CompleteMultipartUpload' },
  ],
];
/** The DynamoDB faults of a manual export, on its job record (claim, outcome). */
const manualDynamoDbFaults = (jobId: string): DynamoDbFault[][] => [
  [{ kind: 'answerLost', operation: 'UpdateItem', bodyIncludes: [`MANUAL#${jobId}"`, ':running'] }],
  [],
  [{ kind: 'writeRejected', operation: 'UpdateItem', bodyIncludes: [`MANUAL#${jobId}"`, ':running'] }],
  [],
  [{ kind: 'answerLost', operation: 'UpdateItem', bodyIncludes: [`MANUAL#${jobId}"`, ':finishedAt'] }],
];

let emulators: RunningEmulators;
let clients: EmulatorClients;
let proxyClients: EmulatorClients;
let proxy: FaultyS3Proxy;
let dynamoDbFaults: DynamoDbWriteFaults;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function listAll(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

async function objectHash(bucket: string, key: string): Promise<string> {
  const object = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return sha256(await object.Body!.transformToByteArray());
}

beforeAll(async () => {
  emulators = await startEmulators({ buckets: [CUSTOMER_BUCKET, EXPORTS_BUCKET] });
  clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, TABLES);
  proxy = await startFaultyS3Proxy(emulators.s3Endpoint);
  proxyClients = createEmulatorClients({ ...emulators, s3Endpoint: proxy.endpoint });
  dynamoDbFaults = injectDynamoDbWriteFaults(clients.dynamodb);
});

afterAll(async () => {
  await proxy?.close();
  proxyClients?.destroy();
  clients?.destroy();
  await emulators?.stop();
});

it('leaves no partial, duplicate or dangling object and no run running across 200+ faulted runs', async () => {
  const stores = { client: clients.documentClient };
  const tenants = new DynamoDbTenantStore({ ...stores, tableName: TABLES.configTable });
  const usage = new DynamoDbUsageStore({ ...stores, tableName: TABLES.usageTable });
  const settings = new DynamoDbAutomaticExportSettingsStore({ ...stores, tableName: TABLES.configTable });
  const runs = new DynamoDbExportRunStore({ ...stores, tableName: TABLES.configTable });
  const jobs = new DynamoDbManualExportStore({ ...stores, tableName: TABLES.configTable });
  const sealer = new FakeSealer();
  const automatic = new AutomaticExportService({
    tenants,
    usage,
    settings,
    runs,
    sealer,
    gateway: new S3DestinationGateway({ allowLoopback: true, allowHttp: true }),
    scheduler: new FakeScheduler(),
    clock: { now: () => Date.now() },
  });
  const manualClock = new FakeClock(FIRST_DAY + 40 * DAY_MS + 9 * 3_600_000);
  let jobCounter = 0;
  const manual = new ManualExportService({
    tenants,
    usage,
    jobs,
    dispatcher: { dispatchManualExport: async () => undefined },
    sink: new S3ObjectSink({ client: proxyClients.s3, bucket: EXPORTS_BUCKET }),
    links: { createDownloadUrl: async (key) => key },
    clock: manualClock,
    newId: (prefix) => `${prefix}_${++jobCounter}`,
    downloadLinkSeconds: 60,
  });

  // Tenants: the same small data in every scheduled environment (so each day's file is the same
  // everywhere), a larger one for the manual exports (about 8 MB: a multipart upload of two parts).
  await tenants.createOrganization({ id: ORG, name: 'Faults', plan: 'enterprise', createdAt: 0 });
  const features = ['report_run', 'alert_created', 'dashboard_viewed', 'export_started', 'comment_added'];
  const environmentIds = [
    'env_reference',
    ...Array.from({ length: ENVIRONMENTS }, (_, index) => `env_faulted_${index}`),
  ];
  const sealedSecret = async (environmentId: string) =>
    sealer.seal(EMULATOR_CREDENTIALS.secretAccessKey, { environmentId });
  for (const environmentId of [...environmentIds, 'env_manual']) {
    await tenants.createEnvironment({
      id: environmentId,
      organizationId: ORG,
      name: 'Production',
      ingestKeyHash: `hash_${environmentId}`,
      ingestKeyPrefix: 'ik_',
      createdAt: 0,
    });
    const manualTenant = environmentId === 'env_manual';
    const keys = manualTenant ? Array.from({ length: 20 }, (_, index) => `feature_${index}`) : features;
    for (const key of keys)
      await tenants.putFeature(environmentId, {
        id: key,
        key,
        name: key,
        adoption: { minActiveDays: 3, windowDays: 14 },
      });
    const tenant = syntheticTenant({
      companies: manualTenant ? 56 : 12,
      featureKeys: keys,
      days: 60,
      endAt: FIRST_DAY + 30 * DAY_MS,
      seed: 7,
    });
    await Promise.all([...tenant].map((company) => usage.putCompanyUsage(environmentId, company)));
    if (manualTenant) continue;
    await settings.put(
      {
        environmentId,
        enabled: true,
        cadence: 'daily',
        destination: {
          provider: 'Custom',
          bucket: CUSTOMER_BUCKET,
          region: 'us-east-1',
          keyPrefix: 'exports',
          endpoint: proxy.endpoint,
        },
        accessKeyId: EMULATOR_CREDENTIALS.accessKeyId,
        sealedSecretAccessKey: await sealedSecret(environmentId),
        notifyEmails: ['data@faults.example'],
        updatedAt: 0,
        version: 1,
      },
      0,
    );
  }
  const days = Array.from({ length: DAYS }, (_, index) => FIRST_DAY + index * DAY_MS);

  // What faultless runs write: each day's file, and the manual export's.
  const expected = new Map<string, string>();
  await Promise.all(
    days.map(async (day) => {
      const result = await automatic.runScheduled('env_reference', day);
      if (result.outcome !== 'successful')
        throw new Error(`reference run of ${new Date(day).toISOString()}: ${result.outcome}`);
      expected.set(result.objectKey.split('/').at(-1)!, await objectHash(CUSTOMER_BUCKET, result.objectKey));
    }),
  );
  const reference = await manual.request({ organizationId: ORG, role: 'member' }, 'env_manual', '30d-daily');
  await manual.run('env_manual', reference.id);
  const referenceJob = (await jobs.get('env_manual', reference.id))!;
  expect(referenceJob.status).toBe('done');
  expect(referenceJob.byteCount).toBeGreaterThan(5 * 1024 * 1024);
  const expectedManual = await objectHash(EXPORTS_BUCKET, referenceJob.objectKey!);
  const openBefore = [...proxy.uploads.values()].filter(({ state }) => state !== 'completed').length;
  expect(openBefore).toBe(0);

  const figures = {
    scheduledRuns: 0,
    scheduledInvocations: 0,
    scheduledFailuresRetried: 0,
    timeLimitFailures: 0,
    manualJobs: 0,
    manualJobsFailed: 0,
  };

  /** The run of each stalled upload (by a text of its key) ends STALL_MS after the stall, as at its deadline. */
  const running = new Map<string, AbortController>();
  proxy.onStall = (key) => {
    const [, controller] = [...running].find(([keyText]) => key.includes(keyText)) ?? [];
    setTimeout(() => controller?.abort(new Error('the run reached its deadline')), STALL_MS);
  };
  async function withDeadline<T>(keyText: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    running.set(keyText, controller);
    try {
      return await run(controller.signal);
    } finally {
      running.delete(keyText);
    }
  }

  /** One scheduled run as Lambda delivers it: invoked again after each failure, until it succeeds. */
  async function scheduledRun(environmentId: string, day: number, faults: Fault[], dynamoDb: DynamoDbFault[]) {
    figures.scheduledRuns++;
    proxy.inject(...faults.map((fault) => ({ ...fault, keyIncludes: environmentId })));
    dynamoDbFaults.inject(...dynamoDb);
    for (let invocation = 1; invocation <= MAX_INVOCATIONS; invocation++) {
      figures.scheduledInvocations++;
      try {
        const result = await withDeadline(`/${environmentId}/`, (signal) =>
          automatic.runScheduled(environmentId, day, { timeLimitMs: TIME_LIMIT_MS, signal }),
        );
        expect(result.outcome).toBe('successful');
        break;
      } catch (error) {
        figures.scheduledFailuresRetried++;
        if (!(error instanceof RetryableRunError)) continue; // failed before its claim (a rejected claim write)
        const run = await runs.getRun(environmentId, day);
        expect(run).toMatchObject({ status: 'failed' });
        if (run?.errorCode === 'time_limit_exceeded') figures.timeLimitFailures++;
      }
    }
    expect(proxy.pending(environmentId)).toBe(0);
  }

  async function scheduledRuns(environmentIndex: number) {
    const environmentId = `env_faulted_${environmentIndex}`;
    const dynamoDb = scheduledDynamoDbFaults(environmentId);
    for (const [dayIndex, day] of days.entries()) {
      const scenario = environmentIndex * DAYS + dayIndex;
      await scheduledRun(
        environmentId,
        day,
        SCHEDULED_FAULTS[scenario % SCHEDULED_FAULTS.length],
        dynamoDb[(scenario + environmentIndex) % dynamoDb.length],
      );
    }
  }

  /** Manual exports, in lanes of one export at a time; a failed one is started again, as the customer would. */
  async function manualExports(lane: number) {
    const caller = { organizationId: ORG, role: 'member' as const };
    for (let index = lane; index < MANUAL_JOBS; index += MANUAL_LANES) {
      for (let attempt = 1; attempt <= MAX_INVOCATIONS; attempt++) {
        figures.manualJobs++;
        const job = await manual.request(caller, 'env_manual', '30d-daily');
        if (attempt === 1) {
          proxy.inject(
            ...MANUAL_FAULTS[index % MANUAL_FAULTS.length].map((fault) => ({ ...fault, keyIncludes: `/${job.id}/` })),
          );
          const dynamoDb = manualDynamoDbFaults(job.id);
          dynamoDbFaults.inject(...dynamoDb[index % dynamoDb.length]);
        }
        await withDeadline(`/${job.id}/`, (signal) =>
          manual.run('env_manual', job.id, { timeLimitMs: TIME_LIMIT_MS, signal }),
        );
        if ((await jobs.get('env_manual', job.id))?.status === 'done') break;
        figures.manualJobsFailed++;
      }
    }
  }

  await Promise.all([
    ...Array.from({ length: ENVIRONMENTS }, (_, index) => scheduledRuns(index)),
    ...Array.from({ length: MANUAL_LANES }, (_, lane) => manualExports(lane)),
  ]);

  // Every fault scheduled was injected.
  expect(proxy.pending()).toBe(0);
  expect(dynamoDbFaults.pending()).toBe(0);

  // Scheduled runs: one object per environment and day, each exactly the faultless run's file.
  const customerKeys = await listAll(clients.s3, CUSTOMER_BUCKET, 'exports/');
  const faultedKeys = customerKeys.filter((key) => !key.startsWith('exports/env_reference/'));
  expect(faultedKeys).toHaveLength(ENVIRONMENTS * DAYS);
  expect(new Set(faultedKeys).size).toBe(ENVIRONMENTS * DAYS);
  let partialObjects = 0;
  for (const key of faultedKeys)
    if ((await objectHash(CUSTOMER_BUCKET, key)) !== expected.get(key.split('/').at(-1)!)) partialObjects++;
  let runsRunning = 0;
  let runsNotSuccessful = 0;
  for (let index = 0; index < ENVIRONMENTS; index++) {
    const history = await runs.history(`env_faulted_${index}`, DAYS + 1);
    expect(history).toHaveLength(DAYS);
    runsRunning += history.filter((run) => run.status === 'running').length;
    runsNotSuccessful += history.filter((run) => run.status !== 'successful').length;
    expect(await runs.getStatus(`env_faulted_${index}`)).toMatchObject({ lastStatus: 'successful' });
  }

  // Manual exports: an object for each job done, none for a failed one, each the faultless export.
  const manualKeys = await listAll(clients.s3, EXPORTS_BUCKET, 'manual/env_manual/');
  const jobRecords = await Promise.all(
    Array.from({ length: jobCounter }, (_, index) => jobs.get('env_manual', `exp_${index + 1}`)),
  );
  const doneKeys = jobRecords.filter((job) => job?.status === 'done').map((job) => job!.objectKey!);
  expect(manualKeys).toEqual([...doneKeys].sort());
  for (const key of manualKeys) if ((await objectHash(EXPORTS_BUCKET, key)) !== expectedManual) partialObjects++;
  const jobsRunning = jobRecords.filter((job) => job?.status !== 'done' && job?.status !== 'failed').length;
  const jobFailures = jobRecords.filter((job) => job?.status === 'failed');
  expect(
    jobFailures.every(
      (job) =>
        job!.error ===
          'The export did not finish within its time limit. Please try a shorter aggregation or contact support.' ||
        job!.error!.startsWith('The export failed on our side.'),
    ),
  ).toBe(true);
  expect(doneKeys).toHaveLength(MANUAL_JOBS + 1);

  // Multipart uploads: each completed or aborted, none left open.
  const danglingUploads = [...proxy.uploads.values()].filter(({ state }) => state === 'open').length;
  const abortedUploads = [...proxy.uploads.values()].filter(({ state }) => state === 'aborted').length;

  const report = {
    ...figures,
    faultedRuns: figures.scheduledRuns + MANUAL_JOBS,
    s3Faults: { ...proxy.injected },
    dynamoDbFaults: { ...dynamoDbFaults.injected },
    abortedUploads,
    partialObjects,
    duplicateObjects: faultedKeys.length - new Set(faultedKeys).size + manualKeys.length - doneKeys.length,
    danglingUploads,
    runsRunning: runsRunning + jobsRunning,
  };
  console.log(`Export fault injection: ${JSON.stringify(report)}`);

  expect(report.faultedRuns).toBeGreaterThanOrEqual(200);
  expect(partialObjects).toBe(0);
  expect(danglingUploads).toBe(0);
  expect(runsRunning + jobsRunning).toBe(0);
  expect(runsNotSuccessful).toBe(0);
  expect(abortedUploads).toBeGreaterThan(0);
  expect(figures.timeLimitFailures).toBeGreaterThan(0);
}, 180_000);
