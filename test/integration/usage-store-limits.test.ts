/**
 * No usage or company item grows with traffic (DynamoDB refuses items over 400 KB, and dynalite
 * enforces the limit as DynamoDB does): far more feedback, attributes and days than a naive item could
 * hold, and everything keeps working and exports exact counts. Also: a bad time never breaks a company.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { COMPACT_AT_DAYS, DynamoDbUsageStore, FOLD_FEEDBACK_AT } from '../../lambdas/adapters/dynamodb/usage-store';
import { usageTimeline } from '../../lambdas/core/adoption';
import { MAX_COMPANY_ATTRIBUTE_BYTES, MAX_COMPANY_ATTRIBUTES } from '../../lambdas/core/company-attributes';
import { ValidationError } from '../../lambdas/core/errors';
import { IngestService, type IngestItem } from '../../lambdas/core/ingest';
import {
  DAY_MS,
  DEFAULT_ADOPTION,
  EARLIEST_TRACKED_AT,
  toEpochDay,
  type AttributeValue,
  type Environment,
  type FeatureUsageRecord,
} from '../../lambdas/core/model';
import { dataPoints } from '../../lambdas/core/periods';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import { FakeTenantStore } from '../support/fakes';
import { fakeIngestRecorders } from '../support/ingest-log-fakes';
import { systemClock } from '../../lambdas/services';

const TABLE = 'usage';
const NOW = Date.UTC(2026, 10, 23, 12);
const ITEM_LIMIT = 400 * 1024;

let emulators: RunningEmulators;
let clients: EmulatorClients;
let usage: DynamoDbUsageStore;
let envCounter = 0;
const freshEnv = () => `limits_${++envCounter}`;

beforeAll(async () => {
  emulators = await startEmulators();
  clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, { configTable: 'config', usageTable: TABLE });
  usage = new DynamoDbUsageStore({ client: clients.documentClient, tableName: TABLE });
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

const hex = (id: string) => Buffer.from(id, 'utf8').toString('hex');

/** A value's size by DynamoDB's rule, rounded up: UTF-8 text, binary length, 21 bytes a number, 3 + 1 per element for containers. */
function bytesOf(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return 21;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + bytesOf(v) + 1, 0);
  if (value !== null && typeof value === 'object') {
    return 3 + Object.entries(value).reduce((sum, [k, v]) => sum + Buffer.byteLength(k, 'utf8') + bytesOf(v) + 1, 0);
  }
  return 1;
}

async function storedItemBytes(pk: string, sk: string): Promise<number> {
  const { Item } = await clients.documentClient.send(new GetCommand({ TableName: TABLE, Key: { pk, sk } }));
  if (!Item) throw new Error(`no item ${pk} ${sk}`);
  return bytesOf(Item);
}

async function streamed(env: string, companyId: string) {
  for await (const company of usage.streamCompanyUsage(env))
    if (company.company.companyId === companyId) return company;
  throw new Error(`company ${companyId} not streamed`);
}

/** Feedback Count and Satisfaction at each data point of a 6-month export, from the store's record. */
const feedbackColumns = (record: FeatureUsageRecord | undefined) => {
  const asOf = usageTimeline(record, DEFAULT_ADOPTION);
  return dataPoints('6m-weekly', NOW).map(({ instant }) => {
    const { feedbackCount, satisfaction } = asOf(instant);
    return { feedbackCount, satisfaction };
  });
};

/** The same columns computed from every record sent, by DESIGN's definitions. */
const expectedColumns = (records: { at: number; score: number | null }[]) =>
  dataPoints('6m-weekly', NOW).map(({ instant }) => {
    const before = records.filter((r) => r.at < instant);
    const scores = before.flatMap((r) => (r.score === null ? [] : [r.score]));
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    return { feedbackCount: before.length, satisfaction: scores.length === 0 ? null : Math.floor(mean + 0.5) };
  });

