import { DynamoDbTenantStore } from '../../lambdas/adapters/dynamodb/tenant-store';
import { DeleteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { COMPACT_AT_DAYS, DynamoDbUsageStore, FOLD_FEEDBACK_AT } from '../../lambdas/adapters/dynamodb/usage-store';
import { ConflictError, ValidationError } from '../../lambdas/core/errors';
import {
  DAY_MS,
  feedbackTally,
  type CompanyUsage,
  type FeatureDefinition,
  type SegmentDefinition,
} from '../../lambdas/core/model';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';

const TABLES = { configTable: 'config', usageTable: 'usage' };
const DAY0 = 20_000; // 2024-10-04
const at = (day: number, hour: number, minute = 0) => (DAY0 + day) * DAY_MS + hour * 3_600_000 + minute * 60_000;

let emulators: RunningEmulators;
let clients: EmulatorClients;
let tenants: DynamoDbTenantStore;
let usage: DynamoDbUsageStore;
let queryCalls = 0;
let envCounter = 0;
const freshEnv = () => `env_${++envCounter}`;

beforeAll(async () => {
  emulators = await startEmulators();
  clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, TABLES);
  await ensureTables(clients.dynamodb, TABLES); // idempotent
  clients.documentClient.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'QueryCommand') queryCalls++;
      return next(args);
    },
    { step: 'initialize', name: 'countQueries' },
  );
  tenants = new DynamoDbTenantStore({ client: clients.documentClient, tableName: TABLES.configTable });
  usage = new DynamoDbUsageStore({ client: clients.documentClient, tableName: TABLES.usageTable });
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

/** Deterministic shuffle (mulberry32), so a failure reproduces. */
function shuffled<T>(values: T[], seed: number): T[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const result = [...values];
  for (let i = result.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [result[i], result[j]] = [result[j], result[i]];
  }
  return result;
}

async function collect(environmentId: string): Promise<CompanyUsage[]> {
  const result: CompanyUsage[] = [];
  for await (const company of usage.streamCompanyUsage(environmentId)) result.push(company);
  return result;
}

async function companyUsage(environmentId: string, companyId: string): Promise<CompanyUsage> {
  const found = (await collect(environmentId)).find((c) => c.company.companyId === companyId);
  if (!found) throw new Error(`company ${companyId} not streamed`);
  return found;
}

/** Expected per-day latest map from timestamps. */
function dayLatest(timestamps: number[]): Map<number, number> {
  const days = new Map<number, number>();
  for (const t of [...timestamps].sort((a, b) => a - b)) days.set(Math.floor(t / DAY_MS), t);
  return new Map([...days].sort(([a], [b]) => a - b));
}

const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** A ConflictError's message is what the API answers with its 409, so it is checked word for word. */
async function expectConflict(operation: Promise<unknown>, message: string): Promise<void> {
  const error: unknown = await operation.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ConflictError);
  expect((error as ConflictError).message).toBe(message);
}

