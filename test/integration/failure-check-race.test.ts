/**
 * Overlapping hourly checks on the real config table: each warning email is claimed by a conditional
 * write on dynalite, so checks running at once (an overlap, a retried invocation) send it once.
 */
import {
  DynamoDbAutomaticExportSettingsStore,
  DynamoDbExportRunStore,
  DynamoDbFailingExportsStore,
} from '../../lambdas/adapters/dynamodb/automatic-export-stores';
import { DynamoDbTenantStore } from '../../lambdas/adapters/dynamodb/tenant-store';
import { FailureCheckService } from '../../lambdas/core/failure-check';
import { STOP_AFTER_MS } from '../../lambdas/core/warning-sequence';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import { FakeClock, FakeMailer, FakeScheduler } from '../support/fakes';

const TABLES = { configTable: 'config', usageTable: 'usage' };
const FAILING_SINCE = Date.parse('2026-03-02T00:10:00Z');
const OVERLAPPING_CHECKS = 4;

let emulators: RunningEmulators;
let clients: EmulatorClients;

beforeAll(async () => {
  emulators = await startEmulators();
  clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, TABLES);
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

test(`${OVERLAPPING_CHECKS} overlapping checks send each email once and stop the export once`, async () => {
  const options = { client: clients.documentClient, tableName: TABLES.configTable };
  const settings = new DynamoDbAutomaticExportSettingsStore(options);
  const runs = new DynamoDbExportRunStore(options);
  const scheduler = new FakeScheduler();
  const mailer = new FakeMailer();
  const check = new FailureCheckService({
    failing: new DynamoDbFailingExportsStore(options),
    settings,
    tenants: new DynamoDbTenantStore(options),
    scheduler,
    mailer,
    clock: new FakeClock(),
    dashboardUrl: 'https://dashboard.test',
  });
  const environmentId = 'env_overlap';
  await settings.put(
    {
      environmentId,
      enabled: true,
      cadence: 'daily',
      destination: { provider: 'AWS', bucket: 'acme', region: 'eu-west-1', keyPrefix: '' },
      notifyEmails: ['ops@acme.test'],
      updatedAt: FAILING_SINCE - 1000,
      version: 1,
    },
    0,
  );
  await runs.recordOutcome(environmentId, FAILING_SINCE - 60_000, {
    status: 'failed',
    finishedAt: FAILING_SINCE,
    durationMs: 60_000,
    error: 'Access denied.',
    errorCode: 'access_denied',
    failureClass: 'customer',
  });
  const overlapping = (now: number) => Promise.all(Array.from({ length: OVERLAPPING_CHECKS }, () => check.check(now)));

  const first = await overlapping(FAILING_SINCE + 3_600_000);
  expect(first.flatMap((r) => r.emailsSent)).toEqual([{ environmentId, email: 1 }]);
  const last = await overlapping(FAILING_SINCE + STOP_AFTER_MS);
  expect(last.flatMap((r) => r.emailsSent)).toEqual([{ environmentId, email: 3 }]);
  expect(last.flatMap((r) => r.stopped)).toEqual([environmentId]);

  expect(mailer.sent.map((m) => m.subject)).toHaveLength(2);
  // One stop write: the version went from the save's 1 to 2, not further. The schedule follows it.
  expect(await settings.get(environmentId)).toMatchObject({
    enabled: false,
    stoppedAt: FAILING_SINCE + STOP_AFTER_MS,
    version: 2,
  });
  expect(scheduler.schedules.has(environmentId)).toBe(false);
  expect(scheduler.calls.at(-1)).toEqual({ op: 'remove', environmentId });
});
