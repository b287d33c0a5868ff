/**
 * The raw revisions export (KISSmetrics style). Every 12 hours a run copies the raw event log, one
 * object per revision, into the customer's destination as `revisions/<N>.json`, up to the end of
 * yesterday (UTC), then rewrites `status.csv` and `index.csv`.
 *
 * Numbering: revision N is the N-th raw-log object in receive order (object keys sort in receive
 * order). The service keeps its own high-water mark (the last revision written and its object): a
 * run resumes after it, so a revision is never written twice, even when the customer deleted it, and
 * a retried run neither repeats nor skips a number. Only the run holding the environment's lease
 * raises the mark, one revision at a time, with a conditional write.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { authorizeEnvironment, type Caller } from './access';
import { classifyRunFailure, ConflictError, ValidationError, type FailureClass, type FieldIssue } from './errors';
import { DAY_MS, HOUR_MS } from './model';
import { requirePlan } from './plans';
import { indexCsv, revisionFileName, statusCsv, unixSeconds } from './export/revision-lines';
import { RevisionLineWriter } from './export/revision-line-writer';
import { DestinationError } from './destination';
import { ReadAheadBody } from './export/read-ahead-body';
import type { ObjectSink } from './export/pipeline';
import type {
  Clock,
  DestinationGateway,
  DestinationStore,
  ExportedRevision,
  NamedDestination,
  RawExportProgress,
  RawExportRunRequest,
  RawExportScheduler,
  RawExportSettings,
  RawExportStore,
  RawLogObject,
  RawLogObjects,
  SecretSealer,
  ServiceIdentityGateway,
  TenantStore,
} from '../ports';

/** The runs' instants: 00:00 and 12:00 UTC (`cron(0 0,12 * * ? *)`). */
export const RAW_EXPORT_EVERY_HOURS = 12;
/**
 * An hour's objects are all in the bucket this long after the hour ends (Firehose buffers up to
 * 5 minutes and retries failed deliveries): a run takes only hours that ended at least this long ago,
 * so no object can appear later before one already numbered.
 */
export const SETTLE_MS = 15 * 60_000;
/** How long past its budget a run's lease lasts (the last revision's upload and the guide files). */
export const LEASE_MARGIN_MS = 5 * 60_000;
/**
 * The time a run writes revisions when its caller sets none: Lambda's 15 minutes less a margin for the
 * revision in progress and the guide files (the handler derives it from the time it has left).
 */
export const DEFAULT_RAW_EXPORT_BUDGET_MS = 12 * 60_000;
/** Lines are sent to the destination in chunks of about this many characters. */
const CHUNK_CHARS = 64 * 1024;
/** Chunks of the next revision read ahead at most (about 2 MB) while the current one's upload completes. */
const READ_AHEAD_CHUNKS = 32;

export interface RawExportSettingsInput {
  enabled: boolean;
  destinationId?: string;
  notifyEmails: string[];
  /** The version read; a save based on older settings is refused. */
  version?: number;
}

export interface RawExportSettingsView {
  enabled: boolean;
  destinationId: string | null;
  notifyEmails: string[];
  updatedAt: string | null;
  stoppedAt: string | null;
  stoppedReason: string | null;
  version: number;
}

export type RawExportStatusName = 'never ran before' | 'successful' | 'failed' | 'stopped';

export interface RawExportStatusView {
  totalRevisions: number;
  exportedRevisions: number;
  /** Unix seconds of the latest item time exported, and the same instant as ISO-8601. */
  maxExportedTimestamp: number | null;
  maxExportedAt: string | null;
  lastRunAt: string | null;
  nextRunAt: string | null;
  status: RawExportStatusName;
  error: string | null;
}

export type RawExportRunResult =
  | { outcome: 'skipped'; reason: string }
  | ({ outcome: 'successful'; totalRevisions: number; complete: boolean } & RevisionsWritten)
  | ({ outcome: 'failed'; error: string; errorCode: string; failureClass: FailureClass } & RevisionsWritten);

/** What a run wrote: the revisions' numbers, and their lines (records) and bytes in all. */
interface RevisionsWritten {
  written: number[];
  exportedRevisions: number;
  records: number;
  bytes: number;
}

export interface RawRevisionsDependencies {
  tenants: TenantStore;
  destinations: DestinationStore;
  store: RawExportStore;
  objects: RawLogObjects;
  sealer: SecretSealer;
  gateway: DestinationGateway & ServiceIdentityGateway;
  scheduler: RawExportScheduler;
  clock: Clock;
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | undefined) => (ms === undefined ? null : iso(ms));

/** The next 00:00 or 12:00 UTC strictly after `now`. */
export const nextRawRunAt = (now: number): number =>
  (Math.floor(now / (RAW_EXPORT_EVERY_HOURS * HOUR_MS)) + 1) * RAW_EXPORT_EVERY_HOURS * HOUR_MS;