describe('bounded items', () => {
  test('feedback folds into daily tallies: the item stops growing with the count, and the counts stay exact', async () => {
    const env = freshEnv();
    const firstDay = toEpochDay(NOW) - 10;
    // 24 records a day over 10 days, in two rounds over the same days.
    const records = Array.from({ length: 240 }, (_, i) => ({
      id: `fb-${i}`,
      at: (firstDay + (i % 10)) * DAY_MS + Math.floor(i / 10) * 3_600_000 + 17,
      score: i % 7 === 0 ? null : (i % 5) + 1,
    }));
    const record = (r: (typeof records)[number]) =>
      usage.recordFeedback(env, { ...r, companyId: 'c', eventKey: 'search' });
    const usageSk = `C#${hex('c')}#U#search`;
    const inParallel = async (batch: typeof records) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < batch.length) await record(batch[next++]);
        }),
      );
    };
    await inParallel(records.slice(0, 120));
    const bytesAtHalf = await storedItemBytes(`ENV#${env}`, usageSk);
    await inParallel(records.slice(120));
    const bytesAtFull = await storedItemBytes(`ENV#${env}`, usageSk);

    // As a list the records would double the item from half to full; tallied, it holds 16 bytes a day
    // and at most FOLD_FEEDBACK_AT (+ the writers in flight) recent records of ~60 bytes.
    const recentBound = (FOLD_FEEDBACK_AT + 4) * 60;
    expect(bytesAtFull).toBeLessThan(10 * 16 + recentBound + 200);
    expect(bytesAtFull).toBeLessThan(bytesAtHalf + recentBound);
    const { usage: stored } = await streamed(env, 'c');
    expect(feedbackColumns(stored[0])).toEqual(expectedColumns(records));
    expect(stored[0].feedback.reduce((sum, t) => sum + t.count, 0)).toBe(records.length);
  });

  test('a pair with use and feedback on every day since 2000 stays under 400 KB and keeps taking writes', async () => {
    const env = freshEnv();
    const days = Array.from(
      { length: toEpochDay(NOW) - toEpochDay(EARLIEST_TRACKED_AT) },
      (_, i) => toEpochDay(EARLIEST_TRACKED_AT) + i,
    );
    const daily = (day: number) => new Map([[day, day * DAY_MS + 3_600_000]]);
    const allDays = new Map(days.flatMap((day) => [...daily(day)]));
    // 1,000 records a day for 26 years: 9.5 million records, ~200 MB as a list.
    const perDay = { count: 1_000, scoreCount: 800, scoreSum: 3_200 };
    const attributes: Record<string, AttributeValue> = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [`big${i}`, 'x'.repeat(8 * 1024)]),
    );
    await usage.putCompanyUsage(env, {
      company: { companyId: 'old', name: null, attributes, firstSeen: EARLIEST_TRACKED_AT, seenDays: allDays },
      usage: [
        {
          eventKey: 'search',
          firstUsed: EARLIEST_TRACKED_AT,
          usedDays: allDays,
          feedback: days.map((day) => ({ at: (day + 1) * DAY_MS - 1, ...perDay })),
        },
      ],
    });
    // Then live traffic on top: new days, feedback folded into the long log, attributes merged.
    const live = Array.from({ length: FOLD_FEEDBACK_AT + 8 }, (_, i) => ({
      id: `live-${i}`,
      at: NOW - 86_400_000 + i * 60_000,
      score: 5,
    }));
    for (const r of live) await usage.recordFeedback(env, { ...r, companyId: 'old', eventKey: 'search' });
    for (let d = 0; d < 3; d++)
      await usage.recordEvent(env, { companyId: 'old', eventKey: 'search', at: NOW + d * DAY_MS });
    await usage.recordCompany(env, { companyId: 'old', at: NOW, attributes: { plan: 'pro' } });

    for (const sk of [`C#${hex('old')}`, `C#${hex('old')}#U#search`]) {
      expect(await storedItemBytes(`ENV#${env}`, sk)).toBeLessThan(ITEM_LIMIT);
    }
    const { company, usage: stored } = await streamed(env, 'old');
    expect(company.attributes.plan).toBe('pro');
    expect(stored[0].usedDays.size).toBe(days.length + 3);
    const columns = feedbackColumns(stored[0]);
    dataPoints('6m-weekly', NOW).forEach(({ instant }, i) => {
      const fullDays = toEpochDay(instant) - toEpochDay(EARLIEST_TRACKED_AT);
      const liveBefore = live.filter((r) => r.at < instant).length;
      const scored = fullDays * perDay.scoreCount + liveBefore;
      const sum = fullDays * perDay.scoreSum + 5 * liveBefore;
      expect(columns[i]).toEqual({
        feedbackCount: fullDays * perDay.count + liveBefore,
        satisfaction: Math.floor(sum / scored + 0.5),
      });
    });
  });

  test('company attributes: 1,000 keys of 8 KB sent, the bound refuses what passes it before writing, the rest is kept', async () => {
    const env = freshEnv();
    const tenants = new FakeTenantStore();
    const ingest = new IngestService({ tenants, usage, clock: systemClock, ...fakeIngestRecorders(systemClock) });
    const environment = { id: env } as Environment;
    const update = (round: number, size: number): IngestItem => ({
      type: 'company',
      companyId: 'wide',
      at: NOW,
      attributes: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`r${round}k${i}`, 'v'.repeat(size)])),
    });
    // Small values: 100 keys, then 100 more (200, the bound), then the next 100 are refused.
    await ingest.ingest(environment, [update(0, 10)]);
    await ingest.ingest(environment, [update(1, 10)]);
    const refused = ingest.ingest(environment, [
      { type: 'event', event: 'e', userId: 'u', companyId: 'wide', at: NOW + 1 },
      update(2, 10),
    ]);
    await expect(refused).rejects.toThrow(ValidationError);
    await expect(refused).rejects.toMatchObject({ issues: [{ path: '[1].attributes' }] });
    // Nothing of the refused request was written: its event is absent.
    expect((await streamed(env, 'wide')).usage).toEqual([]);
    // 100 values of 8 KB on another company, ten times: each passes the bytes bound, each is refused.
    for (let round = 0; round < 10; round++) {
      await expect(
        ingest.ingest(environment, [{ ...update(round, 8 * 1024), companyId: 'heavy' } as IngestItem]),
      ).rejects.toThrow(`at most ${MAX_COMPANY_ATTRIBUTES} attributes and ${MAX_COMPANY_ATTRIBUTE_BYTES} bytes`);
    }
    // Keys already stored can always change: the bound refuses growth, not updates.
    await ingest.ingest(environment, [{ ...update(1, 12) }]);

    const { company } = await streamed(env, 'wide');
    expect(Object.keys(company.attributes)).toHaveLength(MAX_COMPANY_ATTRIBUTES);
    expect(company.attributes.r1k0).toBe('v'.repeat(12));
    expect(await storedItemBytes(`ENV#${env}`, `C#${hex('wide')}`)).toBeLessThan(MAX_COMPANY_ATTRIBUTE_BYTES + 2_000);
  });
});

