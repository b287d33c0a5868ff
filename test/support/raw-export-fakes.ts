/**
 * In-memory fakes of the raw revisions export's ports: its store (conditional writes as the DynamoDB
 * store makes them: each change happens without an await in between) and the raw log object by object.
 */
import type { Plan } from '../../lambdas/core/model';
import type { RawRecord } from '../../lambdas/core/raw-log';
import { objectHour } from '../../lambdas/core/raw-log';
import { RawRevisionsService } from '../../lambdas/core/raw-revisions';
import { FakeClock, FakeDestinationGateway, fakeTenantWithDestination } from './fakes';
import type {
  ExportStatusRecord,
  ExportedRevision,
  FailingExportsStore,
  RawExportProgress,
  RawExportScheduler,
  RawExportSettings,
  RawExportStore,
  RawLogObject,
  RawLogObjects,
  RawRunOutcome,
} from '../../lambdas/ports';

const copy = <T>(value: T): T => structuredClone(value);

interface StoredProgress extends RawExportProgress {
  leaseId?: string;
  leaseUntil?: number;
  inFailingIndex?: boolean;
}

export class FakeRawExportStore implements RawExportStore {
  readonly settings = new Map<string, RawExportSettings>();
  readonly progress = new Map<string, StoredProgress>();
  readonly revisions = new Map<string, Map<number, ExportedRevision>>();

  async getSettings(environmentId: string): Promise<RawExportSettings | undefined> {
    const settings = this.settings.get(environmentId);
    return settings && copy(settings);
  }

  async putSettings(settings: RawExportSettings, expectedVersion: number): Promise<boolean> {
    if ((this.settings.get(settings.environmentId)?.version ?? 0) !== expectedVersion) return false;
    this.settings.set(settings.environmentId, copy(settings));
    return true;
  }

  async stop(environmentId: string, expectedVersion: number, stoppedAt: number, reason: string): Promise<boolean> {
    const settings = this.settings.get(environmentId);
    if (!settings || settings.version !== expectedVersion) return false;
    this.settings.set(environmentId, {
      ...settings,
      enabled: false,
      stoppedAt,
      stoppedReason: reason,
      version: expectedVersion + 1,
    });
    return true;
  }

  async getProgress(environmentId: string): Promise<RawExportProgress | undefined> {
    const stored = this.progress.get(environmentId);
    if (!stored) return undefined;
    const { leaseId: _lease, leaseUntil: _until, inFailingIndex: _index, ...progress } = copy(stored);
    return progress;
  }

  async claimRun(environmentId: string, claim: { claimId: string; at: number; until: number }): Promise<boolean> {
    const stored = this.progress.get(environmentId) ?? { environmentId, exportedRevisions: 0 };
    if (stored.leaseUntil !== undefined && stored.leaseUntil > claim.at && stored.leaseId !== claim.claimId)
      return false;
    this.progress.set(environmentId, { ...stored, leaseId: claim.claimId, leaseUntil: claim.until });
    return true;
  }

  async recordRevision(
    environmentId: string,
    claimId: string,
    revision: ExportedRevision,
    maxExportedTimestamp: number | undefined,
  ): Promise<boolean> {
    const revisions = this.revisions.get(environmentId) ?? new Map<number, ExportedRevision>();
    this.revisions.set(environmentId, revisions);
    revisions.set(revision.n, copy(revision));
    const stored = this.progress.get(environmentId);
    if (!stored || stored.leaseId !== claimId || stored.exportedRevisions !== revision.n - 1) return false;
    Object.assign(stored, { exportedRevisions: revision.n, lastObjectKey: revision.objectKey });
    if (maxExportedTimestamp !== undefined) stored.maxExportedTimestamp = maxExportedTimestamp;
    return true;
  }

  async *listRevisions(environmentId: string): AsyncIterable<ExportedRevision> {
    const revisions = [...(this.revisions.get(environmentId)?.values() ?? [])].sort((a, b) => a.n - b.n);
    for (const revision of revisions) yield copy(revision);
  }

  async finishRun(environmentId: string, claimId: string, outcome: RawRunOutcome): Promise<void> {
    const stored = this.progress.get(environmentId);
    if (!stored || stored.leaseId !== claimId) return;
    delete stored.leaseId;
    delete stored.leaseUntil;
    Object.assign(stored, { lastRunAt: outcome.startedAt, lastStatus: outcome.status });
    if (outcome.totalRevisions !== undefined) stored.totalRevisions = outcome.totalRevisions;
    if (outcome.status === 'successful') {
      for (const field of ['lastError', 'failingSince', 'failingErrorCode', 'emailsSent', 'inFailingIndex'] as const)
        delete stored[field];
      return;
    }
    stored.lastError = outcome.error;
    if (outcome.failureClass === 'customer') {
      stored.failingSince ??= outcome.finishedAt;
      stored.failingErrorCode = outcome.errorCode;
      stored.inFailingIndex = true;
    }
  }

