/** User profiles and the event catalog on dynalite, with real concurrent writes. */
import { randomBytes } from 'node:crypto';
import { DynamoDbEventCatalogStore } from '../../lambdas/adapters/dynamodb/event-catalog-store';
import { DynamoDbProfileStore, PROFILE_SHARDS } from '../../lambdas/adapters/dynamodb/profile-store';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import type { UserProfile } from '../../lambdas/ports';

let emulators: RunningEmulators;
let clients: EmulatorClients;
let profiles: DynamoDbProfileStore;
let catalog: DynamoDbEventCatalogStore;
const ownClients: EmulatorClients[] = [];
const newEnvironment = () => `env_${randomBytes(6).toString('hex')}`;
const TABLES = { configTable: 'config', usageTable: 'usage', profilesTable: 'profiles' };

beforeAll(async () => {
  emulators = await startEmulators();
  clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, TABLES);
  profiles = new DynamoDbProfileStore({ client: clients.documentClient, tableName: TABLES.profilesTable });
  catalog = new DynamoDbEventCatalogStore({ client: clients.documentClient, tableName: TABLES.usageTable });
});

afterAll(async () => {
  for (const own of ownClients) own.destroy();
  clients?.destroy();
  await emulators?.stop();
});

/**
 * A document client of its own (a document client shares its middleware stack with the client it wraps)
 * that counts its Queries and, given `pageLimit`, ends each page after that many items: DynamoDB ends a
 * page at 1 MB, wherever that falls.
 */
function queryWatchingClient(pageLimit?: number) {
  const own = createEmulatorClients(emulators);
  ownClients.push(own);
  const watched = { client: own.documentClient, queries: 0 };
  own.documentClient.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'QueryCommand') {
        watched.queries++;
        if (pageLimit !== undefined) Object.assign(args.input, { Limit: pageLimit });
      }
      return next(args);
    },
    { step: 'initialize', name: 'watchQueries' },
  );
  return watched;
}

async function collect(profilesRead: AsyncIterable<UserProfile>): Promise<Map<string, UserProfile>> {
  const byUser = new Map<string, UserProfile>();
  for await (const profile of profilesRead) {
    expect(byUser.has(profile.userId)).toBe(false);
    byUser.set(profile.userId, profile);
  }
  return byUser;
}

describe('user profiles', () => {
  it('keep the latest value of each attribute, the first timestamp and the latest receive time', async () => {
    const environmentId = newEnvironment();
    await profiles.recordProfile(environmentId, {
      userId: 'alice',
      attributes: { name: 'Alice', email: 'a@x.io' },
      at: 1_000,
      receivedAt: 5_000,
    });
    await profiles.recordProfile(environmentId, {
      userId: 'alice',
      attributes: { email: 'alice@x.io', phone: '+1', prefs: { dark: true } },
      at: 900,
      receivedAt: 6_000,
    });
    const alice = (await collect(profiles.listProfiles(environmentId))).get('alice');
    expect(alice).toEqual({
      userId: 'alice',
      attributes: { name: 'Alice', email: 'alice@x.io', phone: '+1', prefs: { dark: true } },
      firstSeen: 1_000,
      updatedAt: 6_000,
    });
  });

  it('lose no attribute when updates of one user run concurrently', async () => {
    const environmentId = newEnvironment();
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        profiles.recordProfile(environmentId, {
          userId: 'bob',
          attributes: { [`key${index}`]: index },
          at: 1_000 + index,
          receivedAt: 2_000 + index,
        }),
      ),
    );
    const bob = (await collect(profiles.listProfiles(environmentId))).get('bob')!;
    expect(bob.attributes).toEqual(
      Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`key${index}`, index])),
    );
  });

  it("list every profile of the environment across its shards, and no other environment's", async () => {
    const [environmentId, other] = [newEnvironment(), newEnvironment()];
    const users = Array.from({ length: 5 * PROFILE_SHARDS }, (_, index) => `user-${index}`);
    await Promise.all(
      users.map((userId) => profiles.recordProfile(environmentId, { userId, attributes: {}, at: 1, receivedAt: 2 })),
    );
    await profiles.recordProfile(other, { userId: 'stranger', attributes: {}, at: 1, receivedAt: 2 });
    expect([...(await collect(profiles.listProfiles(environmentId))).keys()].sort()).toEqual([...users].sort());
  });

  it('are read with one Query per shard, however few there are', async () => {
    const environmentId = newEnvironment();
    const users = ['ann', 'ben', 'cy'];
    await Promise.all(
      users.map((userId) => profiles.recordProfile(environmentId, { userId, attributes: {}, at: 1, receivedAt: 2 })),
    );
    const watched = queryWatchingClient();
    const store = new DynamoDbProfileStore({ client: watched.client, tableName: TABLES.profilesTable });
    expect([...(await collect(store.listProfiles(environmentId))).keys()].sort()).toEqual(users);
    expect(watched.queries).toBe(PROFILE_SHARDS);
    expect([...(await collect(store.listProfilesChangedSince(environmentId, 2))).keys()].sort()).toEqual(users);
    expect(watched.queries).toBe(2 * PROFILE_SHARDS);
  });

  it("are all read when a shard's profiles take several pages", async () => {
    const environmentId = newEnvironment();
    const users = Array.from({ length: 3 * PROFILE_SHARDS }, (_, index) => `user-${index}`);
    await Promise.all(
      users.map((userId, index) =>
        profiles.recordProfile(environmentId, { userId, attributes: { n: index }, at: 1, receivedAt: 2 }),
      ),
    );
    const store = new DynamoDbProfileStore({ client: queryWatchingClient(2).client, tableName: TABLES.profilesTable });
    const all = await collect(store.listProfiles(environmentId));
    expect([...all.keys()].sort()).toEqual([...users].sort());
    expect(all.get('user-7')?.attributes).toEqual({ n: 7 });
    expect([...(await collect(store.listProfilesChangedSince(environmentId, 2))).keys()].sort()).toEqual(
      [...users].sort(),
    );
  });

  it('changed since T: those updated at or after T come back, unchanged ones do not', async () => {
    const environmentId = newEnvironment();
    const T = Date.parse('2026-12-07T12:00:00Z');
    const users = Array.from({ length: 60 }, (_, index) => `u${index}`);
    await Promise.all(
      users.map((userId, index) =>
        profiles.recordProfile(environmentId, {
          userId,
          attributes: { n: index },
          at: T - 10_000,
          receivedAt: T - 5_000,
        }),
      ),
    );
    const changed = users.filter((_, index) => index % 3 === 0);
    await Promise.all(
      changed.map((userId, index) =>
        profiles.recordProfile(environmentId, {
          userId,
          attributes: { plan: 'pro' },
          at: T,
          receivedAt: index === 0 ? T : T + index,
        }),
      ),
    );
    const since = await collect(profiles.listProfilesChangedSince(environmentId, T));
    expect([...since.keys()].sort()).toEqual([...changed].sort());
    expect(since.get('u3')!.attributes).toEqual({ n: 3, plan: 'pro' });
    expect((await collect(profiles.listProfilesChangedSince(environmentId, T + 1_000_000))).size).toBe(0);
  });
});

