/**
 * Races, on dynalite with real concurrency: concurrent settings saves through the service (each based
 * on the version read before it; conflicting ones answer 409) leave the schedule (the local
 * scheduler) equal to the saved settings; a crash between a save and its reconcile is caught up by
 * the hourly check; overlapping hourly checks send each warning email exactly once.
 */
import {
  DynamoDbAutomaticExportSettingsStore,
  DynamoDbExportRunStore,
  DynamoDbFailingExportsStore,
} from '../../lambdas/adapters/dynamodb/automatic-export-stores';
import { DynamoDbTenantStore } from '../../lambdas/adapters/dynamodb/tenant-store';
import { DynamoDbUsageStore } from '../../lambdas/adapters/dynamodb/usage-store';
import { LocalSecretSealer } from '../../lambdas/adapters/local/local-sealer';
import type { Caller } from '../../lambdas/core/access';
import { AutomaticExportService, StaleSettingsError } from '../../lambdas/core/automatic-export';
import { type SettingsInput } from '../../lambdas/core/destination-input';
import { FailureCheckService } from '../../lambdas/core/failure-check';
import { SECOND_EMAIL_AFTER_MS, STOP_AFTER_MS } from '../../lambdas/core/warning-sequence';
import { nextRunAt, type Cadence } from '../../lambdas/core/periods';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import { LocalExportScheduler } from '../../lambdas/local/local-scheduler';
import type { ExportScheduler } from '../../lambdas/ports';
import { FakeDestinationGateway, FakeMailer } from '../support/fakes';

const TABLES = { configTable: 'config', usageTable: 'usage' };
const NOW = Date.parse('2026-03-11T13:00:00Z'); // a Wednesday: the next daily and weekly runs differ
const HOUR = 3_600_000;
const ORG = 'org_races';
const member: Caller = { organizationId: ORG, role: 'member' };
const clock = { now: () => NOW };
/** Every world's failure checks send through this spy: a check reads every failing export of the table. */
const mailer = new FakeMailer();

const ENABLE: SettingsInput = {
  enabled: true,
  cadence: 'daily',
  provider: 'Custom',
  bucket: 'acme-exports',
  region: 'us-east-1',
  key: 'exports',
  endpoint: 'https://storage.acme.example',
  accessKeyId: 'AKIARACES0001',
  secretAccessKey: 'secret',
  notifyEmails: ['data@acme.example'],
};
/** The three changes the dashboards race with: enable daily, enable weekly, disable. */
const CHANGES: SettingsInput[] = [
  { enabled: true, cadence: 'daily' },
  { enabled: true, cadence: 'weekly' },
  { enabled: false },
];

let emulators: RunningEmulators;
let clients: EmulatorClients;
let stores: {
  tenants: DynamoDbTenantStore;
  settings: DynamoDbAutomaticExportSettingsStore;
  runs: DynamoDbExportRunStore;
  failing: DynamoDbFailingExportsStore;
};
let envCounter = 0;
/** One scheduler for every environment, as EventBridge Scheduler is one service. */
let scheduler: CrashingScheduler;

/** The three changes, in another order each round, so each of them gets to win. */
const rotated = (round: number): SettingsInput[] => [0, 1, 2].map((i) => CHANGES[(i + round) % 3]);

