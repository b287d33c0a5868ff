/**
 * The ingest path over HTTP with in-memory ports: every accepted item reaches the raw event log with
 * its attributes and context, before anything else is written; profiles and the catalog follow.
 */
import { IngestService } from '../../lambdas/core/ingest';
import { hashIngestKey } from '../../lambdas/core/ingest-keys';
import { ingestRouter } from '../../lambdas/http/ingest-routes';
import type { CompanyUpdate, FeedbackRecord, UsageEvent, UsageStore, UserUpdate } from '../../lambdas/ports';
import { RecordingMetrics } from '../support/recording-metrics';
import { FakeClock, FakeTenantStore } from '../support/fakes';
import { fakeIngestRecorders } from '../support/ingest-log-fakes';

const KEY = 'ik_0123456789abcdef0123456789abcdef';
const NOW = Date.parse('2026-12-07T10:00:00Z');

/** Records the usage writes ingest makes. */
class RecordingUsageStore {
  readonly writes: unknown[] = [];
  async recordCompany(_: string, update: CompanyUpdate) {
    this.writes.push({ company: update });
  }
  async recordUser(_: string, update: UserUpdate) {
    this.writes.push({ user: update });
  }
  async findUserCompany() {
    return 'acme';
  }
  async companyAttributes() {
    return { values: {}, times: {} };
  }
  async recordEvent(_: string, event: UsageEvent) {
    this.writes.push({ event });
  }
  async recordFeedback(_: string, feedback: FeedbackRecord) {
    this.writes.push({ feedback });
  }
}

