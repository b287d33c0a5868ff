/** Raw records, a reader over them and a sink in memory, for the export-job run's tests. */
import { gunzipSync } from 'node:zlib';
import type { Readable } from 'node:stream';
import type { ObjectSink, ObjectWriteOptions } from '../../lambdas/core/export/pipeline';
import type { JsonValue, RawRecord } from '../../lambdas/core/raw-log';
import type { ExportJobRunSpec, RunProfileStore } from '../../lambdas/core/export-job-run';
import type { RawEventReader, UserProfile } from '../../lambdas/ports';

export class ArrayRawEventReader implements RawEventReader {
  constructor(readonly records: RawRecord[]) {}

  /** Batches of up to 3 records, so that runs meet batch boundaries. */
  async *readBatches(_environmentId: string, window: { from: number; to: number }): AsyncIterable<RawRecord[]> {
    const inside = this.records.filter((record) => record.receivedAt >= window.from && record.receivedAt < window.to);
    for (let i = 0; i < inside.length; i += 3) yield inside.slice(i, i + 3);
  }
}

export class ArrayProfileStore implements RunProfileStore {
  readonly profiles: UserProfile[];

  constructor(profiles: { userId: string; attributes: Record<string, JsonValue>; updatedAt: number }[]) {
    this.profiles = profiles.map((profile) => ({ ...profile, firstSeen: profile.updatedAt }));
  }

  async *listProfiles(): AsyncIterable<UserProfile> {
    yield* this.profiles;
  }

  async *listProfilesChangedSince(_environmentId: string, since: number): AsyncIterable<UserProfile> {
    for (const profile of this.profiles) if (profile.updatedAt >= since) yield profile;
  }
}

/** Objects kept in memory once complete, with the options each was written with; a failed write keeps nothing. */
export class MemorySink implements ObjectSink {
  readonly objects = new Map<string, Buffer>();
  readonly options = new Map<string, ObjectWriteOptions>();

  async write(key: string, body: Readable, options: ObjectWriteOptions): Promise<void> {
    this.options.set(key, options);
    const parts: Buffer[] = [];
    for await (const part of body) parts.push(part as Buffer);
    this.objects.set(key, Buffer.concat(parts));
  }

  /** The object's text, gunzipped when its key says `.gz`. */
  text(key: string): string {
    const bytes = this.objects.get(key);
    if (!bytes) throw new Error(`No object ${key}`);
    return (key.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  }
}

let sequence = 0;

export function eventRecord(
  event: string,
  timestamp: number,
  attributes: Record<string, JsonValue>,
  extra: Partial<RawRecord> = {},
): RawRecord {
  sequence++;
  return {
    id: `item-${sequence}`,
    environmentId: 'env1',
    receivedAt: timestamp + 1000,
    type: 'event',
    userId: `user-${sequence % 7}`,
    event,
    timestamp,
    attributes,
    ...extra,
  };
}

/** A run of job `job1` (all events, JSON, into `dest/`) of env1 in org1, over `window`, scheduled at `runScheduledAt`. */
export function exportJobRunSpec(
  run: Pick<ExportJobRunSpec, 'window' | 'runScheduledAt'>,
  overrides: Partial<ExportJobRunSpec> = {},
): ExportJobRunSpec {
  return {
    environmentId: 'env1',
    organizationId: 'org1',
    jobId: 'job1',
    type: 'allEvents',
    format: 'json',
    keyPrefix: 'dest',
    ...run,
    ...overrides,
  };
}
