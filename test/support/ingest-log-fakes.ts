/** In-memory fakes of what ingest writes besides the usage history: the raw log, profiles, the event catalog. */
import { EventCatalogRecorder } from '../../lambdas/core/event-catalog';
import { RawLogUnavailableError, type RawRecord } from '../../lambdas/core/raw-log';
import type {
  Clock,
  EventCatalogEntry,
  EventCatalogStore,
  EventSighting,
  ProfileStore,
  ProfileUpdate,
  RawEventLog,
  UserProfile,
} from '../../lambdas/ports';

export class FakeRawEventLog implements RawEventLog {
  readonly records: RawRecord[] = [];
  /** When set, appends fail as Firehose's would when it keeps refusing records. */
  unavailable = false;

  async append(records: readonly RawRecord[]): Promise<void> {
    if (this.unavailable)
      throw new RawLogUnavailableError(
        'The raw event log could not take the records right now; send the request again.',
      );
    this.records.push(...structuredClone(records));
  }
}

export class FakeProfileStore implements ProfileStore {
  readonly profiles = new Map<string, UserProfile>();

  async recordProfile(environmentId: string, update: ProfileUpdate): Promise<void> {
    const key = `${environmentId}\n${update.userId}`;
    const current = this.profiles.get(key);
    this.profiles.set(key, {
      userId: update.userId,
      attributes: { ...current?.attributes, ...update.attributes },
      firstSeen: current?.firstSeen ?? update.at,
      updatedAt: update.receivedAt,
    });
  }

  async *listProfiles(environmentId: string): AsyncIterable<UserProfile> {
    for (const [key, profile] of this.profiles) if (key.startsWith(`${environmentId}\n`)) yield profile;
  }

  async *listProfilesChangedSince(environmentId: string, since: number): AsyncIterable<UserProfile> {
    for await (const profile of this.listProfiles(environmentId)) if (profile.updatedAt >= since) yield profile;
  }
}

export class FakeEventCatalogStore implements EventCatalogStore {
  readonly entries = new Map<string, Map<string, EventCatalogEntry>>();

  async record(environmentId: string, sightings: readonly EventSighting[]): Promise<void> {
    const entries = this.entries.get(environmentId) ?? new Map<string, EventCatalogEntry>();
    this.entries.set(environmentId, entries);
    for (const sighting of sightings) {
      const entry = entries.get(sighting.name) ?? {
        name: sighting.name,
        firstSeen: sighting.firstSeen,
        lastSeen: 0,
        count: 0,
        propertyKeys: [],
      };
      entry.count += sighting.count;
      entry.lastSeen = sighting.lastSeen;
      entry.propertyKeys = [...new Set([...entry.propertyKeys, ...sighting.propertyKeys])].sort();
      entries.set(sighting.name, entry);
    }
  }

  async list(environmentId: string): Promise<EventCatalogEntry[]> {
    return [...(this.entries.get(environmentId)?.values() ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1));
  }
}

/** The raw log, profiles and catalog recorder an IngestService needs, in memory. */
export function fakeIngestRecorders(clock: Clock) {
  const rawLog = new FakeRawEventLog();
  const profiles = new FakeProfileStore();
  const catalogStore = new FakeEventCatalogStore();
  return {
    rawLog,
    profiles,
    catalogStore,
    catalog: new EventCatalogRecorder({ store: catalogStore, clock, countFlushMs: 0 }),
  };
}