describe('DynamoDbTenantStore', () => {
  test('creates an organization once and refuses a duplicate id', async () => {
    const org = { id: 'org_1', name: 'Acme', plan: 'pro' as const, createdAt: 1_700_000_000_000 };
    await tenants.createOrganization(org);
    await expectConflict(
      tenants.createOrganization({ ...org, name: 'Other' }),
      'An organization with id "org_1" already exists.',
    );
    expect(await tenants.getOrganization('org_1')).toEqual(org);
    expect(await tenants.getOrganization('org_missing')).toBeUndefined();
  });

  test('updates the plan of an existing organization only', async () => {
    const org = { id: 'org_plan', name: 'Plan Co', plan: 'free' as const, createdAt: 1 };
    await tenants.createOrganization(org);
    expect(await tenants.updateOrganizationPlan('org_plan', 'enterprise')).toEqual({ ...org, plan: 'enterprise' });
    expect(await tenants.getOrganization('org_plan')).toEqual({ ...org, plan: 'enterprise' });
    expect(await tenants.updateOrganizationPlan('org_nope', 'pro')).toBeUndefined();
    expect(await tenants.getOrganization('org_nope')).toBeUndefined();
  });

  test('stores an environment with its ingest-key lookup by hash and refuses duplicates', async () => {
    const env = {
      id: 'env_a',
      organizationId: 'org_1',
      name: 'Production',
      ingestKeyHash: 'hash_a',
      ingestKeyPrefix: 'ik_aaa',
      createdAt: 5,
    };
    await tenants.createEnvironment(env);
    expect(await tenants.getEnvironment('env_a')).toEqual(env);
    expect(await tenants.findIngestKey('hash_a')).toEqual({ environment: env });
    expect(await tenants.findIngestKey('hash_unknown')).toBeUndefined();
    expect(await tenants.getEnvironment('env_unknown')).toBeUndefined();

    await expectConflict(
      tenants.createEnvironment({ ...env, ingestKeyHash: 'hash_other' }),
      'An environment with id "env_a" already exists.',
    );
    expect(await tenants.findIngestKey('hash_other')).toBeUndefined();

    // A key collision leaves neither the new environment nor a changed lookup behind.
    await expectConflict(
      tenants.createEnvironment({ ...env, id: 'env_b' }),
      'The ingest key is already in use by another environment.',
    );
    expect(await tenants.getEnvironment('env_b')).toBeUndefined();
    expect(await tenants.findIngestKey('hash_a')).toEqual({ environment: env });
  });

  test('a storage failure is passed on, never taken for a duplicate or a missing organization', async () => {
    const unreachable = new DynamoDbTenantStore({ client: clients.documentClient, tableName: 'config_missing' });
    const org = { id: 'org_lost', name: 'Lost', plan: 'pro' as const, createdAt: 1 };
    const created = unreachable.createOrganization(org).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(await created).toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(unreachable.updateOrganizationPlan(org.id, 'free')).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  test('replacing an ingest key: the old key gets its end and the TTL in epoch seconds, the current key none', async () => {
    const env = {
      id: 'env_rotate',
      organizationId: 'org_1',
      name: 'Production',
      ingestKeyHash: 'hash_rotate_1',
      ingestKeyPrefix: 'ik_rt1',
      createdAt: 7,
    };
    await tenants.createEnvironment(env);
    const validUntil = Date.parse('2026-03-02T10:00:00.500Z');
    const rotated = await tenants.replaceIngestKey(env, { hash: 'hash_rotate_2', prefix: 'ik_rt2' }, validUntil);
    expect(rotated).toEqual({ ...env, ingestKeyHash: 'hash_rotate_2', ingestKeyPrefix: 'ik_rt2' });
    expect(await tenants.findIngestKey('hash_rotate_1')).toStrictEqual({ environment: env, validUntil });
    // The current key carries no end at all (not even an undefined one).
    expect(await tenants.findIngestKey('hash_rotate_2')).toStrictEqual({ environment: rotated });
    const { Item } = await clients.documentClient.send(
      new GetCommand({ TableName: TABLES.configTable, Key: { pk: 'INGESTKEY#hash_rotate_1', sk: 'META' } }),
    );
    // DynamoDB's TTL reads epoch seconds: the first whole second not before the end, so never early.
    expect(Item?.expiresAt).toBe(Date.parse('2026-03-02T10:00:01Z') / 1000);

    // A replay with the stale environment (the key it names is no longer current) loses, and its key never works.
    await expectConflict(
      tenants.replaceIngestKey(env, { hash: 'hash_rotate_3', prefix: 'ik_rt3' }, validUntil),
      "The environment's ingest key was rotated by another request at the same time. Use the key that request answered, or rotate again.",
    );
    expect(await tenants.findIngestKey('hash_rotate_3')).toBeUndefined();
    expect(await tenants.getEnvironment(env.id)).toEqual(rotated);
  });

  test('a new ingest key colliding with an existing one is refused before anything changes', async () => {
    const env = {
      id: 'env_collide',
      organizationId: 'org_1',
      name: 'Production',
      ingestKeyHash: 'hash_collide_1',
      ingestKeyPrefix: 'ik_co1',
      createdAt: 8,
    };
    const other = { ...env, id: 'env_collide_other', ingestKeyHash: 'hash_collide_2', ingestKeyPrefix: 'ik_co2' };
    await tenants.createEnvironment(env);
    await tenants.createEnvironment(other);
    await expectConflict(
      tenants.replaceIngestKey(env, { hash: other.ingestKeyHash, prefix: 'ik_new' }, 1_800_000_000_000),
      'The new ingest key collides with an existing one. Please rotate again.',
    );
    expect(await tenants.getEnvironment(env.id)).toEqual(env);
    expect(await tenants.findIngestKey(env.ingestKeyHash)).toStrictEqual({ environment: env });
    expect(await tenants.findIngestKey(other.ingestKeyHash)).toStrictEqual({ environment: other });
  });

  test('puts and lists features and segments, overwriting on the same id', async () => {
    await tenants.createEnvironment({
      id: 'env_defs',
      organizationId: 'org_1',
      name: 'Staging',
      ingestKeyHash: 'hash_defs',
      ingestKeyPrefix: 'ik_def',
      createdAt: 1,
    });
    const exportFeature: FeatureDefinition = {
      id: 'f1',
      key: 'export',
      name: 'Export',
      adoption: { minActiveDays: 5, windowDays: 28 },
    };
    const search: FeatureDefinition = {
      id: 'f2',
      key: 'search',
      name: 'Search',
      adoption: { minActiveDays: 2, windowDays: 7 },
    };
    await tenants.putFeature('env_defs', exportFeature);
    await tenants.putFeature('env_defs', search);
    await tenants.putFeature('env_defs', { ...exportFeature, name: 'CSV export' });
    await tenants.putFeature('env_other', { ...search, id: 'f9' });
    expect(await tenants.listFeatures('env_defs')).toEqual([{ ...exportFeature, name: 'CSV export' }, search]);

    const big: SegmentDefinition = {
      id: 's1',
      name: 'Big',
      conditions: [
        { attribute: 'employees', operator: 'greaterThan', value: 100 },
        { attribute: 'plan', operator: 'anyOf', values: ['pro', null, 3, true] },
        { attribute: 'churned', operator: 'isNotSet' },
        { attribute: 'note', operator: 'equals', value: '' },
        { field: 'lastSeen', operator: 'lessThanDaysAgo', days: 7 },
      ],
    };
    const none: SegmentDefinition = { id: 's2', name: 'Everyone', conditions: [] };
    await tenants.putSegment('env_defs', none);
    await tenants.putSegment('env_defs', { ...big, name: 'Old name' });
    await tenants.putSegment('env_defs', big);
    expect(await tenants.listSegments('env_defs')).toEqual([big, none]);
    expect(await tenants.listSegments('env_empty')).toEqual([]);
    // The environment's own item shares the partition and is not a definition.
    expect(await tenants.getEnvironment('env_defs')).toMatchObject({ id: 'env_defs' });
  });
});

describe('DynamoDbUsageStore', () => {
  test('events in random order give each day its latest time and the exact first use', async () => {
    const env = freshEnv();
    const days = [0, 1, 3, 7, 8, 20, 27];
    const times = days.flatMap((day, i) => [at(day, 9, i), at(day, 17, 30), at(day, 12), at(day, 23, 59)]);
    for (const t of shuffled(times, 42)) await usage.recordEvent(env, { companyId: 'acme', eventKey: 'export', at: t });
    await usage.recordCompany(env, {
      companyId: 'acme',
      at: at(2, 8),
      attributes: { name: 'Acme Inc', employees: 40 },
    });

    const itemsBefore = usage.itemsStreamed;
    const result = await companyUsage(env, 'acme');
    const itemsRead = usage.itemsStreamed - itemsBefore;
    expect(result.usage).toEqual([
      { eventKey: 'export', firstUsed: Math.min(...times), usedDays: dayLatest(times), feedback: [] },
    ]);
    expect(result.company).toEqual({
      companyId: 'acme',
      name: 'Acme Inc',
      attributes: { name: 'Acme Inc', employees: 40 },
      firstSeen: Math.min(...times),
      seenDays: dayLatest([...times, at(2, 8)]),
    });
    expect([...result.usage[0].usedDays.keys()]).toEqual(days.map((d) => DAY0 + d));
    expect(itemsRead).toBe(2);
  });

  test('an earlier company update lowers firstSeen; attributes merge key by key, the latest sent value of each winning', async () => {
    const env = freshEnv();
    await usage.recordCompany(env, { companyId: 'c', at: at(5, 10), attributes: { name: 'First', tier: 'gold' } });
    await usage.recordCompany(env, { companyId: 'c', at: at(5, 9), attributes: { seats: 3 } });
    await usage.recordCompany(env, {
      companyId: 'c',
      at: at(1, 9),
      attributes: { name: 'Renamed', active: false, gone: null },
    });
    await usage.recordCompany(env, { companyId: 'c', at: at(6, 1) });
    const { company, usage: records } = await companyUsage(env, 'c');
    expect(company).toEqual({
      companyId: 'c',
      name: 'First',
      attributes: { name: 'First', tier: 'gold', seats: 3, active: false, gone: null },
      firstSeen: at(1, 9),
      seenDays: dayLatest([at(1, 9), at(5, 10), at(6, 1)]),
    });
    expect(records).toEqual([]);
  });

  test('an attribute named like an Object property ("constructor") is stored and read back as any other', async () => {
    const env = freshEnv();
    const attributes = { constructor: 'Acme Builders', toString: 'plain text' };
    await usage.recordCompany(env, { companyId: 'builder', at: at(3, 9), attributes });
    expect((await companyUsage(env, 'builder')).company.attributes).toEqual(attributes);
  });

  test('feedback alone creates the usage with no first use; events add to it', async () => {
    const env = freshEnv();
    await usage.recordFeedback(env, { id: 'f1', companyId: 'fb', eventKey: 'search', at: at(3, 10), score: 4 });
    await usage.recordFeedback(env, { id: 'f2', companyId: 'fb', eventKey: 'search', at: at(1, 10), score: null });
    let result = await companyUsage(env, 'fb');
    expect(result.usage).toEqual([
      {
        eventKey: 'search',
        firstUsed: null,
        usedDays: new Map(),
        feedback: expect.arrayContaining([
          { at: at(3, 10), count: 1, scoreCount: 1, scoreSum: 4 },
          { at: at(1, 10), count: 1, scoreCount: 0, scoreSum: 0 },
        ]),
      },
    ]);
    expect(result.company.firstSeen).toBe(at(1, 10));
    expect(result.company.name).toBeNull();

    await usage.recordEvent(env, { companyId: 'fb', eventKey: 'search', at: at(4, 2) });
    result = await companyUsage(env, 'fb');
    expect(result.usage[0].firstUsed).toBe(at(4, 2));
    expect(result.usage[0].usedDays).toEqual(new Map([[DAY0 + 4, at(4, 2)]]));
    expect(result.usage[0].feedback).toHaveLength(2);
  });

  test('a time before 2000 is refused before anything is written, so the company keeps compacting', async () => {
    const env = freshEnv();
    for (let day = 0; day < COMPACT_AT_DAYS - 1; day++)
      await usage.recordEvent(env, { companyId: 'old1', eventKey: 'e', at: at(day, 12) });
    const before = await companyUsage(env, 'old1');
    const pre1970 = Date.parse('1969-12-25T00:00:00Z');
    const refused = usage.recordEvent(env, { companyId: 'old1', eventKey: 'e', at: pre1970 });
    await expect(refused).rejects.toThrow(ValidationError);
    await expect(refused).rejects.toMatchObject({
      message: 'Invalid timestamp: must be epoch milliseconds from 2000-01-01T00:00:00Z on.',
      issues: [{ path: 'timestamp', message: `${pre1970} is not a time from 2000-01-01 on` }],
    });
    await expect(usage.recordCompany(env, { companyId: 'old1', at: pre1970 })).rejects.toThrow(ValidationError);
    await expect(
      usage.recordFeedback(env, { id: 'f_old1', companyId: 'old1', eventKey: 'e', at: pre1970, score: 1 }),
    ).rejects.toThrow(ValidationError);
    expect(await companyUsage(env, 'old1')).toEqual(before);
    // The next days compact as usual.
    const later = [at(COMPACT_AT_DAYS, 12), at(COMPACT_AT_DAYS + 1, 12)];
    for (const t of later) await usage.recordEvent(env, { companyId: 'old1', eventKey: 'e', at: t });
    const after = await companyUsage(env, 'old1');
    expect(after.usage[0].usedDays.size).toBe(COMPACT_AT_DAYS + 1);
  });

  test('50 concurrent writes to one new company lose nothing', async () => {
    const env = freshEnv();
    const calls = Array.from({ length: 50 }, (_, i) => {
      switch (i % 3) {
        case 0:
          return usage.recordEvent(env, { companyId: 'hot', eventKey: 'export', at: at(i, 12) });
        case 1:
          return usage.recordCompany(env, { companyId: 'hot', at: at(i, 12), attributes: { [`k${i}`]: i } });
        default:
          return usage.recordFeedback(env, {
            id: `f${i}`,
            companyId: 'hot',
            eventKey: 'export',
            at: at(i, 12),
            score: (i % 5) + 1,
          });
      }
    });
    // And 50 more on one day, racing on the same map entry and on firstUsed of a second key.
    const sameDay = shuffled(
      Array.from({ length: 50 }, (_, i) => at(60, 0, i)),
      7,
    );
    await Promise.all([
      ...calls,
      ...sameDay.map((t) => usage.recordEvent(env, { companyId: 'hot', eventKey: 'search', at: t })),
    ]);

    const itemsBefore = usage.itemsStreamed;
    const { company, usage: records } = await companyUsage(env, 'hot');
    const itemsRead = usage.itemsStreamed - itemsBefore;
    const indexes = Array.from({ length: 50 }, (_, i) => i);
    expect(company.seenDays).toEqual(dayLatest([...indexes.map((i) => at(i, 12)), at(60, 0, 49)]));
    expect(company.firstSeen).toBe(at(0, 12));
    expect(company.attributes).toEqual(Object.fromEntries(indexes.filter((i) => i % 3 === 1).map((i) => [`k${i}`, i])));
    expect(itemsRead).toBe(3);

    const exportUsage = records.find((r) => r.eventKey === 'export')!;
    expect(exportUsage.usedDays).toEqual(dayLatest(indexes.filter((i) => i % 3 === 0).map((i) => at(i, 12))));
    expect(exportUsage.firstUsed).toBe(at(0, 12));
    const expectedFeedback = indexes
      .filter((i) => i % 3 === 2)
      .map((i) => feedbackTally({ at: at(i, 12), score: (i % 5) + 1 }));
    expect([...exportUsage.feedback].sort((a, b) => a.at - b.at)).toEqual(expectedFeedback);

    const searchUsage = records.find((r) => r.eventKey === 'search')!;
    expect(searchUsage.usedDays).toEqual(new Map([[DAY0 + 60, at(60, 0, 49)]]));
    expect(searchUsage.firstUsed).toBe(at(60, 0, 0));
  });

  /** The stored usage item of a company x event key, as DynamoDB holds it. */
  async function rawUsageItem(env: string, companyId: string, eventKey: string): Promise<Record<string, unknown>> {
    const { Item } = await clients.documentClient.send(
      new GetCommand({
        TableName: TABLES.usageTable,
        Key: { pk: `ENV#${env}`, sk: `C#${Buffer.from(companyId, 'utf8').toString('hex')}#U#${eventKey}` },
      }),
    );
    return Item!;
  }

  test('compacts the recent days into the log as days are added, and reads both back', async () => {
    const env = freshEnv();
    const times = Array.from({ length: 30 }, (_, day) => [at(day, 9), at(day, 18)]).flat();
    for (const t of times) await usage.recordEvent(env, { companyId: 'c', eventKey: 'export', at: t });

    const item = await rawUsageItem(env, 'c', 'export');
    const recentDays = Object.keys(item.used as object).length;
    const loggedDays = (item.usedLog as Uint8Array).byteLength / 8;
    // The map never reaches COMPACT_AT_DAYS days; the log holds the rest (a day's later time written
    // after its compaction comes back into the map, and is folded again with the next days).
    expect(recentDays).toBeLessThan(COMPACT_AT_DAYS);
    expect(loggedDays).toBeGreaterThan(30 - COMPACT_AT_DAYS);
    expect(item.logVersion).toBeGreaterThanOrEqual(Math.floor(30 / COMPACT_AT_DAYS));
    const { usage: records, company } = await companyUsage(env, 'c');
    expect(records[0].usedDays).toEqual(dayLatest(times));
    expect([...records[0].usedDays.keys()]).toEqual(Array.from({ length: 30 }, (_, day) => DAY0 + day));
    expect(company.seenDays).toEqual(dayLatest(times));
  });

  test('a compaction that read the log before another one is refused, even when the recent days look the same again', async () => {
    const env = freshEnv();
    const times = Array.from({ length: COMPACT_AT_DAYS + 1 }, (_, day) => at(day, 10));
    for (const t of times.slice(0, COMPACT_AT_DAYS - 1))
      await usage.recordEvent(env, { companyId: 'v', eventKey: 'k', at: t });

    // Writer A adds day 8: its compaction has read the item (empty log, days 1-8) and is held just
    // before its conditional write.
    const heldClients = createEmulatorClients(emulators);
    let reachedHold!: () => void;
    const held = new Promise<void>((resolve) => (reachedHold = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    heldClients.documentClient.middlewareStack.add(
      (next, context) => async (args) => {
        const input = JSON.stringify(args.input);
        if (context.commandName === 'UpdateItemCommand' && input.includes('REMOVE') && input.includes('#U#')) {
          reachedHold();
          await released;
        }
        return next(args);
      },
      { step: 'initialize', name: 'holdUsageCompaction' },
    );
    const writerA = new DynamoDbUsageStore({ client: heldClients.documentClient, tableName: TABLES.usageTable });
    const eventA = writerA.recordEvent(env, { companyId: 'v', eventKey: 'k', at: times[COMPACT_AT_DAYS - 1] });
    await held;

    // Meanwhile writer B adds day 9 and compacts days 1-9 into the log.
    await usage.recordEvent(env, { companyId: 'v', eventKey: 'k', at: times[COMPACT_AT_DAYS] });
    const compacted = await rawUsageItem(env, 'v', 'k');
    expect((compacted.usedLog as Uint8Array).byteLength).toBe(8 * (COMPACT_AT_DAYS + 1));
    // And a retried ingest batch writes days 1-8 into the map again, with the very same times.
    for (const [i, t] of times.slice(0, COMPACT_AT_DAYS).entries()) {
      await clients.documentClient.send(
        new UpdateCommand({
          TableName: TABLES.usageTable,
          Key: { pk: `ENV#${env}`, sk: `C#${Buffer.from('v', 'utf8').toString('hex')}#U#k` },
          UpdateExpression: 'SET #used.#day = :at',
          ExpressionAttributeNames: { '#used': 'used', '#day': String(DAY0 + i) },
          ExpressionAttributeValues: { ':at': t },
        }),
      );
    }

    // A's write now finds the same recent days, but not the log it read: it must not replace B's log.
    release();
    await eventA;
    heldClients.destroy();
    const { usage: records } = await companyUsage(env, 'v');
    expect(records[0].usedDays).toEqual(dayLatest(times));
  });

  test('late and concurrent writes racing the compactions lose nothing', async () => {
    const env = freshEnv();
    // 40 days, each written 4 times out of order, 20 writes in flight at a time: days already folded
    // into the log come back into the map with later (or earlier) times while compactions run.
    const times = shuffled(
      Array.from({ length: 40 }, (_, day) => [at(day, 1), at(day, 23, 59), at(day, 12), at(day, 6)]).flat(),
      11,
    );
    for (let start = 0; start < times.length; start += 20) {
      await Promise.all(
        times.slice(start, start + 20).map((t) => usage.recordEvent(env, { companyId: 'race', eventKey: 'k', at: t })),
      );
    }
    const { usage: records, company } = await companyUsage(env, 'race');
    expect(records[0].usedDays).toEqual(dayLatest(times));
    expect(records[0].firstUsed).toBe(Math.min(...times));
    expect(company.seenDays).toEqual(dayLatest(times));
    const item = await rawUsageItem(env, 'race', 'k');
    expect((item.usedLog as Uint8Array).byteLength).toBeGreaterThan(0);
  });

  test('streams companies grouped, in UTF-8 order, for ids that prefix each other or hold special characters', async () => {
    const env = freshEnv();
    const ids = ['a', 'ab', 'a!', 'a b', 'a#', 'a#U#x', 'C#', 'ü', 'ünï', '日本', '😀', 'b', 'A', ' '];
    const keysOf = (id: string, i: number) => ['k', 'k#2', '#U#', 'ü'].slice(0, 1 + (i % 4)).map((k) => `${k}-${id}`);
    await Promise.all(
      ids.map(async (id, i) => {
        for (const key of keysOf(id, i)) await usage.recordEvent(env, { companyId: id, eventKey: key, at: at(i, 1) });
        await usage.recordCompany(env, { companyId: id, at: at(i, 2), attributes: { name: `Name of ${id}` } });
      }),
    );
    await usage.recordUser(env, { userId: 'u1', at: at(0, 0), companyId: 'a' });
    // Another environment with a prefix of this one's id is never streamed with it.
    await usage.recordEvent(`${env}0`, { companyId: 'a', eventKey: 'other', at: at(0, 0) });

    const itemsBefore = usage.itemsStreamed;
    const streamed = await collect(env);
    expect(usage.itemsStreamed - itemsBefore).toBe(ids.reduce((sum, id, i) => sum + 1 + keysOf(id, i).length, 0));
    expect(streamed.map((c) => c.company.companyId)).toEqual([...ids].sort(byUtf8));
    for (const result of streamed) {
      const i = ids.indexOf(result.company.companyId);
      expect(result.company.name).toBe(`Name of ${ids[i]}`);
      expect(result.usage.map((u) => u.eventKey).sort()).toEqual(keysOf(ids[i], i).sort());
    }
    expect(await collect(`${env}9`)).toEqual([]);
  });

  test('remembers the company of a user by the latest update time', async () => {
    const env = freshEnv();
    expect(await usage.findUserCompany(env, 'u')).toBeUndefined();
    await usage.recordUser(env, { userId: 'u', at: at(0, 1) });
    expect(await usage.findUserCompany(env, 'u')).toBeUndefined();
    await usage.recordUser(env, { userId: 'u', at: at(2, 1), companyId: 'new' });
    await usage.recordUser(env, { userId: 'u', at: at(1, 1), companyId: 'old' });
    expect(await usage.findUserCompany(env, 'u')).toBe('new');
    await usage.recordUser(env, { userId: 'u', at: at(3, 1) });
    expect(await usage.findUserCompany(env, 'u')).toBe('new');
    await usage.recordUser(env, { userId: 'u', at: at(4, 1), companyId: 'newer' });
    expect(await usage.findUserCompany(env, 'u')).toBe('newer');
    expect(await collect(env)).toEqual([]);
  });

  test('putCompanyUsage round-trips exactly through streamCompanyUsage and overwrites', async () => {
    const env = freshEnv();
    const companies = ['z-last', 'b', 'a', 'ä'].map((id, n): CompanyUsage => ({
      company: {
        companyId: id,
        name: n === 1 ? null : `Company ${id}`,
        attributes:
          n === 1 ? { plan: 'free', seats: 0, trial: true, note: null } : { name: `Company ${id}`, empty: '' },
        firstSeen: at(0, n),
        seenDays: new Map([0, 2, 5 + n].map((d) => [DAY0 + d, at(d, 20)])),
      },
      usage: Array.from({ length: n + 1 }, (_, k) => ({
        eventKey: `feature-${k}`,
        firstUsed: k === 1 ? null : at(k, 3),
        usedDays: k === 1 ? new Map() : new Map([k, k + 1].map((d) => [DAY0 + d, at(d, 4)])),
        // Daily tallies, as the store folds them.
        feedback:
          k === 0
            ? []
            : [
                { at: at(k + 1, 0) - 1, count: 3, scoreCount: k % 2, scoreSum: 5 * (k % 2) },
                { at: at(k + 2, 0) - 1, count: 1, scoreCount: 1, scoreSum: 1 },
              ],
      })),
    }));
    for (const company of companies) await usage.putCompanyUsage(env, company);

    const expected = [...companies].sort((x, y) => byUtf8(x.company.companyId, y.company.companyId));
    expect(await collect(env)).toEqual(expected);

    const replaced: CompanyUsage = {
      company: { ...companies[0].company, name: 'Renamed', attributes: { name: 'Renamed' } },
      usage: [{ eventKey: 'feature-0', firstUsed: at(9, 9), usedDays: new Map([[DAY0 + 9, at(9, 9)]]), feedback: [] }],
    };
    await usage.putCompanyUsage(env, replaced);
    expect(await companyUsage(env, 'z-last')).toEqual(replaced);
  });

  test('a feedback record sent again after it was folded into the log is not counted twice', async () => {
    const env = freshEnv();
    const records = Array.from({ length: FOLD_FEEDBACK_AT + 8 }, (_, i) => ({
      id: `fold-${i}`,
      companyId: 'fb',
      eventKey: 'search',
      at: at(i % 5, 10, i),
      score: i % 5,
    }));
    for (const record of records) await usage.recordFeedback(env, record);
    const counted = async () =>
      (await companyUsage(env, 'fb')).usage[0].feedback.reduce((sum, tally) => sum + tally.count, 0);
    expect(await counted()).toBe(records.length);
    // Retries of every record, the folded ones first: each id still counts once.
    for (const record of records) await usage.recordFeedback(env, record);
    expect(await counted()).toBe(records.length);
  });

  test('usage whose company item is missing is streamed with no company, never with the one before it', async () => {
    const env = freshEnv();
    for (const companyId of ['0-first', 'a', 'b', 'c'])
      await usage.recordEvent(env, { companyId, eventKey: `${companyId}-feature`, at: at(1, 10) });
    // As while a company item is being created concurrently; the key layout is the store's own.
    for (const companyId of ['0-first', 'b'])
      await clients.documentClient.send(
        new DeleteCommand({
          TableName: TABLES.usageTable,
          Key: { pk: `ENV#${env}`, sk: `C#${Buffer.from(companyId).toString('hex')}` },
        }),
      );
    const streamed = await collect(env);
    expect(streamed.map(({ company, usage }) => [company.companyId, usage.map((u) => u.eventKey)])).toEqual([
      ['a', ['a-feature']],
      ['c', ['c-feature']],
    ]);
  });

  test('putCompanyUsage writes more items than one batch, keeps a name given apart from the attributes, and a usage without a first use takes the next event', async () => {
    const env = freshEnv();
    const company: CompanyUsage = {
      company: {
        companyId: 'big',
        name: 'Big Co',
        attributes: { plan: 'pro' },
        firstSeen: at(0, 1),
        seenDays: new Map(),
      },
      usage: Array.from({ length: 30 }, (_, k) => ({
        eventKey: `feature-${String(k).padStart(2, '0')}`,
        firstUsed: k === 0 ? null : at(1, k % 24),
        usedDays: k === 0 ? new Map() : new Map([[DAY0 + 1, at(1, k % 24)]]),
        feedback: [],
      })),
    };
    await usage.putCompanyUsage(env, company);
    const stored = await companyUsage(env, 'big');
    expect(stored.company).toMatchObject({ name: 'Big Co', attributes: { plan: 'pro', name: 'Big Co' } });
    expect(stored.usage).toEqual(company.usage);

    // A name attribute sent as null is no name (not the text "null").
    await usage.putCompanyUsage(env, {
      company: {
        companyId: 'unnamed',
        name: null,
        attributes: { name: null },
        firstSeen: at(0, 1),
        seenDays: new Map(),
      },
      usage: [],
    });
    expect((await companyUsage(env, 'unnamed')).company).toMatchObject({ name: null, attributes: { name: null } });

    await usage.recordEvent(env, { companyId: 'big', eventKey: 'feature-00', at: at(3, 5) });
    const used = (await companyUsage(env, 'big')).usage[0];
    expect(used).toMatchObject({ eventKey: 'feature-00', firstUsed: at(3, 5) });
    expect(used.usedDays).toEqual(new Map([[DAY0 + 3, at(3, 5)]]));
  });

  test('a versioned write that loses its condition 30 times in a row fails loudly instead of retrying forever', async () => {
    const env = freshEnv();
    // A rival writer on the same table: before each versioned update of the store under test, it raises
    // the version the store read, so that update's condition really fails on dynalite.
    const contended = createEmulatorClients(emulators);
    contended.documentClient.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as {
          Key?: Record<string, unknown>;
          ExpressionAttributeNames?: Record<string, string>;
        };
        const version = input.ExpressionAttributeNames?.['#version'];
        if ((version === 'attrsVersion' || version === 'fbVersion') && input.Key) {
          await clients.documentClient.send(
            new UpdateCommand({
              TableName: TABLES.usageTable,
              Key: input.Key,
              UpdateExpression: 'SET #version = if_not_exists(#version, :zero) + :one',
              ExpressionAttributeNames: { '#version': version },
              ExpressionAttributeValues: { ':zero': 0, ':one': 1 },
            }),
          );
        }
        return next(args);
      },
      { step: 'initialize', name: 'rivalVersionWrites' },
    );
    const store = new DynamoDbUsageStore({ client: contended.documentClient, tableName: TABLES.usageTable });
    try {
      await expect(
        store.recordCompany(env, { companyId: 'busy', at: at(1, 1), attributes: { plan: 'pro' } }),
      ).rejects.toThrow(new Error('Company attributes changed 30 times while being merged.'));
      await expect(
        store.recordFeedback(env, { id: 'busy-1', companyId: 'busy', eventKey: 'search', at: at(1, 2), score: 3 }),
      ).rejects.toThrow(new Error('Feedback was folded 30 times while being recorded.'));
    } finally {
      contended.destroy();
    }
  });

  describe('an environment larger than 1 MB', () => {
    const count = 3000;
    let env: string;
    beforeAll(async () => {
      env = freshEnv();
      const ids = Array.from({ length: count }, (_, i) => `company-${i}`);
      const companyFor = (id: string, i: number): CompanyUsage => {
        const days = new Map(
          Array.from({ length: 20 }, (_, d) => [DAY0 + d, at(d, i % 24, i % 60)] as [number, number]),
        );
        return {
          company: {
            companyId: id,
            name: `Name ${i}`,
            attributes: { name: `Name ${i}`, tier: i % 3 },
            firstSeen: at(0, 0),
            seenDays: days,
          },
          usage: ['export', 'search'].map((eventKey) => ({
            eventKey,
            firstUsed: at(0, 1),
            usedDays: days,
            feedback: [],
          })),
        };
      };
      for (let start = 0; start < count; start += 50) {
        await Promise.all(
          ids.slice(start, start + 50).map((id, j) => usage.putCompanyUsage(env, companyFor(id, start + j))),
        );
      }
    });

    test('is paginated without losing or splitting a company', async () => {
      const before = queryCalls;
      let streamedCount = 0;
      const itemsBefore = usage.itemsStreamed;
      const seen = new Set<string>();
      let previous = '';
      for await (const result of usage.streamCompanyUsage(env)) {
        const id = result.company.companyId;
        expect(byUtf8(previous, id)).toBeLessThan(0);
        previous = id;
        seen.add(id);
        streamedCount++;
        expect(result.usage.map((u) => u.eventKey)).toEqual(['export', 'search']);
        expect(result.usage[1].usedDays.size).toBe(20);
      }
      expect(streamedCount).toBe(count);
      expect(seen.size).toBe(count);
      expect(usage.itemsStreamed - itemsBefore).toBe(count * 3);
      expect(queryCalls - before).toBeGreaterThanOrEqual(2); // several 1 MB pages
    });

    test('fails with the error of a page read ahead that failed while the export was busy', async () => {
      // Clients of its own: a DocumentClient shares its middleware stack with the client it wraps.
      const own = createEmulatorClients(emulators);
      const failing = own.documentClient;
      let queries = 0;
      failing.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'QueryCommand' && ++queries === 2) throw new Error('throttled on page 2');
          return next(args);
        },
        { step: 'initialize', name: 'failSecondPage' },
      );
      const store = new DynamoDbUsageStore({ client: failing, tableName: TABLES.usageTable });
      let streamed = 0;
      await expect(
        (async () => {
          for await (const company of store.streamCompanyUsage(env)) {
            expect(company.usage).toHaveLength(2);
            // A busy export: page 2 fails long before the stream asks for it.
            if (streamed++ === 0) await new Promise((resolve) => setTimeout(resolve, 200));
          }
        })(),
      ).rejects.toThrow('throttled on page 2');
      expect(queries).toBe(2);
      expect(streamed).toBeGreaterThan(0);
      expect(streamed).toBeLessThan(count);
      own.destroy();
    });
  });
});