beforeAll(async () => {
  emulators = await startEmulators();
  clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, TABLES);
  const options = { client: clients.documentClient, tableName: TABLES.configTable };
  stores = {
    tenants: new DynamoDbTenantStore(options),
    settings: new DynamoDbAutomaticExportSettingsStore(options),
    runs: new DynamoDbExportRunStore(options),
    failing: new DynamoDbFailingExportsStore(options),
  };
  scheduler = new CrashingScheduler(await LocalExportScheduler.open({ clock }));
  await stores.tenants.createOrganization({ id: ORG, name: 'Acme', plan: 'enterprise', createdAt: 0 });
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

/** The local scheduler; `crashNext` makes its next calls fail, as a process dying right after the save. */
class CrashingScheduler implements ExportScheduler {
  crashNext = 0;
  constructor(readonly local: LocalExportScheduler) {}
  upsert(environmentId: string, cadence: Cadence): Promise<void> {
    return this.crash() ?? this.local.upsert(environmentId, cadence);
  }
  remove(environmentId: string): Promise<void> {
    return this.crash() ?? this.local.remove(environmentId);
  }
  private crash(): Promise<never> | undefined {
    if (this.crashNext === 0) return undefined;
    this.crashNext--;
    return Promise.reject(new Error('crashed between the save and the reconcile'));
  }
}

async function world() {
  const environmentId = `env_race${++envCounter}`;
  const name = `Production ${envCounter}`;
  await stores.tenants.createEnvironment({
    id: environmentId,
    organizationId: ORG,
    name,
    ingestKeyHash: `hash_race_${envCounter}`,
    ingestKeyPrefix: 'ik_',
    createdAt: 0,
  });
  const service = new AutomaticExportService({
    ...stores,
    usage: new DynamoDbUsageStore({ client: clients.documentClient, tableName: TABLES.usageTable }),
    sealer: new LocalSecretSealer(LocalSecretSealer.generateKey()),
    gateway: new FakeDestinationGateway(),
    scheduler,
    clock,
  });
  /** A separate check for each call, as separate Lambda invocations. */
  const failureCheck = () =>
    new FailureCheckService({ ...stores, scheduler, mailer, clock, dashboardUrl: 'https://app.example.com' });
  await service.putSettings(member, environmentId, ENABLE);
  return { environmentId, name, service, failureCheck };
}

/** The schedule is what the saved settings say: present with their cadence while enabled, absent otherwise. */
async function expectScheduleMatchesSettings(w: Awaited<ReturnType<typeof world>>): Promise<void> {
  const saved = await stores.settings.get(w.environmentId);
  const expected = saved?.enabled ? nextRunAt(saved.cadence, NOW) : undefined;
  expect(scheduler.local.nextFireAt(w.environmentId)).toBe(expected);
}

async function unreconciled(): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of stores.settings.listUnreconciled()) ids.push(id);
  return ids;
}

describe('concurrent settings saves', () => {
  test('200 rounds of enable/disable/cadence saves from the same version: one wins, the others get 409, the schedule follows', async () => {
    // Four environments at once, 50 rounds each: the rounds of one environment are sequential.
    const outcomes = { saved: 0, conflicts: 0 };
    const rounds = async (w: Awaited<ReturnType<typeof world>>) => {
      for (let round = 0; round < 50; round++) {
        const { version } = await w.service.getSettings(member, w.environmentId);
        const results = await Promise.allSettled(
          rotated(round).map((change) => w.service.putSettings(member, w.environmentId, { ...change, version })),
        );
        const saved = results.filter((r) => r.status === 'fulfilled');
        const refused = results.filter((r) => r.status === 'rejected');
        expect(saved).toHaveLength(1);
        for (const r of refused) expect(r.reason).toBeInstanceOf(StaleSettingsError);
        outcomes.saved += saved.length;
        outcomes.conflicts += refused.length;
        expect((await stores.settings.get(w.environmentId))!.version).toBe(version + 1);
        await expectScheduleMatchesSettings(w);
      }
    };
    const worlds = await Promise.all([world(), world(), world(), world()]);
    await Promise.all(worlds.map(rounds));
    expect(outcomes).toEqual({ saved: 200, conflicts: 400 });
    const marked = await unreconciled();
    for (const w of worlds) expect(marked).not.toContain(w.environmentId);
  });

  test('four dashboards saving over each other 25 times each: the schedule ends equal to the saved settings', async () => {
    const w = await world();
    let conflicts = 0;
    const dashboard = async (seed: number) => {
      for (let i = 0; i < 25; i++) {
        const { version } = await w.service.getSettings(member, w.environmentId);
        try {
          await w.service.putSettings(member, w.environmentId, { ...CHANGES[(seed * 7 + i * 5) % 3], version });
        } catch (error) {
          if (!(error instanceof StaleSettingsError)) throw error;
          conflicts++;
        }
      }
    };
    await Promise.all([1, 2, 3, 4].map(dashboard));
    const { version } = (await stores.settings.get(w.environmentId))!;
    expect(version - 1 + conflicts).toBe(100); // every save either counted in the version or was refused
    expect(conflicts).toBeGreaterThan(0);
    await expectScheduleMatchesSettings(w);
    expect(await unreconciled()).not.toContain(w.environmentId);
  });
});

