/**
 * One run of an export job (DESIGN "Export jobs"): reads the raw event log (events) or the profile
 * store (profiles) for the run's window and writes the job's files into the destination through an
 * ObjectSink, returning the files written. Pure core: the caller (the job runner) gives the ports.
 *
 * Events are grouped by name, then by their UTC day, each group written as its own series of chunks.
 * The log is read in receive order, so groups interleave: each group keeps one open chunk that takes
 * its rows as they come (one file's buffer and the sink's upload parts per open group, never a whole
 * day). CSV and Parquet need every property key of an event before its header: a first pass over the
 * window collects them (the event catalog holds keys ever seen, not those of this window, which would
 * add empty columns).
 *
 * Keys are deterministic from the job and its window: a retried run writes the same objects.
 */
import { ChunkedFiles, type WrittenFile } from './export/chunked-files';
import {
  eventFileKey,
  fileExtension,
  prioritizedProfile,
  profileFileKey,
  compactTimestamp,
  type Compression,
  type ExportedEvent,
  type ExportedUserProfile,
  type FileFormatName,
  type IdentityField,
} from './export/job-files';
import { DayCachedTimes } from './export/day-cached-times';
import { eventFormat, profileFormat, PropertyColumnsCollector, type PropertyColumns } from './export/job-formats';
import type { ObjectSink } from './export/pipeline';
import { RecentIds, RecordedRepeats, type RepeatFilter } from './export/repeated-records';
import type { JsonValue, RawRecord } from './raw-log';
import type { ProfileStore, RawEventReader, UserProfile } from '../ports';

/** What a run reads of the profile store. */
export type RunProfileStore = Pick<ProfileStore, 'listProfiles' | 'listProfilesChangedSince'>;

export type ExportJobType = 'allEvents' | 'selectedEvents' | 'userProfiles';

export interface ExportJobRunSpec {
  environmentId: string;
  organizationId: string;
  jobId: string;
  type: ExportJobType;
  /** `selectedEvents`: the names exported. */
  events?: readonly string[];
  identityPriority?: readonly IdentityField[];
  format: FileFormatName;
  asString?: boolean;
  /** Default `gzip`; profile files are always gzip-compressed. */
  compression?: Compression;
  /** The destination's key prefix (`<key>`), '' for the bucket's root. */
  keyPrefix: string;
  /**
   * Epoch ms, `to` excluded. Recurring runs: the receive-time window (each record in exactly one run).
   * One-time runs (`window.by` = 'eventTime'): the UTC days of event time, read from the log received
   * from the window's start until the run (`readUntil`).
   */
  window:
    { from: number; to: number; by: 'receiveTime' } | { from: number; to: number; by: 'eventTime'; readUntil: number };
  /** The run's scheduled time: `runTs` in the file names. */
  runScheduledAt: number;
  /** Profiles: the start of the last successful run, or absent on the first run (every profile). */
  profilesChangedSince?: number;
}

export interface ExportJobRunPorts {
  rawEvents: RawEventReader;
  profiles: RunProfileStore;
  sink: ObjectSink;
  signal?: AbortSignal;
  /** Bytes per file before compression; 100 MB unless a test says otherwise. */
  maxFileBytes?: number;
}

export interface ExportJobRunResult {
  files: WrittenFile[];
}

export async function runExportJob(spec: ExportJobRunSpec, ports: ExportJobRunPorts): Promise<ExportJobRunResult> {
  const files = spec.type === 'userProfiles' ? await writeProfiles(spec, ports) : await writeEvents(spec, ports);
  files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { files };
}

/** An event record of the window, with the time it is exported at. */
interface WindowEvent {
  record: RawRecord & { event: string };
  timestamp: number;
}

/**
 * The event records to export, in batches as the reader gives them: events only, of the job's names,
 * in the window's time, each once (`repeats` drops the log's repeats).
 */
async function* windowEventBatches(
  spec: ExportJobRunSpec,
  reader: RawEventReader,
  repeats: RepeatFilter,
): AsyncGenerator<WindowEvent[]> {
  const names = spec.type === 'selectedEvents' ? new Set(spec.events ?? []) : undefined;
  const { window } = spec;
  const readWindow = window.by === 'receiveTime' ? window : { from: window.from, to: window.readUntil };
  for await (const records of reader.readBatches(spec.environmentId, readWindow)) {
    const events: WindowEvent[] = [];
    for (const record of records) {
      if (record.type !== 'event' || record.event === undefined) continue;
      if (names && !names.has(record.event)) continue;
      const timestamp = record.timestamp ?? record.receivedAt;
      if (window.by === 'eventTime' && (timestamp < window.from || timestamp >= window.to)) continue;
      if (repeats.seenBefore(record.id, record.receivedAt)) continue;
      events.push({ record: record as RawRecord & { event: string }, timestamp });
    }
    if (events.length > 0) yield events;
  }
}

/** The event as exported; its email and phone are those its context carries (`context.email`, `context.phone`), when text. */
function exportedEvent(
  { record, timestamp }: WindowEvent,
  identityPriority: readonly IdentityField[] | undefined,
): ExportedEvent {
  const context = isObject(record.context) ? record.context : undefined;
  return {
    name: record.event,
    timestamp,
    profile: prioritizedProfile(
      { userId: record.userId, email: textOf(context?.email), phone: textOf(context?.phone) },
      identityPriority,
    ),
    deviceInfo: context,
    properties: record.attributes ?? {},
  };
}