describe('event catalog store', () => {
  it('lists every name and property key, sorted, with counts summed over concurrent writes', async () => {
    const environmentId = newEnvironment();
    const sighting = (name: string, keys: string[], at: number) => ({
      name,
      count: 2,
      firstSeen: at,
      lastSeen: at,
      propertyKeys: keys,
    });
    await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        catalog.record(environmentId, [
          sighting('report_run', [`k${index}`, 'shared'], 1_000 + index),
          sighting('a#b', ['x'], 1_000 + index),
        ]),
      ),
    );
    await catalog.record(environmentId, [sighting('report', [], 5_000)]);
    const entries = await catalog.list(environmentId);
    expect(entries.map((entry) => entry.name)).toEqual(['a#b', 'report', 'report_run']);
    const reportRun = entries[2];
    expect(reportRun.count).toBe(20);
    expect(reportRun.firstSeen).toBe(1_000);
    expect(reportRun.propertyKeys).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'shared']);
    expect(entries[0]).toMatchObject({ count: 20, propertyKeys: ['x'] });
    expect(entries[1]).toEqual({ name: 'report', firstSeen: 5_000, lastSeen: 5_000, count: 2, propertyKeys: [] });
    expect(await catalog.list(newEnvironment())).toEqual([]);
  });

  it('sorts names and keys as text, not in the byte order of their stored sort keys, across pages', async () => {
    // The table orders items by the UTF-8 bytes of a name or key; JavaScript text orders by UTF-16 code
    // units. The two disagree from U+E000 on: '\uFF5E' (EF BD 9E) is stored before '😀' (F0 9F 98 80), yet
    // '😀' (D83D DE00) sorts first as text.
    const environmentId = newEnvironment();
    const names = ['\uFF5E', '😀', 'z', 'a'];
    const keys = ['\uFF5E-key', '😀-key', 'b-key'];
    await catalog.record(
      environmentId,
      names.map((name, index) => ({ name, count: 1, firstSeen: index, lastSeen: index, propertyKeys: keys })),
    );
    // Small pages: the end of a page falls between an event's own item and its key items.
    const paged = queryWatchingClient(3);
    const entries = await new DynamoDbEventCatalogStore({ client: paged.client, tableName: TABLES.usageTable }).list(
      environmentId,
    );
    expect(paged.queries).toBeGreaterThan(1);
    expect(entries.map((entry) => entry.name)).toEqual(['a', 'z', '😀', '\uFF5E']);
    for (const entry of entries) {
      expect(entry).toEqual({
        name: entry.name,
        count: 1,
        firstSeen: names.indexOf(entry.name),
        lastSeen: names.indexOf(entry.name),
        propertyKeys: ['b-key', '😀-key', '\uFF5E-key'],
      });
    }
  });
});
