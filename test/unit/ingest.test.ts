/**
 * IngestService (lambdas/core/ingest.ts) on in-memory ports: the ingest key's checks, the refusals
 * that write nothing (timestamps, unknown features, company attributes past their bound), each item's
 * identity, and how items become the usage history (attribution through the user's company, in the
 * order they were sent per user and company, counted as recorded or unattributed).
 */
import { MAX_COMPANY_ATTRIBUTES, type StoredAttributes } from '../../lambdas/core/company-attributes';
import { UnauthorizedError, ValidationError } from '../../lambdas/core/errors';
import { IngestService, ingestItemId, ingestItemIds, type IngestItem } from '../../lambdas/core/ingest';
import { hashIngestKey } from '../../lambdas/core/ingest-keys';
import { EARLIEST_TRACKED_AT, type Environment } from '../../lambdas/core/model';
import {
  OPERATIONAL_METRICS,
  type CompanyUpdate,
  type FeedbackRecord,
  type UsageEvent,
  type UsageStore,
  type UserUpdate,
} from '../../lambdas/ports';
import { FakeClock, FakeTenantStore } from '../support/fakes';
import { fakeIngestRecorders } from '../support/ingest-log-fakes';
import { RecordingMetrics } from '../support/recording-metrics';

const KEY = 'ik_0123456789abcdef0123456789abcdef';
const NOW = Date.parse('2026-12-07T10:00:00Z');
const ENVIRONMENT: Environment = {
  id: 'env_1',
  organizationId: 'org_1',
  name: 'Production',
  ingestKeyHash: hashIngestKey(KEY),
  ingestKeyPrefix: 'ik_0',
  createdAt: 0,
};

type Write = { company: CompanyUpdate } | { user: UserUpdate } | { event: UsageEvent } | { feedback: FeedbackRecord };

/** The usage history's writes in the order they happened, remembering each user's company as the store does. */
class InMemoryUsage {
  readonly writes: Write[] = [];
  readonly userCompanies = new Map<string, string>();
  readonly stored = new Map<string, StoredAttributes>();
  readonly attributeReads: string[] = [];
  /** Writes in flight at once, and the most seen (each write waits a tick, so lanes overlap). */
  private inFlight = 0;
  maxInFlight = 0;

  private async track<T>(write: () => T): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    this.inFlight--;
    return write();
  }
  async recordCompany(_: string, company: CompanyUpdate) {
    await this.track(() => this.writes.push({ company }));
  }
  async recordUser(_: string, user: UserUpdate) {
    await this.track(() => {
      this.writes.push({ user });
      if (user.companyId) this.userCompanies.set(user.userId, user.companyId);
    });
  }
  async findUserCompany(_: string, userId: string) {
    // The table is keyed by user id: DynamoDB refuses a lookup without one.
    if (typeof userId !== 'string') throw new Error('ValidationException: the key userId is missing');
    return this.track(() => this.userCompanies.get(userId));
  }
  async companyAttributes(_: string, companyId: string): Promise<StoredAttributes> {
    this.attributeReads.push(companyId);
    return this.stored.get(companyId) ?? { values: {}, times: {} };
  }
  async recordEvent(_: string, event: UsageEvent) {
    await this.track(() => this.writes.push({ event }));
  }
  async recordFeedback(_: string, feedback: FeedbackRecord) {
    await this.track(() => this.writes.push({ feedback }));
  }
}

async function setUp() {
  const clock = new FakeClock(NOW);
  const tenants = new FakeTenantStore();
  await tenants.createEnvironment(ENVIRONMENT);
  await tenants.putFeature('env_1', {
    id: 'reports',
    key: 'report_run',
    name: 'Reports',
    adoption: { minActiveDays: 5, windowDays: 28 },
  });
  const usage = new InMemoryUsage();
  const recorders = fakeIngestRecorders(clock);
  const metrics = new RecordingMetrics();
  const service = new IngestService({ tenants, usage: usage as unknown as UsageStore, clock, metrics, ...recorders });
  /** Nothing of the request reached any store. */
  const nothingWritten = async () => {
    expect(recorders.rawLog.records).toEqual([]);
    expect(usage.writes).toEqual([]);
    expect(recorders.profiles.profiles.size).toBe(0);
    expect(await recorders.catalogStore.list('env_1')).toEqual([]);
  };
  return { clock, tenants, usage, metrics, service, nothingWritten, ...recorders };
}