  async clearFailure(environmentId: string): Promise<void> {
    const stored = this.progress.get(environmentId);
    if (!stored) return;
    for (const field of ['failingSince', 'failingErrorCode', 'emailsSent', 'inFailingIndex'] as const)
      delete stored[field];
  }
}

/** The raw log as a list of objects (keys as the log names them), each with its records. */
export class FakeRawLogObjects implements RawLogObjects {
  readonly objects = new Map<string, RawRecord[]>();

  add(key: string, records: RawRecord[]): void {
    this.objects.set(key, copy(records));
  }

  async *listObjects(environmentId: string, afterKey?: string): AsyncIterable<RawLogObject> {
    const keys = [...this.objects.keys()]
      .filter((key) => key.startsWith(`raw/${environmentId}/`) && (afterKey === undefined || key > afterKey))
      .sort();
    for (const key of keys) yield { key, hour: objectHour(key) };
  }

  /** Batches of up to 2 records, so that a run meets more than one batch per object. */
  async *readObjectBatches(key: string): AsyncIterable<RawRecord[]> {
    const records = this.objects.get(key) ?? [];
    for (let i = 0; i < records.length; i += 2) yield records.slice(i, i + 2).map(copy);
  }
}

export class FakeRawExportScheduler implements RawExportScheduler {
  readonly schedules = new Set<string>();
  async upsertRawExport(environmentId: string): Promise<void> {
    this.schedules.add(environmentId);
  }
  async removeRawExport(environmentId: string): Promise<void> {
    this.schedules.delete(environmentId);
  }
}

/** The failure check's view of a FakeRawExportStore's progress items in the failing index. */
export class FakeRawFailingExports implements FailingExportsStore {
  constructor(private readonly store: FakeRawExportStore) {}

  async *listFailing(): AsyncIterable<ExportStatusRecord & { failingSince: number }> {
    for (const item of [...this.store.progress.values()]) {
      const { environmentId, failingSince, failingErrorCode, emailsSent, inFailingIndex } = copy(item);
      if (inFailingIndex && failingSince !== undefined)
        yield { environmentId, failingSince, failingErrorCode, emailsSent };
    }
  }

  async claimEmail(environmentId: string, failingSince: number, emailNumber: number): Promise<boolean> {
    const item = this.store.progress.get(environmentId);
    const claimable =
      item !== undefined &&
      item.inFailingIndex === true &&
      item.failingSince === failingSince &&
      !(item.emailsSent ?? []).includes(emailNumber);
    if (claimable) item.emailsSent = [...(item.emailsSent ?? []), emailNumber].sort();
    return claimable;
  }

  async releaseEmail(environmentId: string, failingSince: number, emailNumber: number): Promise<void> {
    const item = this.store.progress.get(environmentId);
    if (item?.failingSince === failingSince) item.emailsSent = (item.emailsSent ?? []).filter((n) => n !== emailNumber);
  }

  async endSequence(environmentId: string, failingSince: number): Promise<void> {
    const item = this.store.progress.get(environmentId);
    if (item?.failingSince === failingSince) item.inFailingIndex = false;
  }

  async *listFailingTransientlySince(): AsyncIterable<never> {}

  async endTransientFailures(): Promise<void> {}
}

/**
 * A RawRevisionsService on fakes: organization org_1 (its plan) with environment env1 "Production" and
 * destination dst_1, AWS bucket "lake", folder "km", reached with an access key or a bucket policy.
 */
export async function rawRevisionsFixture(options: {
  plan?: Plan;
  auth?: 'accessKey' | 'bucketPolicy';
  now: number;
  objects?: FakeRawLogObjects;
}) {
  const { tenants, destinations, sealer } = await fakeTenantWithDestination({
    plan: options.plan,
    destination: { provider: 'AWS', bucket: 'lake', region: 'eu-west-1', keyPrefix: 'km' },
    credentials: options.auth === 'bucketPolicy' ? undefined : { accessKeyId: 'AKIA1', secretAccessKey: 'secret' },
  });
  const deps = {
    tenants,
    destinations,
    store: new FakeRawExportStore(),
    objects: options.objects ?? new FakeRawLogObjects(),
    sealer,
    gateway: new FakeDestinationGateway(),
    scheduler: new FakeRawExportScheduler(),
    clock: new FakeClock(options.now),
  };
  return { ...deps, service: new RawRevisionsService(deps) };
}
