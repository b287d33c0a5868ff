/**
 * The event catalog: the event names an environment has sent and the property keys of each, for the
 * job form's event picker and the columns of event exports. Ingest keeps it up to date cheaply: a name
 * or key this process has not recorded yet is written before the request is answered (so none is
 * ever missed), while counts and last-seen times are summed in memory and written with the next write
 * for the environment, at most every `countFlushMs` (so a busy event costs a write per interval, not
 * per request; counts lost with a process are why they are approximate).
 */
import { authorizeEnvironment, type Caller } from './access';
import type { Clock, EventCatalogEntry, EventCatalogStore, EventSighting, TenantStore } from '../ports';

/** Names and keys remembered as recorded before the memory is cleared (re-recording is harmless). */
const MAX_REMEMBERED = 100_000;

export interface ReceivedEvent {
  name: string;
  propertyKeys: readonly string[];
}

export class EventCatalogRecorder {
  /** Per environment and event name: the property keys known to be in the store. */
  private readonly recorded = new Map<string, Set<string>>();
  /** Per environment: the sightings not written yet, by event name. */
  private readonly pending = new Map<string, Map<string, EventSighting>>();
  private readonly lastWrite = new Map<string, number>();

  constructor(private readonly deps: { store: EventCatalogStore; clock: Clock; countFlushMs: number }) {}

  async record(environmentId: string, events: readonly ReceivedEvent[], receivedAt: number): Promise<void> {
    let discovers = false;
    for (const event of events) {
      const known = this.recorded.get(`${environmentId}\n${event.name}`);
      const newKeys = event.propertyKeys.filter((key) => !known?.has(key));
      discovers ||= !known || newKeys.length > 0;
      this.add(environmentId, {
        name: event.name,
        count: 1,
        firstSeen: receivedAt,
        lastSeen: receivedAt,
        propertyKeys: newKeys,
      });
    }
    const now = this.deps.clock.now();
    if (!discovers && now - (this.lastWrite.get(environmentId) ?? -Infinity) < this.deps.countFlushMs) return;
    const sightings = [...(this.pending.get(environmentId)?.values() ?? [])];
    this.pending.delete(environmentId);
    try {
      await this.deps.store.record(environmentId, sightings);
    } catch (error) {
      // Counted again with the next write; the request fails, so its client sends its names and keys again.
      for (const sighting of sightings) this.add(environmentId, sighting);
      throw error;
    }
    this.lastWrite.set(environmentId, now);
    if (this.recorded.size > MAX_REMEMBERED) this.recorded.clear();
    for (const sighting of sightings) {
      const key = `${environmentId}\n${sighting.name}`;
      this.recorded.set(key, new Set([...(this.recorded.get(key) ?? []), ...sighting.propertyKeys]));
    }
  }

  /** Adds a sighting to the environment's pending ones. */
  private add(environmentId: string, sighting: EventSighting): void {
    const pending = this.pending.get(environmentId) ?? new Map<string, EventSighting>();
    this.pending.set(environmentId, pending);
    const current = pending.get(sighting.name);
    if (!current) {
      pending.set(sighting.name, { ...sighting, propertyKeys: [...sighting.propertyKeys] });
      return;
    }
    current.count += sighting.count;
    current.firstSeen = Math.min(current.firstSeen, sighting.firstSeen);
    current.lastSeen = Math.max(current.lastSeen, sighting.lastSeen);
    for (const key of sighting.propertyKeys) if (!current.propertyKeys.includes(key)) current.propertyKeys.push(key);
  }
}

export class EventCatalogService {
  constructor(private readonly deps: { tenants: TenantStore; store: EventCatalogStore }) {}

  async list(caller: Caller | undefined, environmentId: string): Promise<EventCatalogEntry[]> {
    await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    return this.deps.store.list(environmentId);
  }
}