/**
 * Objects of receive hours ending at or before this instant are revisions for the run: 00:00 UTC of
 * the scheduled day, and never an hour that ended less than SETTLE_MS before the run.
 */
export function revisionCutoff(scheduledTime: number, runAt: number): number {
  const dayStart = Math.floor(scheduledTime / DAY_MS) * DAY_MS;
  const settled = Math.floor((runAt - SETTLE_MS) / HOUR_MS) * HOUR_MS;
  return Math.min(dayStart, settled);
}

/** A revision being read: its body (to upload) and its summary, complete once `allRead` resolves. */
interface RevisionRead {
  revision: ExportedRevision;
  read: ReadAheadBody;
  allRead: Promise<void>;
}

/** The revisions' mark moved under this run: another run took its lease over. */
class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

export class RawRevisionsService {
  constructor(private readonly deps: RawRevisionsDependencies) {}

  async getSettings(caller: Caller | undefined, environmentId: string): Promise<RawExportSettingsView> {
    await this.authorized(caller, environmentId);
    return settingsView(await this.deps.store.getSettings(environmentId));
  }

  /** Saves the settings, then creates (enabled) or removes (disabled) the environment's schedule. */
  async putSettings(
    caller: Caller | undefined,
    environmentId: string,
    input: RawExportSettingsInput,
  ): Promise<RawExportSettingsView> {
    await this.authorized(caller, environmentId);
    const issues: FieldIssue[] = [];
    if (input.enabled && input.destinationId === undefined)
      issues.push({ path: 'destinationId', message: 'required to enable the raw export' });
    if (input.enabled && input.notifyEmails.length === 0)
      issues.push({ path: 'notifyEmails', message: 'add 1 to 10 addresses to warn when runs fail' });
    if (input.destinationId !== undefined && !(await this.deps.destinations.get(environmentId, input.destinationId))) {
      issues.push({
        path: 'destinationId',
        message: `no destination ${input.destinationId} in this environment; create one with POST .../destinations`,
      });
    }
    if (issues.length > 0) {
      throw new ValidationError(
        `Invalid raw export settings. ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`,
        issues,
      );
    }
    const existing = await this.deps.store.getSettings(environmentId);
    const current = existing?.version ?? 0;
    if (input.version !== undefined && input.version !== current) throw staleSettings(current);
    const settings: RawExportSettings = {
      environmentId,
      enabled: input.enabled,
      destinationId: input.destinationId,
      notifyEmails: input.notifyEmails,
      updatedAt: this.deps.clock.now(),
      version: current + 1,
    };
    if (!(await this.deps.store.putSettings(settings, current)))
      throw staleSettings((await this.deps.store.getSettings(environmentId))?.version ?? 0);
    // A save (even of the same destination) ends a failure sequence: the customer looked at it.
    await this.deps.store.clearFailure(environmentId);
    if (settings.enabled) await this.deps.scheduler.upsertRawExport(environmentId);
    else await this.deps.scheduler.removeRawExport(environmentId);
    return settingsView(settings);
  }

  async getStatus(caller: Caller | undefined, environmentId: string): Promise<RawExportStatusView> {
    await this.authorized(caller, environmentId);
    const [settings, progress] = await Promise.all([
      this.deps.store.getSettings(environmentId),
      this.deps.store.getProgress(environmentId),
    ]);
    const exportedRevisions = progress?.exportedRevisions ?? 0;
    let totalRevisions = exportedRevisions;
    for await (const _object of this.deps.objects.listObjects(environmentId, progress?.lastObjectKey)) totalRevisions++;
    const status: RawExportStatusName =
      settings?.stoppedAt !== undefined
        ? 'stopped'
        : progress?.lastStatus === undefined
          ? 'never ran before'
          : progress.lastStatus;
    const max = progress?.maxExportedTimestamp;
    return {
      totalRevisions,
      exportedRevisions,
      maxExportedTimestamp: max ?? null,
      maxExportedAt: max === undefined ? null : iso(max * 1000),
      lastRunAt: isoOrNull(progress?.lastRunAt),
      nextRunAt: settings?.enabled ? iso(nextRawRunAt(this.deps.clock.now())) : null,
      status,
      error:
        status === 'failed' || status === 'stopped' ? (settings?.stoppedReason ?? progress?.lastError ?? null) : null,
    };
  }