async function refusal(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe('IngestService.authenticate', () => {
  it('answers the environment owning the key', async () => {
    const { service } = await setUp();
    await expect(service.authenticate(KEY)).resolves.toEqual(ENVIRONMENT);
  });

  it.each([undefined, ''])('refuses a missing key (%p), saying how to send one', async (key) => {
    const { service } = await setUp();
    await expect(service.authenticate(key)).rejects.toThrow(
      new UnauthorizedError(
        'Missing ingest key. Send Authorization: Bearer <ingestKey> or ?publishableKey=<ingestKey>.',
      ),
    );
  });

  it('refuses an unknown key, pointing at the key the environment returned', async () => {
    const { service } = await setUp();
    await expect(service.authenticate('ik_ffffffffffffffffffffffffffffffff')).rejects.toThrow(
      new UnauthorizedError(
        'Unknown ingest key. Use the ingestKey returned when the environment was created or its key rotated.',
      ),
    );
  });

  it('keeps a replaced key working until its end, and refuses it from that instant on', async () => {
    const { service, tenants, clock } = await setUp();
    const validUntil = NOW + 60_000;
    await tenants.replaceIngestKey(
      ENVIRONMENT,
      { hash: hashIngestKey('ik_next0123456789abcdef0123456789'), prefix: 'ik_n' },
      validUntil,
    );
    clock.set(validUntil - 1);
    await expect(service.authenticate(KEY)).resolves.toMatchObject({ id: 'env_1' });
    clock.set(validUntil);
    await expect(service.authenticate(KEY)).rejects.toThrow(
      new UnauthorizedError(
        "This ingest key was replaced and stopped working at 2026-12-07T10:01:00.000Z. Use the environment's current key.",
      ),
    );
  });
});

describe('IngestService.features', () => {
  it("lists the environment's features", async () => {
    const { service } = await setUp();
    await expect(service.features(ENVIRONMENT)).resolves.toEqual([
      { id: 'reports', key: 'report_run', name: 'Reports', adoption: { minActiveDays: 5, windowDays: 28 } },
    ]);
  });
});

/**
 * The identities this derivation gives the items below (2026-12-07): a changed derivation would count
 * a retry that spans a deploy twice, so they must stay what they are.
 */
const GOLDEN_IDS: [IngestItem['type'], IngestItem, string][] = [
  [
    'user',
    { type: 'user', userId: 'alice', attributes: { plan: 'pro' }, context: { active: true }, at: NOW },
    'cB_R-ehvhNitNIrgIU7zp8',
  ],
  [
    'company',
    { type: 'company', companyId: 'acme', userId: 'alice', attributes: { name: 'Acme' }, at: NOW },
    '4FcoyuHYL9klMXXYD7jF_3',
  ],
  [
    'event',
    {
      type: 'event',
      event: 'report_run',
      userId: 'alice',
      companyId: 'acme',
      attributes: { rows: 1, mode: 'pdf' },
      context: { ip: '1.2.3.4' },
      at: NOW,
    },
    'V1MeSwbJX69sX37gn7FTon',
  ],
  [
    'feedback',
    { type: 'feedback', companyId: 'acme', featureId: 'reports', score: 4, attributes: { comment: 'ok' }, at: NOW },
    'ALEitZU-Lgt3uy90Ft7o0Q',
  ],
  ['alias', { type: 'alias', userId: 'alice', alias: 'anon-1', at: NOW }, 'ZnhQOmlyk7u223Y4mBB6P0'],
];

describe('ingest item identity', () => {
  const event: IngestItem = {
    type: 'event',
    event: 'report_run',
    userId: 'alice',
    companyId: 'acme',
    attributes: { rows: 1, mode: 'pdf' },
    context: { ip: '1.2.3.4' },
    at: NOW,
  };

  it('is 22 base64url characters, the same for the same environment, content and ordinal', () => {
    const id = ingestItemId('env_1', event, 0);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(ingestItemId('env_1', structuredClone(event), 0)).toBe(id);
  });

  it.each(GOLDEN_IDS)(
    'stays the same across versions of the service, so a retry after a deploy is still recognized (%s)',
    (_type, item, id) => {
      expect(ingestItemId('env_1', item, 0)).toBe(id);
    },
  );

  it('does not depend on the order attributes were sent in', () => {
    const entries = Object.entries({ a: 1, b: 'two', c: null, d: [4], e: { five: 5 } });
    const orders = [
      entries,
      [...entries].reverse(),
      [2, 0, 4, 1, 3].map((i) => entries[i]),
      [3, 4, 0, 2, 1].map((i) => entries[i]),
    ];
    const ids = orders.map((order) => ingestItemId('env_1', { ...event, attributes: Object.fromEntries(order) }, 0));
    expect(new Set(ids).size).toBe(1);
  });

  it('differs by environment and by ordinal', () => {
    const id = ingestItemId('env_1', event, 0);
    expect(ingestItemId('env_2', event, 0)).not.toBe(id);
    expect(ingestItemId('env_1', event, 1)).not.toBe(id);
  });

  // Every field an item is sent with is part of what it is: changing any one makes another item.
  const variants: [string, IngestItem, IngestItem[]][] = [
    [
      'user',
      { type: 'user', userId: 'alice', attributes: { plan: 'pro' }, context: { active: true }, at: NOW },
      [
        { type: 'user', userId: 'bob', attributes: { plan: 'pro' }, context: { active: true }, at: NOW },
        { type: 'user', userId: 'alice', attributes: { plan: 'free' }, context: { active: true }, at: NOW },
        { type: 'user', userId: 'alice', attributes: { plan: 'pro' }, context: { active: false }, at: NOW },
        { type: 'user', userId: 'alice', attributes: { plan: 'pro' }, at: NOW },
        { type: 'user', userId: 'alice', attributes: { plan: 'pro' }, context: { active: true }, at: NOW + 1 },
      ],
    ],
    [
      'company',
      { type: 'company', companyId: 'acme', userId: 'alice', attributes: { name: 'Acme' }, context: { a: 1 }, at: NOW },
      [
        {
          type: 'company',
          companyId: 'globex',
          userId: 'alice',
          attributes: { name: 'Acme' },
          context: { a: 1 },
          at: NOW,
        },
        { type: 'company', companyId: 'acme', attributes: { name: 'Acme' }, context: { a: 1 }, at: NOW },
        {
          type: 'company',
          companyId: 'acme',
          userId: 'alice',
          attributes: { name: 'Acme Inc' },
          context: { a: 1 },
          at: NOW,
        },
        {
          type: 'company',
          companyId: 'acme',
          userId: 'alice',
          attributes: { name: 'Acme' },
          context: { a: 2 },
          at: NOW,
        },
        {
          type: 'company',
          companyId: 'acme',
          userId: 'alice',
          attributes: { name: 'Acme' },
          context: { a: 1 },
          at: NOW + 1,
        },
      ],
    ],
    [
      'event',
      event,
      [
        { ...event, event: 'export_run' },
        { ...event, userId: 'bob' },
        { ...event, companyId: undefined },
        { ...event, attributes: { rows: 2, mode: 'pdf' } },
        { ...event, context: undefined },
        { ...event, at: NOW + 1 },
      ],
    ],
    [
      'feedback',
      {
        type: 'feedback',
        userId: 'alice',
        companyId: 'acme',
        featureId: 'reports',
        score: 4,
        attributes: { comment: 'ok' },
        at: NOW,
      },
      [
        { type: 'feedback', companyId: 'acme', featureId: 'reports', score: 4, attributes: { comment: 'ok' }, at: NOW },
        { type: 'feedback', userId: 'alice', featureId: 'reports', score: 4, attributes: { comment: 'ok' }, at: NOW },
        { type: 'feedback', userId: 'alice', companyId: 'acme', score: 4, attributes: { comment: 'ok' }, at: NOW },
        {
          type: 'feedback',
          userId: 'alice',
          companyId: 'acme',
          featureId: 'reports',
          featureKey: 'report_run',
          score: 4,
          attributes: { comment: 'ok' },
          at: NOW,
        },
        {
          type: 'feedback',
          userId: 'alice',
          companyId: 'acme',
          featureId: 'reports',
          score: null,
          attributes: { comment: 'ok' },
          at: NOW,
        },
        {
          type: 'feedback',
          userId: 'alice',
          companyId: 'acme',
          featureId: 'reports',
          score: 4,
          attributes: { comment: 'good' },
          at: NOW,
        },
        {
          type: 'feedback',
          userId: 'alice',
          companyId: 'acme',
          featureId: 'reports',
          score: 4,
          attributes: { comment: 'ok' },
          at: NOW + 1,
        },
      ],
    ],
    [
      'alias',
      { type: 'alias', userId: 'alice', alias: 'anon-1', at: NOW },
      [
        { type: 'alias', userId: 'bob', alias: 'anon-1', at: NOW },
        { type: 'alias', userId: 'alice', alias: 'anon-2', at: NOW },
        { type: 'alias', userId: 'alice', alias: 'anon-1', at: NOW + 1 },
      ],
    ],
  ];

  it.each(variants)('of a %s item changes with each of its fields', (_type, item, others) => {
    const ids = [item, ...others].map((candidate) => ingestItemId('env_1', candidate, 0));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('tells apart items of different types with the same ids and time', () => {
    const items: IngestItem[] = [
      { type: 'user', userId: 'alice', at: NOW },
      { type: 'alias', userId: 'alice', alias: 'alice', at: NOW },
      { type: 'company', companyId: 'alice', at: NOW },
    ];
    expect(new Set(items.map((item) => ingestItemId('env_1', item, 0))).size).toBe(3);
  });

  it('numbers identical items of one request, so each stays distinct and a retry repeats them', () => {
    const other: IngestItem = { ...event, at: NOW - 1 };
    const ids = ingestItemIds('env_1', [event, other, event, event]);
    expect(ids).toEqual([
      ingestItemId('env_1', event, 0),
      ingestItemId('env_1', other, 0),
      ingestItemId('env_1', event, 1),
      ingestItemId('env_1', event, 2),
    ]);
    expect(ingestItemIds('env_1', [event, other, event, event])).toEqual(ids);
  });
});

describe('IngestService.ingest refusals write nothing', () => {
  it('refuses a time before 2000-01-01, naming the field alone for a single item', async () => {
    const { service, nothingWritten } = await setUp();
    const error = await refusal(
      service.ingest(ENVIRONMENT, [{ type: 'user', userId: 'alice', at: EARLIEST_TRACKED_AT - 1 }]),
    );
    expect(error.message).toBe('Invalid timestamp: timestamp must be a time from 2000-01-01T00:00:00Z on.');
    expect(error.issues).toEqual([{ path: 'timestamp', message: 'must be a time from 2000-01-01T00:00:00Z on' }]);
    await nothingWritten();
  });

  it('names each bad item of a bulk by its index, and accepts 2000-01-01 itself', async () => {
    const { service, nothingWritten } = await setUp();
    const error = await refusal(
      service.ingest(ENVIRONMENT, [
        { type: 'user', userId: 'alice', at: EARLIEST_TRACKED_AT },
        { type: 'event', event: 'report_run', userId: 'alice', companyId: 'acme', at: 1.5 },
        { type: 'ignored' },
        { type: 'alias', userId: 'alice', alias: 'a', at: -1 },
      ]),
    );
    expect(error.message).toBe('Invalid timestamp: [1].timestamp must be a time from 2000-01-01T00:00:00Z on.');
    expect(error.issues.map((issue) => issue.path)).toEqual(['[1].timestamp', '[3].timestamp']);
    await nothingWritten();
  });

  it('refuses feedback naming an unknown feature id, saying which item and how to fix it', async () => {
    const { service, nothingWritten } = await setUp();
    const error = await refusal(
      service.ingest(ENVIRONMENT, [
        { type: 'feedback', companyId: 'acme', featureId: 'reports', score: 5, at: NOW },
        { type: 'feedback', companyId: 'acme', featureId: 'nope', score: 1, at: NOW },
      ]),
    );
    expect(error.message).toBe(
      'Unknown feature: no feature with id "nope" in this environment; send the feature\'s key or an existing featureId.',
    );
    expect(error.issues).toEqual([{ path: '[1].featureId', message: 'no feature with id "nope" in this environment' }]);
    await nothingWritten();
  });

  it('refuses feedback with neither a feature key nor an id', async () => {
    const { service, nothingWritten } = await setUp();
    const error = await refusal(
      service.ingest(ENVIRONMENT, [{ type: 'feedback', companyId: 'acme', score: 1, at: NOW }]),
    );
    expect(error.issues).toEqual([
      { path: 'featureId', message: 'no feature with id "undefined" in this environment' },
    ]);
    await nothingWritten();
  });

  it("refuses company attributes that take the company past its bound, counting what is stored and the request's earlier updates", async () => {
    const { service, usage, nothingWritten } = await setUp();
    const attributes = (from: number, count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${from + i}`, i]));
    usage.stored.set('acme', { values: attributes(0, MAX_COMPANY_ATTRIBUTES - 20), times: {} });
    const error = await refusal(
      service.ingest(ENVIRONMENT, [
        { type: 'company', companyId: 'globex', attributes: attributes(0, 150), at: NOW },
        { type: 'company', companyId: 'acme', attributes: attributes(1000, 15), at: NOW },
        { type: 'company', companyId: 'acme', attributes: attributes(2000, 10), at: NOW },
      ]),
    );
    expect(error.issues).toEqual([
      { path: '[2].attributes', message: expect.stringContaining('company "acme" would have 205 attributes') },
    ]);
    expect(usage.attributeReads.sort()).toEqual(['acme', 'globex']);
    await nothingWritten();
  });

  it("does not count user and event attributes against any company's bound", async () => {
    const { service, usage } = await setUp();
    const attributes = (prefix: string) =>
      Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`${prefix}${i}`, i]));
    const result = await service.ingest(ENVIRONMENT, [
      { type: 'user', userId: 'alice', attributes: attributes('u'), at: NOW },
      { type: 'user', userId: 'bob', attributes: attributes('v'), at: NOW },
      { type: 'event', event: 'e', userId: 'alice', companyId: 'acme', attributes: attributes('w'), at: NOW },
    ]);
    expect(result).toEqual({ recorded: 3, unattributed: 0 });
    expect(usage.attributeReads).toEqual([]);
  });

  it('counts nested attribute values by their JSON text', async () => {
    const { service, nothingWritten } = await setUp();
    const long = 'x'.repeat(60 * 1024);
    const error = await refusal(
      service.ingest(ENVIRONMENT, [
        { type: 'company', companyId: 'acme', attributes: { a: { text: long }, b: [long] }, at: NOW },
      ]),
    );
    // Keys 'a' and 'b', then {"text":"…"} (11 bytes around the text) and ["…"] (4 bytes).
    const bytes = 2 + (11 + long.length) + (4 + long.length);
    expect(error.issues).toEqual([
      { path: 'attributes', message: expect.stringContaining(`would have 2 attributes and ${bytes} bytes`) },
    ]);
    await nothingWritten();
  });
});

describe('IngestService.ingest into the usage history', () => {
  it("writes each item type, attributing events and feedback to the company named or their user's", async () => {
    const { service, usage, rawLog } = await setUp();
    const result = await service.ingest(ENVIRONMENT, [
      {
        type: 'company',
        companyId: 'acme',
        userId: 'alice',
        attributes: { name: 'Acme', tags: ['a'], owner: null },
        at: NOW - 3,
      },
      { type: 'user', userId: 'alice', attributes: { plan: 'pro' }, at: NOW - 2 },
      { type: 'event', event: 'report_run', userId: 'alice', at: NOW - 1 },
      { type: 'event', event: 'report_run', userId: 'bob', companyId: 'globex', at: NOW },
      { type: 'feedback', userId: 'alice', featureId: 'reports', score: 4, at: NOW },
      { type: 'feedback', companyId: 'globex', featureKey: 'export_run', score: null, at: NOW },
      { type: 'alias', userId: 'alice', alias: 'anon-1', at: NOW },
      { type: 'ignored' },
    ]);
    expect(result).toEqual({ recorded: 6, unattributed: 0 });
    const ids = rawLog.records.map((record) => record.id);
    expect(usage.writes).toEqual(
      expect.arrayContaining([
        { company: { companyId: 'acme', at: NOW - 3, attributes: { name: 'Acme', tags: '["a"]', owner: null } } },
        { user: { userId: 'alice', at: NOW - 3, companyId: 'acme' } },
        { user: { userId: 'alice', at: NOW - 2 } },
        { event: { companyId: 'acme', eventKey: 'report_run', at: NOW - 1 } },
        { event: { companyId: 'globex', eventKey: 'report_run', at: NOW } },
        { feedback: { id: ids[4], companyId: 'acme', eventKey: 'report_run', at: NOW, score: 4 } },
        { feedback: { id: ids[5], companyId: 'globex', eventKey: 'export_run', at: NOW, score: null } },
      ]),
    );
    expect(usage.writes).toHaveLength(7);
  });

  it('records a company sent without attributes with none', async () => {
    const { service, usage } = await setUp();
    await service.ingest(ENVIRONMENT, [{ type: 'company', companyId: 'acme', at: NOW }]);
    expect(usage.writes).toEqual([{ company: { companyId: 'acme', at: NOW, attributes: undefined } }]);
  });

  it('counts events and feedback that name no company and whose user has none as unattributed, and writes them nowhere in the history', async () => {
    const { service, usage, rawLog } = await setUp();
    const result = await service.ingest(ENVIRONMENT, [
      { type: 'event', event: 'report_run', userId: 'stranger', at: NOW },
      { type: 'feedback', userId: 'stranger', featureKey: 'report_run', score: 2, at: NOW },
      { type: 'feedback', featureKey: 'report_run', score: 2, at: NOW },
      { type: 'alias', userId: 'stranger', alias: 'anon', at: NOW },
      { type: 'user', userId: 'stranger', at: NOW },
    ]);
    expect(result).toEqual({ recorded: 1, unattributed: 3 });
    expect(usage.writes).toEqual([{ user: { userId: 'stranger', at: NOW } }]);
    expect(rawLog.records).toHaveLength(5);
  });

  it("writes a user's items in the order sent, so a company call linking the user attributes that user's later events", async () => {
    const { service, usage } = await setUp();
    const result = await service.ingest(ENVIRONMENT, [
      { type: 'event', event: 'report_run', userId: 'alice', at: NOW - 2 },
      { type: 'company', companyId: 'acme', userId: 'alice', at: NOW - 1 },
      { type: 'event', event: 'report_run', userId: 'alice', at: NOW },
      { type: 'feedback', userId: 'alice', featureKey: 'report_run', score: 3, at: NOW },
    ]);
    expect(result).toEqual({ recorded: 3, unattributed: 1 });
    expect(usage.writes.filter((write) => 'event' in write)).toEqual([
      { event: { companyId: 'acme', eventKey: 'report_run', at: NOW } },
    ]);
  });

  it('attributes an event sent right after the company call that linked its user', async () => {
    const { service, usage } = await setUp();
    const result = await service.ingest(ENVIRONMENT, [
      { type: 'company', companyId: 'acme', userId: 'alice', at: NOW - 1 },
      { type: 'event', event: 'report_run', userId: 'alice', at: NOW },
    ]);
    expect(result).toEqual({ recorded: 2, unattributed: 0 });
    expect(usage.writes.at(-1)).toEqual({ event: { companyId: 'acme', eventKey: 'report_run', at: NOW } });
  });

  it("keeps one company's items in order when events name it and a user's company call names it too", async () => {
    const { service, usage } = await setUp();
    await service.ingest(ENVIRONMENT, [
      { type: 'company', companyId: 'acme', attributes: { name: 'Old' }, at: NOW - 2 },
      { type: 'event', event: 'a', userId: 'alice', companyId: 'acme', at: NOW - 1 },
      { type: 'feedback', companyId: 'acme', featureKey: 'b', score: 1, at: NOW },
      { type: 'event', event: 'c', userId: 'bob', companyId: 'acme', at: NOW },
    ]);
    expect(
      usage.writes.map((write) =>
        'event' in write ? write.event.eventKey : 'feedback' in write ? write.feedback.eventKey : 'company',
      ),
    ).toEqual(['company', 'a', 'b', 'c']);
  });

  it('writes different companies in parallel lanes, at most 16 at a time, and every item of a large bulk', async () => {
    const { service, usage } = await setUp();
    const items: IngestItem[] = Array.from({ length: 40 }, (_, i) => ({
      type: 'event',
      event: 'e',
      userId: `u${i}`,
      companyId: `c${i}`,
      at: NOW,
    }));
    const result = await service.ingest(ENVIRONMENT, items);
    expect(result).toEqual({ recorded: 40, unattributed: 0 });
    expect(usage.writes).toHaveLength(40);
    expect(usage.maxInFlight).toBeGreaterThan(1);
    expect(usage.maxInFlight).toBeLessThanOrEqual(16);
  });

  it('writes different companies sent without a user in parallel lanes too', async () => {
    const { service, usage } = await setUp();
    await service.ingest(
      ENVIRONMENT,
      Array.from({ length: 20 }, (_, i): IngestItem => ({ type: 'company', companyId: `c${i}`, at: NOW })),
    );
    expect(usage.writes).toHaveLength(20);
    expect(usage.maxInFlight).toBeGreaterThan(1);
  });

  it('writes different users in parallel lanes too', async () => {
    const { service, usage } = await setUp();
    const users = (at: number) =>
      Array.from({ length: 20 }, (_, i): IngestItem => ({ type: 'user', userId: `u${i}`, at }));
    await service.ingest(ENVIRONMENT, [...users(NOW), ...users(NOW + 1)]);
    expect(usage.writes).toHaveLength(40);
    expect(usage.maxInFlight).toBeGreaterThan(1);
  });

  it("reads each company's stored attributes once, however many updates the request has", async () => {
    const { service, usage } = await setUp();
    const companies = Array.from({ length: 20 }, (_, i) => `c${i}`);
    await service.ingest(ENVIRONMENT, [
      ...companies.map((companyId): IngestItem => ({ type: 'company', companyId, attributes: { n: 1 }, at: NOW })),
      { type: 'company', companyId: 'c0', attributes: { n: 2 }, at: NOW },
      { type: 'company', companyId: 'bare', attributes: {}, at: NOW },
    ]);
    expect(usage.attributeReads.sort()).toEqual([...companies].sort());
  });

  it('logs every item but the ignored ones, stamped with the receive time, and counts them', async () => {
    const { service, rawLog, metrics, clock } = await setUp();
    clock.set(NOW + 5);
    await service.ingest(ENVIRONMENT, [
      { type: 'user', userId: 'alice', at: NOW },
      { type: 'ignored' },
      { type: 'alias', userId: 'alice', alias: 'a', at: NOW },
    ]);
    expect(rawLog.records.map(({ type, receivedAt }) => ({ type, receivedAt }))).toEqual([
      { type: 'user', receivedAt: NOW + 5 },
      { type: 'alias', receivedAt: NOW + 5 },
    ]);
    expect(metrics.counts).toEqual({
      [OPERATIONAL_METRICS.rawLogRecordsWritten]: 2,
      [OPERATIONAL_METRICS.ingestItemsAccepted]: 3,
    });
  });

  it('gives the raw record and the feedback record the same identity, the one a retry repeats', async () => {
    const { service, usage, rawLog } = await setUp();
    const items: IngestItem[] = [{ type: 'feedback', companyId: 'acme', featureId: 'reports', score: 5, at: NOW }];
    await service.ingest(ENVIRONMENT, items, NOW);
    await service.ingest(ENVIRONMENT, items, NOW + 1_000);
    const [first, second] = usage.writes as { feedback: FeedbackRecord }[];
    expect(first.feedback.id).toBe(ingestItemIds('env_1', items)[0]);
    expect(second.feedback.id).toBe(first.feedback.id);
    expect(rawLog.records.map((record) => [record.id, record.event])).toEqual([
      [first.feedback.id, 'report_run'],
      [first.feedback.id, 'report_run'],
    ]);
  });

  it('keeps the profiles and the catalog of the received users and events', async () => {
    const { service, profiles, catalogStore } = await setUp();
    await service.ingest(ENVIRONMENT, [
      { type: 'user', userId: 'alice', attributes: { plan: 'pro' }, at: NOW - 10 },
      { type: 'event', event: 'report_run', userId: 'alice', companyId: 'acme', attributes: { rows: 1 }, at: NOW },
    ]);
    expect([...profiles.profiles.values()]).toEqual([
      { userId: 'alice', attributes: { plan: 'pro' }, firstSeen: NOW - 10, updatedAt: NOW },
    ]);
    expect(await catalogStore.list('env_1')).toEqual([
      expect.objectContaining({ name: 'report_run', propertyKeys: ['rows'], count: 1 }),
    ]);
  });
});