describe('bad times never break a company', () => {
  test('a time before 2000 is refused before anything is written', async () => {
    const env = freshEnv();
    const before2000 = Date.UTC(1969, 11, 25);
    await expect(usage.recordEvent(env, { companyId: 'old1', eventKey: 'e', at: before2000 })).rejects.toThrow(
      ValidationError,
    );
    await expect(
      usage.recordFeedback(env, { id: 'x', companyId: 'old1', eventKey: 'e', at: -5, score: 1 }),
    ).rejects.toThrow(ValidationError);
    await expect(usage.recordCompany(env, { companyId: 'old1', at: 1.5 })).rejects.toThrow(ValidationError);
    const { Items } = await clients.documentClient
      .send(new GetCommand({ TableName: TABLE, Key: { pk: `ENV#${env}`, sk: `C#${hex('old1')}` } }))
      .then((r) => ({ Items: r.Item ? [r.Item] : [] }));
    expect(Items).toEqual([]);
  });

  test('a negative day already stored (written before times were checked) never blocks compaction', async () => {
    const env = freshEnv();
    const day0 = toEpochDay(NOW) - 30;
    for (let d = 0; d < 3; d++)
      await usage.recordEvent(env, { companyId: 'old1', eventKey: 'e', at: (day0 + d) * DAY_MS + 1 });
    const key = { pk: `ENV#${env}`, sk: `C#${hex('old1')}` };
    await clients.documentClient.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: key,
        UpdateExpression: 'SET #seen.#bad = :bad',
        ExpressionAttributeNames: { '#seen': 'seen', '#bad': '-6' },
        ExpressionAttributeValues: { ':bad': -6 * DAY_MS + 5 },
      }),
    );
    const later = Array.from({ length: 3 * COMPACT_AT_DAYS }, (_, d) => (day0 + 3 + d) * DAY_MS + 7);
    for (const at of later) await usage.recordEvent(env, { companyId: 'old1', eventKey: 'e', at });

    const { Item } = await clients.documentClient.send(new GetCommand({ TableName: TABLE, Key: key }));
    // Compacted: only the unpackable day and the days since the last compaction remain in the map.
    expect(Object.keys(Item!.seen as object).length).toBeLessThan(COMPACT_AT_DAYS + 1);
    const { company } = await streamed(env, 'old1');
    expect(company.seenDays.size).toBe(3 + later.length + 1);
    expect(company.seenDays.get(toEpochDay(later.at(-1)!))).toBe(later.at(-1));
  });
});