  /**
   * One run: revisions after the high-water mark, while the budget lasts (at least one, so every run
   * makes progress), then the guide files. Customer-side failures start the warning sequence.
   */
  async run(request: RawExportRunRequest): Promise<RawExportRunResult> {
    const { environmentId } = request;
    const settings = await this.deps.store.getSettings(environmentId);
    if (!settings?.enabled || settings.destinationId === undefined)
      return { outcome: 'skipped', reason: 'The raw export is not enabled.' };
    const startedAt = request.runAt ?? this.deps.clock.now();
    const claimId = randomUUID();
    if (
      !(await this.deps.store.claimRun(environmentId, {
        claimId,
        at: startedAt,
        until: startedAt + request.budgetMs + LEASE_MARGIN_MS,
      }))
    ) {
      return { outcome: 'skipped', reason: 'Another run of the raw export is in progress.' };
    }
    const progress = (await this.deps.store.getProgress(environmentId)) ?? { environmentId, exportedRevisions: 0 };
    const written: ExportedRevision[] = [];
    const revisionsWritten = (): RevisionsWritten => ({
      written: written.map((revision) => revision.n),
      exportedRevisions: progress.exportedRevisions + written.length,
      records: written.reduce((sum, revision) => sum + revision.lines, 0),
      bytes: written.reduce((sum, revision) => sum + revision.bytes, 0),
    });
    let totalRevisions: number | undefined;
    try {
      const destination = await this.destination(environmentId, settings.destinationId);
      const sink = await this.sink(destination);
      const copied = await this.copyRevisions(sink, progress, request, claimId, written);
      totalRevisions = copied.totalRevisions;
      await this.writeGuideFiles(sink, environmentId, totalRevisions);
      await this.deps.store.finishRun(environmentId, claimId, { status: 'successful', startedAt, totalRevisions });
      return { outcome: 'successful', ...revisionsWritten(), totalRevisions, complete: copied.complete };
    } catch (error) {
      if (error instanceof LeaseLostError) return { outcome: 'skipped', reason: error.message };
      const failure = classifyRunFailure(error);
      await this.deps.store.finishRun(environmentId, claimId, {
        status: 'failed',
        startedAt,
        totalRevisions,
        error: failure.error,
        errorCode: failure.errorCode,
        failureClass: failure.failureClass,
        finishedAt: request.runAt ?? this.deps.clock.now(),
      });
      return {
        outcome: 'failed',
        ...revisionsWritten(),
        error: failure.error,
        errorCode: failure.errorCode,
        failureClass: failure.failureClass,
      };
    }
  }

  /** Writes revisions after the mark; lists the rest to count them. */
  private async copyRevisions(
    sink: ObjectSink,
    progress: RawExportProgress,
    request: RawExportRunRequest,
    claimId: string,
    written: ExportedRevision[],
  ): Promise<{ totalRevisions: number; complete: boolean }> {
    const cutoff = revisionCutoff(request.scheduledTime, request.runAt ?? this.deps.clock.now());
    // The clock's time (real time, whatever instant a local run is fired for with `runAt`).
    const budgetEnd = this.deps.clock.now() + request.budgetMs;
    let n = progress.exportedRevisions;
    let maxExportedTimestamp = progress.maxExportedTimestamp;
    let unwritten = 0;
    let dueLeft = 0;
    const isDue = (object: RawLogObject) => object.hour + HOUR_MS <= cutoff;
    const objects = this.deps.objects.listObjects(progress.environmentId, progress.lastObjectKey);
    const listed = objects[Symbol.asyncIterator]();
    // The next revision, read ahead while the current one's upload completes (read-ahead-body.ts).
    let ahead: RevisionRead | undefined;
    try {
      for (let next = await listed.next(); !next.done;) {
        const object = next.value;
        const due = isDue(object);
        // Objects come in receive order: once one is left for later, all after it are too.
        if (unwritten === 0 && due && (written.length === 0 || this.deps.clock.now() < budgetEnd)) {
          const current = ahead ?? this.revisionRead(n + 1, object);
          ahead = undefined;
          current.revision.exportedAt = request.runAt ?? this.deps.clock.now();
          const upload = sink.write(revisionFileName(current.revision.n), current.read.body, {
            contentType: 'application/x-ndjson',
          });
          // Awaited below; handled now too, as it may fail while the listing is read.
          upload.catch(() => undefined);
          next = await listed.next().catch(async (error: unknown) => {
            await upload.catch(() => undefined);
            throw error;
          });
          if (!next.done && isDue(next.value)) {
            const following = this.revisionRead(current.revision.n + 1, next.value);
            ahead = following;
            void current.allRead.then(() => following.read.start());
          }
          await upload;
          const revision = current.revision;
          if (revision.maxTimestamp !== undefined)
            maxExportedTimestamp = Math.max(maxExportedTimestamp ?? revision.maxTimestamp, revision.maxTimestamp);
          if (
            !(await this.deps.store.recordRevision(progress.environmentId, claimId, revision, maxExportedTimestamp))
          ) {
            throw new LeaseLostError('Another run took over the raw export; this one stopped.');
          }
          n = revision.n;
          written.push(revision);
          continue;
        }
        ahead?.read.abandon();
        ahead = undefined;
        unwritten++;
        if (due) dueLeft++;
        next = await listed.next();
      }
    } finally {
      ahead?.read.abandon();
      await listed.return?.();
    }
    return { totalRevisions: n + unwritten, complete: dueLeft === 0 };
  }

