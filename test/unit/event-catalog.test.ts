import { EventCatalogRecorder, EventCatalogService } from '../../lambdas/core/event-catalog';
import { NotFoundError, UnauthorizedError } from '../../lambdas/core/errors';
import { fakeTenant } from '../support/fakes';
import { FakeEventCatalogStore } from '../support/ingest-log-fakes';
import type { EventCatalogStore, EventSighting } from '../../lambdas/ports';

/** Records what was written; fails the next write when asked. */
class RecordingStore implements Pick<EventCatalogStore, 'record'> {
  writes: { environmentId: string; sightings: EventSighting[] }[] = [];
  failNext = false;

  async record(environmentId: string, sightings: readonly EventSighting[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('throttled');
    }
    this.writes.push({ environmentId, sightings: structuredClone([...sightings]) });
  }
}

let now = 0;
let store: RecordingStore;
let recorder: EventCatalogRecorder;

beforeEach(() => {
  now = 1_000_000;
  store = new RecordingStore();
  recorder = new EventCatalogRecorder({
    store: store as unknown as EventCatalogStore,
    clock: { now: () => now },
    countFlushMs: 10_000,
  });
});

const event = (name: string, ...propertyKeys: string[]) => ({ name, propertyKeys });

describe('EventCatalogRecorder', () => {
  it("writes a new name and its keys before answering, one sighting per name with the request's count", async () => {
    await recorder.record('env', [event('report_run', 'a'), event('report_run', 'b', 'a'), event('login')], now);
    expect(store.writes).toEqual([
      {
        environmentId: 'env',
        sightings: [
          { name: 'report_run', count: 2, firstSeen: now, lastSeen: now, propertyKeys: ['a', 'b'] },
          { name: 'login', count: 1, firstSeen: now, lastSeen: now, propertyKeys: [] },
        ],
      },
    ]);
  });

  it('keeps counts of known names and keys in memory until the interval has passed, then writes them with their times', async () => {
    await recorder.record('env', [event('report_run', 'a')], now);
    now += 1_000;
    await recorder.record('env', [event('report_run', 'a'), event('report_run')], now);
    now += 1_000;
    await recorder.record('env', [event('report_run', 'a')], now);
    expect(store.writes).toHaveLength(1);
    now += 10_000;
    await recorder.record('env', [event('report_run')], now);
    expect(store.writes[1].sightings).toEqual([
      { name: 'report_run', count: 3 + 1, firstSeen: now - 11_000, lastSeen: now, propertyKeys: [] },
    ]);
  });

  it('writes at once when a known name brings a new key, with the counts waiting until then', async () => {
    await recorder.record('env', [event('report_run', 'a')], now);
    await recorder.record('env', [event('report_run', 'a')], now);
    await recorder.record('env', [event('report_run', 'a', 'c')], now);
    expect(store.writes[1].sightings).toEqual([
      { name: 'report_run', count: 2, firstSeen: now, lastSeen: now, propertyKeys: ['c'] },
    ]);
  });

  it('writes the waiting counts once exactly the interval has passed since the last write', async () => {
    await recorder.record('env', [event('report_run', 'a')], now);
    now += 9_999;
    await recorder.record('env', [event('report_run', 'a')], now);
    expect(store.writes).toHaveLength(1);
    now += 1;
    await recorder.record('env', [event('report_run')], now);
    expect(store.writes[1].sightings).toEqual([
      { name: 'report_run', count: 2, firstSeen: now - 1, lastSeen: now, propertyKeys: [] },
    ]);
  });

  it('remembers the names and keys of earlier writes, not only of the last one', async () => {
    await recorder.record('env', [event('report_run', 'a')], now);
    await recorder.record('env', [event('login', 'b')], now);
    await recorder.record('env', [event('report_run', 'a'), event('login', 'b')], now);
    expect(store.writes).toHaveLength(2);
  });

  it('keeps environments apart', async () => {
    await recorder.record('one', [event('x', 'k')], now);
    await recorder.record('two', [event('x', 'k')], now);
    expect(store.writes.map((write) => [write.environmentId, write.sightings[0].propertyKeys])).toEqual([
      ['one', ['k']],
      ['two', ['k']],
    ]);
  });

  it('fails the request when a write fails, and writes its names, keys and counts with the next one', async () => {
    store.failNext = true;
    await expect(recorder.record('env', [event('report_run', 'a')], now)).rejects.toThrow('throttled');
    await recorder.record('env', [event('login')], now);
    expect(store.writes).toEqual([
      {
        environmentId: 'env',
        sightings: [
          { name: 'report_run', count: 1, firstSeen: now, lastSeen: now, propertyKeys: ['a'] },
          { name: 'login', count: 1, firstSeen: now, lastSeen: now, propertyKeys: [] },
        ],
      },
    ]);
  });
});

describe('EventCatalogService', () => {
  it("lists an environment's catalog to a member of its organization only", async () => {
    const tenants = fakeTenant();
    const catalog = new FakeEventCatalogStore();
    await catalog.record('env1', [{ name: 'login', count: 2, firstSeen: 5, lastSeen: 9, propertyKeys: ['plan'] }]);
    await catalog.record('env2', [{ name: 'other', count: 1, firstSeen: 5, lastSeen: 5, propertyKeys: [] }]);
    const service = new EventCatalogService({ tenants, store: catalog });
    expect(await service.list({ organizationId: 'org_1', role: 'member' }, 'env1')).toEqual([
      { name: 'login', count: 2, firstSeen: 5, lastSeen: 9, propertyKeys: ['plan'] },
    ]);
    await expect(service.list({ organizationId: 'org_2', role: 'member' }, 'env1')).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(service.list(undefined, 'env1')).rejects.toBeInstanceOf(UnauthorizedError);
  });
});
