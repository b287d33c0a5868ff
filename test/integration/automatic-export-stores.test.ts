/**
 * The automatic export stores' conditional writes on dynalite, with real concurrency: version-checked
 * settings saves (exactly one of parallel saves of the same version wins), the stop, the
 * unreconciled mark and its sparse index, and the email claims of the failure sequence.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  DynamoDbAutomaticExportSettingsStore,
  DynamoDbExportRunStore,
  DynamoDbFailingExportsStore,
} from '../../lambdas/adapters/dynamodb/automatic-export-stores';
import type { AutomaticExportSettings } from '../../lambdas/ports';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';

const TABLES = { configTable: 'config', usageTable: 'usage' };
const T0 = Date.parse('2026-03-10T00:00:00Z');

let emulators: RunningEmulators;
let clients: EmulatorClients;
let settings: DynamoDbAutomaticExportSettingsStore;
let runs: DynamoDbExportRunStore;
let failing: DynamoDbFailingExportsStore;
let envCounter = 0;
const freshEnv = () => `env_store${++envCounter}`;

beforeAll(async () => {
  emulators = await startEmulators();
  clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, TABLES);
  const options = { client: clients.documentClient, tableName: TABLES.configTable };
  settings = new DynamoDbAutomaticExportSettingsStore(options);
  runs = new DynamoDbExportRunStore(options);
  failing = new DynamoDbFailingExportsStore(options);
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

function saved(
  environmentId: string,
  version: number,
  overrides: Partial<AutomaticExportSettings> = {},
): AutomaticExportSettings {
  return {
    environmentId,
    enabled: true,
    cadence: 'daily',
    destination: {
      provider: 'Custom',
      bucket: 'acme',
      region: 'us-east-1',
      keyPrefix: 'exports',
      endpoint: 'https://s3.example.com',
    },
    accessKeyId: 'AKIA0001',
    sealedSecretAccessKey: 'local:v1:sealed',
    notifyEmails: ['data@acme.example'],
    updatedAt: T0 + version,
    version,
    ...overrides,
  };
}

async function unreconciled(): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of settings.listUnreconciled()) ids.push(id);
  return ids.sort();
}

describe('DynamoDbAutomaticExportSettingsStore', () => {
  test('a save without a version (0) creates only; each later save must name the stored version', async () => {
    const env = freshEnv();
    expect(await settings.get(env)).toBeUndefined();
    expect(await settings.put(saved(env, 1), 0)).toBe(true);
    expect(await settings.put(saved(env, 1, { cadence: 'weekly' }), 0)).toBe(false);
    expect(await settings.put(saved(env, 3, { cadence: 'weekly' }), 2)).toBe(false);
    expect(await settings.put(saved(env, 2, { cadence: 'weekly' }), 1)).toBe(true);
    expect(await settings.get(env)).toEqual(saved(env, 2, { cadence: 'weekly' }));
  });

  test('of 12 parallel saves based on the same version exactly one wins, and the stored settings are its own', async () => {
    const env = freshEnv();
    await settings.put(saved(env, 1), 0);
    const attempts = Array.from({ length: 12 }, (_, i) => saved(env, 2, { notifyEmails: [`writer${i}@acme.example`] }));
    const results = await Promise.all(attempts.map((attempt) => settings.put(attempt, 1)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = attempts[results.indexOf(true)];
    expect(await settings.get(env)).toEqual(winner);
  });

  test('of 12 parallel first saves (version 0) exactly one creates the settings', async () => {
    const env = freshEnv();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => settings.put(saved(env, 1, { updatedAt: i }), 0)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await settings.get(env))!.updatedAt).toBe(results.indexOf(true));
  });

  test('settings saved before versions existed read as version 0, and a save of version 0 replaces them', async () => {
    const env = freshEnv();
    const { version: _none, ...legacy } = saved(env, 0);
    await clients.documentClient.send(
      new PutCommand({ TableName: TABLES.configTable, Item: { pk: `ENV#${env}`, sk: 'EXPORT#SETTINGS', ...legacy } }),
    );
    expect((await settings.get(env))!.version).toBe(0);
    expect(await settings.put(saved(env, 1, { cadence: 'weekly' }), 0)).toBe(true);
    expect(await settings.get(env)).toEqual(saved(env, 1, { cadence: 'weekly' }));
  });

  test('every save marks the settings unreconciled; the mark goes only for the version still stored', async () => {
    const env = freshEnv();
    await settings.put(saved(env, 1), 0);
    expect(await unreconciled()).toContain(env);
    await settings.put(saved(env, 2), 1);
    await settings.markReconciled(env, 1); // a reconcile of the older version: the newer one is not reconciled yet
    expect(await unreconciled()).toContain(env);
    await settings.markReconciled(env, 2);
    expect(await unreconciled()).not.toContain(env);
    const absent = freshEnv();
    await settings.markReconciled(absent, 1); // none saved: nothing to unmark, nothing created
    expect(await settings.get(absent)).toBeUndefined();
    const stored = await clients.documentClient.send(
      new GetCommand({ TableName: TABLES.configTable, Key: { pk: `ENV#${env}`, sk: 'EXPORT#SETTINGS' } }),
    );
    expect(stored.Item!.unreconciledPk).toBeUndefined();
    expect(await settings.get(env)).toEqual(saved(env, 2));
  });

  test('the stop switches off and raises the version only at the expected version, marking the settings unreconciled', async () => {
    const env = freshEnv();
    await settings.put(saved(env, 1), 0);
    await settings.markReconciled(env, 1);
    expect(await settings.stop(env, 0, T0 + 5, 'Stopped.')).toBe(false);
    expect(await settings.stop(freshEnv(), 0, T0 + 5, 'Stopped.')).toBe(false);
    expect(await unreconciled()).not.toContain(env);

    const [first, second] = await Promise.all([
      settings.stop(env, 1, T0 + 5, 'Stopped.'),
      settings.stop(env, 1, T0 + 6, 'Stopped.'),
    ]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    expect(await settings.get(env)).toEqual({
      ...saved(env, 2),
      enabled: false,
      stoppedAt: first ? T0 + 5 : T0 + 6,
      stoppedReason: 'Stopped.',
      updatedAt: T0 + 1,
    });
    expect(await unreconciled()).toContain(env);
    // The customer's save based on the settings read before the stop is refused.
    expect(await settings.put(saved(env, 2), 1)).toBe(false);
  });
});

describe('DynamoDbFailingExportsStore', () => {
  async function failingSince(env: string, finishedAt: number) {
    await runs.recordOutcome(env, finishedAt - 60_000, {
      status: 'failed',
      finishedAt,
      durationMs: 60_000,
      error: 'Access denied.',
      errorCode: 'access_denied',
      failureClass: 'customer',
    });
  }

  test('of 10 parallel claims of one email exactly one wins; a claim of an ended sequence never does', async () => {
    const env = freshEnv();
    await failingSince(env, T0);
    const claims = await Promise.all(Array.from({ length: 10 }, () => failing.claimEmail(env, T0, 1)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await failing.claimEmail(env, T0 - 1, 2)).toBe(false);
    await failing.endSequence(env, T0);
    expect(await failing.claimEmail(env, T0, 2)).toBe(false);
  });
});

describe('the transient failures index', () => {
  const outcome = (failureClass: 'customer' | 'transient' | 'internal', finishedAt: number) => ({
    status: 'failed' as const,
    finishedAt,
    durationMs: 1,
    error: 'failed',
    errorCode: failureClass === 'customer' ? 'access_denied' : 'internal_error',
    failureClass,
  });
  const listed = async (before: number) => {
    const found: { environmentId: string; transientSince: number }[] = [];
    for await (const entry of failing.listFailingTransientlySince(before)) found.push(entry);
    return found;
  };

  test('holds an export from its first transient failure until any other outcome, keeping the first instant', async () => {
    const env = freshEnv();
    await runs.recordOutcome(env, T0, outcome('transient', T0 + 1));
    await runs.recordOutcome(env, T0 + 10, outcome('transient', T0 + 11));
    expect(await listed(T0 + 1)).toContainEqual({ environmentId: env, transientSince: T0 + 1 });
    expect((await listed(T0)).map((e) => e.environmentId)).not.toContain(env);
    await runs.recordOutcome(env, T0 + 20, outcome('internal', T0 + 21));
    expect((await listed(T0 + 100)).map((e) => e.environmentId)).not.toContain(env);
    expect((await runs.getStatus(env))?.transientSince).toBeUndefined();
  });

  test('endTransientFailures ends only the run of failures that began at the given instant', async () => {
    const env = freshEnv();
    await runs.recordOutcome(env, T0, outcome('transient', T0 + 1));
    await failing.endTransientFailures(env, T0);
    expect(await listed(T0 + 1)).toContainEqual({ environmentId: env, transientSince: T0 + 1 });
    await failing.endTransientFailures(env, T0 + 1);
    expect((await listed(T0 + 1)).map((e) => e.environmentId)).not.toContain(env);
  });
});