  /**
   * `revisions/<n>.json`: the object's records as revision lines, in order, as a body that reads once
   * started or uploaded; `revision` is complete once the body is read, `allRead` resolves then.
   */
  private revisionRead(n: number, object: RawLogObject): RevisionRead {
    const revision: ExportedRevision = { n, objectKey: object.key, lines: 0, bytes: 0, exportedAt: 0 };
    const objects = this.deps.objects;
    const lineWriter = new RevisionLineWriter();
    let markRead: () => void = () => undefined;
    const allRead = new Promise<void>((resolve) => (markRead = resolve));
    async function* lines(): AsyncIterable<string> {
      let chunk = '';
      for await (const records of objects.readObjectBatches(object.key)) {
        for (const record of records) {
          const t = unixSeconds(record);
          revision.minTimestamp = Math.min(revision.minTimestamp ?? t, t);
          revision.maxTimestamp = Math.max(revision.maxTimestamp ?? t, t);
          revision.lines++;
          chunk += `${lineWriter.line(record)}\n`;
          if (chunk.length >= CHUNK_CHARS) {
            revision.bytes += Buffer.byteLength(chunk);
            yield chunk;
            chunk = '';
          }
        }
      }
      revision.bytes += Buffer.byteLength(chunk);
      markRead();
      if (chunk !== '') yield chunk;
    }
    return { revision, read: new ReadAheadBody(lines(), READ_AHEAD_CHUNKS), allRead };
  }

  private async writeGuideFiles(sink: ObjectSink, environmentId: string, totalRevisions: number): Promise<void> {
    const progress = await this.deps.store.getProgress(environmentId);
    const status = statusCsv({
      totalRevisions,
      exportedRevisions: progress?.exportedRevisions ?? 0,
      maxExportedTimestamp: progress?.maxExportedTimestamp,
    });
    await sink.write('status.csv', Readable.from([status]), { contentType: 'text/csv' });
    await sink.write('index.csv', indexCsv(this.deps.store.listRevisions(environmentId)), { contentType: 'text/csv' });
  }

  private async destination(environmentId: string, destinationId: string): Promise<NamedDestination> {
    const destination = await this.deps.destinations.get(environmentId, destinationId);
    if (!destination) throw new MissingRawExportDestinationError(destinationId);
    return destination;
  }

  /** Access-key destinations: the customer's key, unsealed; bucket-policy ones: the service's identity. */
  private async sink(named: NamedDestination): Promise<ObjectSink> {
    if (named.auth.mode === 'bucketPolicy') return this.deps.gateway.serviceSink(named.destination);
    const secretAccessKey = await this.deps.sealer.unseal(named.auth.sealedSecretAccessKey, {
      environmentId: named.environmentId,
    });
    return this.deps.gateway.sink(named.destination, { accessKeyId: named.auth.accessKeyId, secretAccessKey });
  }

  private async authorized(caller: Caller | undefined, environmentId: string): Promise<void> {
    const { organization } = await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    requirePlan(organization, 'Raw export');
  }
}

/** The raw export's destination was deleted after it was saved: the customer's to fix (the warning emails). */
export class MissingRawExportDestinationError extends DestinationError {
  override readonly name = 'MissingRawExportDestinationError';
  readonly transient = false;
  readonly code = 'destination_missing';
  constructor(destinationId: string) {
    super(
      `The raw export's destination ${destinationId} no longer exists. Choose an existing destination in the raw export settings.`,
    );
  }
}

export class StaleRawExportSettingsError extends ConflictError {
  override readonly name = 'StaleRawExportSettingsError';
}

const staleSettings = (version: number) =>
  new StaleRawExportSettingsError(
    `The raw export settings were changed since you read them (they are at version ${version} now). Reload them and save again.`,
  );

function settingsView(settings: RawExportSettings | undefined): RawExportSettingsView {
  return {
    enabled: settings?.enabled ?? false,
    destinationId: settings?.destinationId ?? null,
    notifyEmails: settings?.notifyEmails ?? [],
    updatedAt: isoOrNull(settings?.updatedAt),
    stoppedAt: isoOrNull(settings?.stoppedAt),
    stoppedReason: settings?.stoppedReason ?? null,
    version: settings?.version ?? 0,
  };
}