describe('a crash between the save and the reconcile', () => {
  test('leaves the settings saved and marked; the hourly check makes the schedule match', async () => {
    const w = await world();
    expect(scheduler.local.nextFireAt(w.environmentId)).toBe(nextRunAt('daily', NOW));
    scheduler.crashNext = 1;
    const { version } = await w.service.getSettings(member, w.environmentId);
    await w.service.putSettings(member, w.environmentId, { enabled: true, cadence: 'weekly', version });
    // Apart: saved weekly, scheduled daily, and marked for the check.
    expect((await stores.settings.get(w.environmentId))!.cadence).toBe('weekly');
    expect(scheduler.local.nextFireAt(w.environmentId)).toBe(nextRunAt('daily', NOW));
    expect(await unreconciled()).toContain(w.environmentId);

    const result = await w.failureCheck().check(NOW + HOUR);
    expect(result.schedules.reconciled).toContain(w.environmentId);
    await expectScheduleMatchesSettings(w);
    expect(await unreconciled()).not.toContain(w.environmentId);
  });

  test('30 rounds of concurrent saves with crashes after a third of them: one hourly check brings the schedule back in line', async () => {
    const w = await world();
    let drifted = 0;
    for (let round = 0; round < 30; round++) {
      const { version } = await w.service.getSettings(member, w.environmentId);
      if (round % 3 === 0) scheduler.crashNext = 1;
      await Promise.allSettled(
        rotated(round).map((change) => w.service.putSettings(member, w.environmentId, { ...change, version })),
      );
      const saved = (await stores.settings.get(w.environmentId))!;
      if (scheduler.local.nextFireAt(w.environmentId) !== (saved.enabled ? nextRunAt(saved.cadence, NOW) : undefined))
        drifted++;
    }
    scheduler.crashNext = 0;
    await Promise.all([w.failureCheck().check(NOW + HOUR), w.failureCheck().check(NOW + HOUR)]);
    await expectScheduleMatchesSettings(w);
    expect(await unreconciled()).not.toContain(w.environmentId);
    // The crashes did leave them apart at times; otherwise this test would prove nothing.
    expect(drifted).toBeGreaterThan(0);
  });
});

describe('overlapping hourly checks', () => {
  test('six checks at once, with email 1 not yet sent, send each email exactly once and stop the export once', async () => {
    const worlds = await Promise.all([world(), world(), world()]);
    const F = NOW + HOUR;
    for (const w of worlds) {
      await stores.runs.recordOutcome(w.environmentId, F - 60_000, {
        status: 'failed',
        finishedAt: F,
        durationMs: 60_000,
        error: 'Access denied.',
        errorCode: 'access_denied',
        failureClass: 'customer',
      });
    }
    mailer.sent.length = 0;
    mailer.attempts.length = 0;
    const overlapping = async (at: number) => {
      // Separate checks, each reading the real store, all at once.
      await Promise.all(worlds.flatMap((w) => Array.from({ length: 6 }, () => w.failureCheck().check(at))));
    };
    const subjects = (w: (typeof worlds)[number]) =>
      mailer.sent
        .filter((m) => m.subject.endsWith(w.name) || m.subject.includes(`${w.name} `))
        .map((m) => m.subject.replace(/ for .*/, ''));

    await overlapping(F + HOUR);
    for (const w of worlds) expect(subjects(w)).toEqual(['Automatic export']);
    await overlapping(F + SECOND_EMAIL_AFTER_MS + HOUR);
    for (const w of worlds) expect(subjects(w)).toEqual(['Automatic export', 'Reminder: automatic export']);
    await overlapping(F + STOP_AFTER_MS + HOUR);
    await overlapping(F + STOP_AFTER_MS + 2 * HOUR);
    for (const w of worlds) {
      expect(subjects(w)).toEqual(['Automatic export', 'Reminder: automatic export', 'Automatic export stopped']);

      const saved = (await stores.settings.get(w.environmentId))!;
      expect(saved).toMatchObject({ enabled: false, stoppedAt: F + STOP_AFTER_MS + HOUR, version: 2 });
      await expectScheduleMatchesSettings(w);
    }
    expect(mailer.attempts).toHaveLength(9);
  });
});