const isObject = (value: JsonValue | undefined): value is Record<string, JsonValue> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const textOf = (value: JsonValue | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

const needsColumns = (format: FileFormatName) => format === 'csv' || format === 'parquet';

async function writeEvents(spec: ExportJobRunSpec, ports: ExportJobRunPorts): Promise<WrittenFile[]> {
  const asString = spec.asString ?? false;
  const compression = spec.compression ?? 'gzip';
  const extension = fileExtension(spec.format, compression);
  const runTs = compactTimestamp(spec.runScheduledAt);

  const columnsByEvent = new Map<string, PropertyColumnsCollector>();
  // With two passes, the second finds the first's repeats again by position (repeated-records.ts).
  let repeats: RepeatFilter = new RecentIds();
  if (needsColumns(spec.format)) {
    const recorded = new RecordedRepeats();
    for await (const events of windowEventBatches(spec, ports.rawEvents, recorded)) {
      for (const { record } of events) {
        let collector = columnsByEvent.get(record.event);
        if (!collector) columnsByEvent.set(record.event, (collector = new PropertyColumnsCollector(asString)));
        if (record.attributes !== undefined) collector.see(record.attributes);
      }
    }
    repeats = recorded.replay();
  }
  const noColumns: PropertyColumns = { keys: [], types: new Map() };

  // Per event name, its days' files.
  const groupsByName = new Map<string, Map<string, ChunkedFiles<ExportedEvent>>>();
  const groups = new Map<string, ChunkedFiles<ExportedEvent>>();
  const times = new DayCachedTimes();
  const groupOf = (event: ExportedEvent): ChunkedFiles<ExportedEvent> => {
    const day = times.utcDay(event.timestamp);
    let days = groupsByName.get(event.name);
    if (!days) groupsByName.set(event.name, (days = new Map<string, ChunkedFiles<ExportedEvent>>()));
    let group = days.get(day);
    if (!group) {
      const format = eventFormat(spec.format, {
        eventName: event.name,
        asString,
        columns: columnsByEvent.get(event.name)?.columns() ?? noColumns,
      });
      group = new ChunkedFiles({
        format,
        sink: ports.sink,
        gzip: compression === 'gzip' && spec.format !== 'parquet',
        maxBytes: ports.maxFileBytes,
        signal: ports.signal,
        keyOf: (index) =>
          eventFileKey({
            keyPrefix: spec.keyPrefix,
            jobId: spec.jobId,
            runTs,
            event: event.name,
            day,
            index,
            environmentId: spec.environmentId,
            extension,
          }),
      });
      days.set(day, group);
      groups.set(`${day}\u0000${event.name}`, group);
    }
    return group;
  };
  return writeAll(groups, async () => {
    for await (const events of windowEventBatches(spec, ports.rawEvents, repeats)) {
      for (const windowEvent of events) {
        ports.signal?.throwIfAborted();
        const event = exportedEvent(windowEvent, spec.identityPriority);
        const draining = groupOf(event).add(event);
        if (draining) await draining;
      }
    }
  });
}

async function writeProfiles(spec: ExportJobRunSpec, ports: ExportJobRunPorts): Promise<WrittenFile[]> {
  const asString = spec.asString ?? false;
  const read = (): AsyncIterable<UserProfile> =>
    spec.profilesChangedSince === undefined
      ? ports.profiles.listProfiles(spec.environmentId)
      : ports.profiles.listProfilesChangedSince(spec.environmentId, spec.profilesChangedSince);
  const exported = async function* (): AsyncGenerator<ExportedUserProfile> {
    for await (const user of read()) {
      const { email, phone } = user.attributes;
      yield {
        profile: prioritizedProfile(
          {
            userId: user.userId,
            email: typeof email === 'string' ? email : undefined,
            phone: typeof phone === 'string' ? phone : undefined,
          },
          spec.identityPriority,
        ),
        attributes: user.attributes,
      };
    }
  };
  const collector = new PropertyColumnsCollector(asString);
  if (needsColumns(spec.format)) for await (const user of exported()) collector.see(user.attributes);

  const runTs = compactTimestamp(spec.runScheduledAt);
  // Profile files are always gzip-compressed (Parquet by its codec).
  const extension = fileExtension(spec.format, 'gzip');
  const files = new ChunkedFiles<ExportedUserProfile>({
    format: profileFormat(spec.format, { asString, columns: collector.columns() }),
    sink: ports.sink,
    gzip: spec.format !== 'parquet',
    maxBytes: ports.maxFileBytes,
    signal: ports.signal,
    keyOf: (index) =>
      profileFileKey({
        keyPrefix: spec.keyPrefix,
        organizationId: spec.organizationId,
        jobId: spec.jobId,
        runTs,
        environmentId: spec.environmentId,
        index,
        extension,
      }),
  });
  return writeAll(new Map([['profiles', files]]), async () => {
    for await (const user of exported()) {
      ports.signal?.throwIfAborted();
      const draining = files.add(user);
      if (draining) await draining;
    }
  });
}

/** Runs `feed`, then closes every group's files; on failure, aborts them all (no partial object). */
async function writeAll<Row>(
  groups: ReadonlyMap<string, ChunkedFiles<Row>>,
  feed: () => Promise<void>,
): Promise<WrittenFile[]> {
  try {
    await feed();
  } catch (error) {
    for (const group of groups.values()) group.destroy(error as Error);
    await Promise.allSettled([...groups.values()].map((group) => group.close()));
    throw error;
  }
  const written = await Promise.allSettled([...groups.values()].map((group) => group.close()));
  const failed = written.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return written.flatMap((result) => (result as PromiseFulfilledResult<WrittenFile[]>).value);
}