async function setUp() {
  const clock = new FakeClock(NOW);
  const tenants = new FakeTenantStore();
  await tenants.createEnvironment({
    id: 'env_1',
    organizationId: 'org_1',
    name: 'Production',
    ingestKeyHash: hashIngestKey(KEY),
    ingestKeyPrefix: 'ik_0',
    createdAt: 0,
  });
  await tenants.putFeature('env_1', {
    id: 'reports',
    key: 'report_run',
    name: 'Reports',
    adoption: { minActiveDays: 5, windowDays: 28 },
  });
  const usage = new RecordingUsageStore();
  const recorders = fakeIngestRecorders(clock);
  const metrics = new RecordingMetrics();
  const service = new IngestService({ tenants, usage: usage as unknown as UsageStore, clock, metrics, ...recorders });
  const router = ingestRouter(service, clock, metrics);
  const post = (path: string, body: unknown, key = KEY) =>
    router.handle({
      method: 'POST',
      path: `/ingest/${path}`,
      query: {},
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
  return { usage, post, metrics, ...recorders };
}

describe('ingest into the raw event log', () => {
  it('appends every item type with its fields, attributes and context, in request order', async () => {
    const { rawLog, post } = await setUp();
    const response = await post('bulk', [
      {
        type: 'user',
        userId: 'alice',
        attributes: { name: 'Alice', email: 'a@x.io', prefs: { dark: true } },
        context: { active: false },
      },
      {
        type: 'company',
        companyId: 'acme',
        userId: 'alice',
        attributes: { name: 'Acme', tags: ['a', 'b'] },
        timestamp: '2026-12-07T09:00:00Z',
      },
      {
        type: 'event',
        event: 'report_run',
        userId: 'alice',
        companyId: 'acme',
        attributes: { rows: 10 },
        context: { ip: '1.2.3.4' },
        timestamp: NOW - 5,
      },
      { type: 'feedback', companyId: 'acme', featureId: 'reports', score: 4, comment: 'nice' },
      { type: 'alias', userId: 'alice', alias: 'anon-42' },
      { type: 'feature-flag-event', action: 'check' },
    ]);
    expect(response).toMatchObject({ status: 200, body: { success: true } });
    const common = { environmentId: 'env_1', receivedAt: NOW };
    expect(rawLog.records.map(({ id: _id, ...record }) => record)).toEqual([
      {
        ...common,
        type: 'user',
        userId: 'alice',
        timestamp: NOW,
        attributes: { name: 'Alice', email: 'a@x.io', prefs: { dark: true } },
        context: { active: false },
      },
      {
        ...common,
        type: 'company',
        userId: 'alice',
        companyId: 'acme',
        timestamp: NOW - 3_600_000,
        attributes: { name: 'Acme', tags: ['a', 'b'] },
      },
      {
        ...common,
        type: 'event',
        userId: 'alice',
        companyId: 'acme',
        event: 'report_run',
        timestamp: NOW - 5,
        attributes: { rows: 10 },
        context: { ip: '1.2.3.4' },
      },
      {
        ...common,
        type: 'feedback',
        companyId: 'acme',
        event: 'report_run',
        timestamp: NOW,
        attributes: { comment: 'nice', score: 4, featureId: 'reports' },
      },
      { ...common, type: 'alias', userId: 'alice', alias: 'anon-42', timestamp: NOW },
    ]);
    expect(new Set(rawLog.records.map((record) => record.id)).size).toBe(5);
  });

  it('gives a retried request the same record ids, and events differing only in properties different ones', async () => {
    const { rawLog, post } = await setUp();
    const bulk = [
      {
        type: 'event',
        event: 'report_run',
        userId: 'alice',
        companyId: 'acme',
        attributes: { rows: 1 },
        timestamp: NOW - 5,
      },
      {
        type: 'event',
        event: 'report_run',
        userId: 'alice',
        companyId: 'acme',
        attributes: { rows: 2 },
        timestamp: NOW - 5,
      },
      {
        type: 'event',
        event: 'report_run',
        userId: 'alice',
        companyId: 'acme',
        attributes: { rows: 2 },
        timestamp: NOW - 5,
      },
    ];
    await post('bulk', bulk);
    await post('bulk', bulk);
    const ids = rawLog.records.map((record) => record.id);
    expect(ids.slice(3)).toEqual(ids.slice(0, 3));
    expect(new Set(ids.slice(0, 3)).size).toBe(3);
  });

  it('keeps nested company attributes as JSON text in the usage history, as before', async () => {
    const { usage, post } = await setUp();
    await post('company', { companyId: 'acme', attributes: { name: 'Acme', tags: ['a', 'b'], seats: 5 } });
    expect(usage.writes).toEqual([
      { company: { companyId: 'acme', at: NOW, attributes: { name: 'Acme', tags: '["a","b"]', seats: 5 } } },
    ]);
  });

  it('answers 503 with Retry-After and writes nothing when the log refuses the items', async () => {
    const { rawLog, usage, profiles, catalogStore, post } = await setUp();
    rawLog.unavailable = true;
    const response = await post('bulk', [
      { type: 'user', userId: 'alice', attributes: { name: 'Alice' } },
      { type: 'event', event: 'report_run', userId: 'alice', companyId: 'acme' },
    ]);
    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'retry-after': '1' });
    expect(response.body).toEqual({
      success: false,
      error: {
        code: 'temporarily_unavailable',
        message: 'The raw event log could not take the records right now; send the request again.',
      },
    });
    expect(usage.writes).toEqual([]);
    expect(profiles.profiles.size).toBe(0);
    expect(await catalogStore.list('env_1')).toEqual([]);
  });

  it('updates each user profile once per request, later values winning, and the catalog with every name and key', async () => {
    const { profiles, catalogStore, post } = await setUp();
    await post('bulk', [
      { type: 'user', userId: 'alice', attributes: { name: 'Alice', plan: 'free' } },
      { type: 'event', event: 'report_run', userId: 'alice', companyId: 'acme', attributes: { rows: 1 } },
      { type: 'user', userId: 'alice', attributes: { plan: 'pro' } },
      { type: 'event', event: 'report_run', userId: 'alice', companyId: 'acme', attributes: { format: 'csv' } },
      { type: 'event', event: 'login', userId: 'bob', companyId: 'acme' },
    ]);
    expect([...profiles.profiles.values()]).toEqual([
      { userId: 'alice', attributes: { name: 'Alice', plan: 'pro' }, firstSeen: NOW, updatedAt: NOW },
    ]);
    expect(await catalogStore.list('env_1')).toEqual([
      { name: 'login', firstSeen: NOW, lastSeen: NOW, count: 1, propertyKeys: [] },
      { name: 'report_run', firstSeen: NOW, lastSeen: NOW, count: 2, propertyKeys: ['format', 'rows'] },
    ]);
  });

  it('refuses an alias without its other identity, naming the field', async () => {
    const { rawLog, post } = await setUp();
    const response = await post('alias', { userId: 'alice' });
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).toContain('alias');
    expect(rawLog.records).toEqual([]);
    expect((await post('alias', { userId: 'alice', alias: 7 })).status).toBe(200);
    expect(rawLog.records[0]).toMatchObject({ type: 'alias', userId: 'alice', alias: '7' });
  });
});

describe('ingest metrics', () => {
  it('counts the items accepted and the raw-log records written (flag events are accepted, not logged)', async () => {
    const { post, metrics } = await setUp();
    await post('bulk', [
      { type: 'event', event: 'report_run', userId: 'alice', companyId: 'acme' },
      { type: 'user', userId: 'bob' },
      { type: 'feature-flag-event', action: 'check' },
    ]);
    await post('event', { event: 'report_run', userId: 'alice', companyId: 'acme' });
    expect(metrics.counts).toEqual({ IngestItemsAccepted: 4, RawLogRecordsWritten: 3 });
  });

  it('counts refused requests by reason, and accepts nothing of them', async () => {
    const { post, metrics } = await setUp();
    expect((await post('event', { userId: 'alice' })).status).toBe(400);
    expect(
      (await post('event', { event: 'report_run', userId: 'alice' }, 'ik_ffffffffffffffffffffffffffffffff')).status,
    ).toBe(401);
    expect((await post('event', { userId: 'alice' })).status).toBe(400);
    expect(metrics.counts).toEqual({
      'IngestRequestsRefused {"reason":"invalid_request"}': 2,
      'IngestRequestsRefused {"reason":"unauthorized"}': 1,
    });
  });
});
