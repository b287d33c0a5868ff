/**
 * In-memory fakes of the ports (lambdas/ports.ts) for the unit tests of the core services. Each one
 * keeps the semantics its port documents (claims, conditional outcomes, sequences), with no network,
 * and records what the services asked of it so tests can assert on it. Every method is async and
 * each state change happens without an await in between, so concurrent callers see atomic writes,
 * like a conditional single-item write.
 */
import type { Readable } from 'node:stream';
import type { Destination, DestinationCredentials } from '../../lambdas/core/destination';
import type { ObjectWriteOptions } from '../../lambdas/core/export/pipeline';
import { ConflictError } from '../../lambdas/core/errors';
import type { StoredAttributes } from '../../lambdas/core/company-attributes';
import type {
  CompanyUsage,
  Environment,
  FeatureDefinition,
  Organization,
  Plan,
  SegmentDefinition,
} from '../../lambdas/core/model';
import type { StoredIngestKey } from '../../lambdas/core/ingest-keys';
import type { Cadence } from '../../lambdas/core/periods';
import type {
  AutomaticExportSettings,
  AutomaticExportSettingsStore,
  Clock,
  CompanyUpdate,
  DestinationGateway,
  DestinationStore,
  ExportJob,
  ExportJobDispatcher,
  ExportJobRun,
  ExportJobScheduler,
  ExportJobStore,
  FailingJobRecord,
  FailingJobsStore,
  JobRunFailureOutcome,
  JobRunRequest,
  NamedDestination,
  ServiceIdentityGateway,
  EmailMessage,
  ExportRun,
  ExportRunStore,
  ExportScheduler,
  ExportStatusRecord,
  FailingExportsStore,
  FeedbackRecord,
  IngestKeyOwner,
  Mailer,
  ManualExportJob,
  ManualExportOutcome,
  ManualExportStore,
  ObjectSink,
  RunOutcome,
  SecretSealer,
  TenantStore,
  UsageEvent,
  UsageStore,
  UserUpdate,
} from '../../lambdas/ports';

const copy = <T>(value: T): T => structuredClone(value);

/** A clock the test sets and advances. */
export class FakeClock implements Clock {
  constructor(public current: number = Date.parse('2026-01-01T00:00:00Z')) {}
  now(): number {
    return this.current;
  }
  set(instant: number): void {
    this.current = instant;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export class FakeTenantStore implements TenantStore {
  readonly organizations = new Map<string, Organization>();
  readonly environments = new Map<string, Environment>();
  readonly features = new Map<string, FeatureDefinition[]>();
  readonly segments = new Map<string, SegmentDefinition[]>();
  /** Ingest key hash -> owning environment id and, once replaced, the key's end. */
  readonly ingestKeys = new Map<string, { environmentId: string; validUntil?: number }>();

  async createOrganization(org: Organization): Promise<void> {
    if (this.organizations.has(org.id)) throw new ConflictError(`Organization ${org.id} exists.`);
    this.organizations.set(org.id, copy(org));
  }
  async getOrganization(id: string): Promise<Organization | undefined> {
    const org = this.organizations.get(id);
    return org && copy(org);
  }
  async updateOrganizationPlan(id: string, plan: Plan): Promise<Organization | undefined> {
    const org = this.organizations.get(id);
    if (!org) return undefined;
    org.plan = plan;
    return copy(org);
  }
  async createEnvironment(env: Environment): Promise<void> {
    if (this.environments.has(env.id) || this.ingestKeys.has(env.ingestKeyHash))
      throw new ConflictError(`Environment ${env.id} exists.`);
    this.environments.set(env.id, copy(env));
    this.ingestKeys.set(env.ingestKeyHash, { environmentId: env.id });
  }
  async getEnvironment(id: string): Promise<Environment | undefined> {
    const env = this.environments.get(id);
    return env && copy(env);
  }
  async findIngestKey(ingestKeyHash: string): Promise<IngestKeyOwner | undefined> {
    const key = this.ingestKeys.get(ingestKeyHash);
    const environment = key && this.environments.get(key.environmentId);
    return (
      environment && {
        environment: copy(environment),
        ...(key.validUntil === undefined ? {} : { validUntil: key.validUntil }),
      }
    );
  }
  async replaceIngestKey(
    environment: Environment,
    next: StoredIngestKey,
    previousValidUntil: number,
  ): Promise<Environment> {
    const stored = this.environments.get(environment.id);
    if (!stored || stored.ingestKeyHash !== environment.ingestKeyHash) throw new ConflictError('Rotated concurrently.');
    const previous = this.ingestKeys.get(environment.ingestKeyHash)!;
    previous.validUntil = Math.min(previous.validUntil ?? Infinity, previousValidUntil);
    this.ingestKeys.set(next.hash, { environmentId: environment.id });
    Object.assign(stored, { ingestKeyHash: next.hash, ingestKeyPrefix: next.prefix });
    return copy(stored);
  }
  async putFeature(environmentId: string, feature: FeatureDefinition): Promise<void> {
    const list = (this.features.get(environmentId) ?? []).filter((f) => f.id !== feature.id);
    this.features.set(environmentId, [...list, copy(feature)]);
  }
  async listFeatures(environmentId: string): Promise<FeatureDefinition[]> {
    return copy(this.features.get(environmentId) ?? []);
  }
  async putSegment(environmentId: string, segment: SegmentDefinition): Promise<void> {
    const list = (this.segments.get(environmentId) ?? []).filter((s) => s.id !== segment.id);
    this.segments.set(environmentId, [...list, copy(segment)]);
  }
  async listSegments(environmentId: string): Promise<SegmentDefinition[]> {
    return copy(this.segments.get(environmentId) ?? []);
  }
}

/**
 * Usage: only what the exports read (bulk-loaded histories, streamed in company id order). The
 * tracking writes are not needed by the services under test and say so if called.
 */
export class FakeUsageStore implements UsageStore {
  readonly companies = new Map<string, Map<string, CompanyUsage>>();

  async recordCompany(_environmentId: string, _update: CompanyUpdate): Promise<void> {
    throw new Error('FakeUsageStore.recordCompany is not implemented');
  }
  async companyAttributes(environmentId: string, companyId: string): Promise<StoredAttributes> {
    return { values: { ...this.companies.get(environmentId)?.get(companyId)?.company.attributes }, times: {} };
  }
  async recordUser(_environmentId: string, _update: UserUpdate): Promise<void> {
    throw new Error('FakeUsageStore.recordUser is not implemented');
  }
  async findUserCompany(_environmentId: string, _userId: string): Promise<string | undefined> {
    throw new Error('FakeUsageStore.findUserCompany is not implemented');
  }
  async recordEvent(_environmentId: string, _event: UsageEvent): Promise<void> {
    throw new Error('FakeUsageStore.recordEvent is not implemented');
  }
  async recordFeedback(_environmentId: string, _feedback: FeedbackRecord): Promise<void> {
    throw new Error('FakeUsageStore.recordFeedback is not implemented');
  }
  async putCompanyUsage(environmentId: string, usage: CompanyUsage): Promise<void> {
    const byCompany = this.companies.get(environmentId) ?? new Map<string, CompanyUsage>();
    byCompany.set(usage.company.companyId, usage);
    this.companies.set(environmentId, byCompany);
  }
  async *streamCompanyUsage(environmentId: string): AsyncIterable<CompanyUsage> {
    const byCompany = this.companies.get(environmentId) ?? new Map<string, CompanyUsage>();
    const ids = [...byCompany.keys()].sort();
    for (const id of ids) {
      const usage = byCompany.get(id)!;
      yield usage;
    }
  }
}

export class FakeSettingsStore implements AutomaticExportSettingsStore {
  readonly items = new Map<string, AutomaticExportSettings>();
  /** Environments marked unreconciled (the sparse index of the config table). */
  readonly unreconciled = new Set<string>();
  puts = 0;
  /** When set, `put` throws it (once per assignment is up to the test). */
  putError: Error | undefined;

  async get(environmentId: string): Promise<AutomaticExportSettings | undefined> {
    const item = this.items.get(environmentId);
    return item && copy(item);
  }
  /** Conditional on the stored version, like the DynamoDB store (whose condition the integration tests check). */
  async put(settings: AutomaticExportSettings, expectedVersion: number): Promise<boolean> {
    if (this.putError) throw this.putError;
    if ((this.items.get(settings.environmentId)?.version ?? 0) !== expectedVersion) return false;
    this.puts++;
    // DynamoDB drops undefined attributes; so does the fake.
    this.items.set(settings.environmentId, JSON.parse(JSON.stringify(settings)) as AutomaticExportSettings);
    this.unreconciled.add(settings.environmentId);
    return true;
  }
  /** Conditional on the stored settings still being at `expectedVersion`. */
  async stop(environmentId: string, expectedVersion: number, stoppedAt: number, reason: string): Promise<boolean> {
    await this.beforeStop?.();
    const item = this.items.get(environmentId);
    if (!item || item.version !== expectedVersion) return false;
    Object.assign(item, { enabled: false, stoppedAt, stoppedReason: reason, version: expectedVersion + 1 });
    this.unreconciled.add(environmentId);
    this.stops++;
    return true;
  }
  stops = 0;
  /** Runs at the start of `stop`, e.g. to let a customer's save race the failure check. */
  beforeStop: (() => Promise<void> | void) | undefined;

  async *listUnreconciled(): AsyncIterable<string> {
    yield* [...this.unreconciled];
  }
  async markReconciled(environmentId: string, version: number): Promise<void> {
    if (this.items.get(environmentId)?.version === version) this.unreconciled.delete(environmentId);
  }
}

/** The status item of one environment, with the sparse failing index as a flag (`failingPk`). */
interface StatusItem extends ExportStatusRecord {
  inFailingIndex: boolean;
}

/**
 * Runs (one per snapshot instant) and the status item, shared with FakeFailingExportsStore as in the
 * config table.
 */
export class FakeExportRunStore implements ExportRunStore {
  readonly runs = new Map<string, Map<number, ExportRun>>();
  readonly statuses = new Map<string, StatusItem>();
  readonly claims: { run: ExportRun; claimed: boolean }[] = [];

  async claim(run: ExportRun): Promise<boolean> {
    const byEnv = this.runs.get(run.environmentId) ?? new Map<number, ExportRun>();
    const existing = byEnv.get(run.snapshotAt);
    const claimable =
      !existing ||
      existing.status === 'failed' ||
      (existing.status === 'running' && existing.deadlineAt < run.startedAt);
    this.claims.push({ run: copy(run), claimed: claimable });
    if (!claimable) return false;
    byEnv.set(run.snapshotAt, copy(run));
    this.runs.set(run.environmentId, byEnv);
    return true;
  }

  async finish(environmentId: string, snapshotAt: number, claimId: string, outcome: RunOutcome): Promise<boolean> {
    const run = this.runs.get(environmentId)?.get(snapshotAt);
    if (!run || run.claimId !== claimId) return false;
    const { failureClass: _class, ...fields } = outcome as RunOutcome & { failureClass?: string };
    Object.assign(run, fields);
    return true;
  }

  async getRun(environmentId: string, snapshotAt: number): Promise<ExportRun | undefined> {
    const run = this.runs.get(environmentId)?.get(snapshotAt);
    return run && copy(run);
  }

  async history(environmentId: string, limit: number): Promise<ExportRun[]> {
    return [...(this.runs.get(environmentId)?.values() ?? [])]
      .sort((a, b) => b.snapshotAt - a.snapshotAt)
      .slice(0, limit)
      .map(copy);
  }

  async getStatus(environmentId: string): Promise<ExportStatusRecord | undefined> {
    const item = this.statuses.get(environmentId);
    if (!item) return undefined;
    const { inFailingIndex: _index, ...record } = copy(item);
    return record;
  }

  async recordOutcome(environmentId: string, startedAt: number, outcome: RunOutcome): Promise<void> {
    const item: StatusItem = this.statuses.get(environmentId) ?? { environmentId, inFailingIndex: false };
    // A slow run finishing after a newer one does not overwrite the newer outcome.
    if (item.lastRunAt !== undefined && item.lastRunAt > startedAt) return;
    item.lastRunAt = startedAt;
    item.lastStatus = outcome.status;
    if (outcome.status === 'successful') {
      delete item.lastError;
      delete item.lastErrorCode;
      delete item.failingSince;
      delete item.failingError;
      delete item.failingErrorCode;
      delete item.emailsSent;
      item.inFailingIndex = false;
    } else {
      item.lastError = outcome.error;
      item.lastErrorCode = outcome.errorCode;
      if (outcome.failureClass === 'customer') {
        item.failingSince ??= outcome.finishedAt;
        item.failingError = outcome.error;
        item.failingErrorCode = outcome.errorCode;
        item.inFailingIndex = true;
      }
    }
    if (outcome.status === 'failed' && outcome.failureClass === 'transient') item.transientSince ??= outcome.finishedAt;
    else delete item.transientSince;
    this.statuses.set(environmentId, item);
  }

  async clearFailure(environmentId: string): Promise<void> {
    const item = this.statuses.get(environmentId);
    if (!item) return;
    delete item.failingSince;
    delete item.failingError;
    delete item.failingErrorCode;
    delete item.emailsSent;
    item.inFailingIndex = false;
  }

  /** Test helper: an environment failing since `failingSince` with `lastError`, as a failed run leaves it. */
  seedFailing(environmentId: string, failingSince: number, lastError: string, emailsSent?: number[]): void {
    this.statuses.set(environmentId, {
      environmentId,
      lastRunAt: failingSince,
      lastStatus: 'failed',
      lastError,
      lastErrorCode: 'access_denied',
      failingSince,
      failingErrorCode: 'access_denied',
      emailsSent,
      inFailingIndex: true,
    });
  }
}

/**
 * The failure check's view of the status items of a FakeExportRunStore. Claims are conditional on the
 * sequence (its failingSince) still being current and in the failing index: true exactly once per
 * sequence and email, false once the sequence has ended.
 */
export class FakeFailingExportsStore implements FailingExportsStore {
  readonly calls: {
    op: 'claim' | 'release' | 'end';
    environmentId: string;
    failingSince: number;
    email?: number;
    result?: boolean;
  }[] = [];
  /** Environment ids whose next `claimEmail` throws (then is forgotten). */
  readonly failNextClaimFor = new Set<string>();

  constructor(private readonly runs: FakeExportRunStore) {}

  async *listFailing(): AsyncIterable<ExportStatusRecord & { failingSince: number }> {
    const failing = [...this.runs.statuses.values()].filter(
      (item) => item.inFailingIndex && item.failingSince !== undefined,
    );
    for (const item of failing) {
      const { inFailingIndex: _index, ...record } = copy(item);
      yield record as ExportStatusRecord & { failingSince: number };
    }
  }

  async claimEmail(environmentId: string, failingSince: number, emailNumber: number): Promise<boolean> {
    if (this.failNextClaimFor.delete(environmentId)) throw new Error(`claimEmail failed for ${environmentId}`);
    const item = this.runs.statuses.get(environmentId);
    const claimable =
      item !== undefined &&
      item.inFailingIndex &&
      item.failingSince === failingSince &&
      !(item.emailsSent ?? []).includes(emailNumber);
    if (claimable) item.emailsSent = [...(item.emailsSent ?? []), emailNumber].sort();
    this.calls.push({ op: 'claim', environmentId, failingSince, email: emailNumber, result: claimable });
    return claimable;
  }

  async releaseEmail(environmentId: string, failingSince: number, emailNumber: number): Promise<void> {
    this.calls.push({ op: 'release', environmentId, failingSince, email: emailNumber });
    const item = this.runs.statuses.get(environmentId);
    if (!item || item.failingSince !== failingSince) return;
    item.emailsSent = (item.emailsSent ?? []).filter((n) => n !== emailNumber);
  }

  async endSequence(environmentId: string, failingSince: number): Promise<void> {
    this.calls.push({ op: 'end', environmentId, failingSince });
    const item = this.runs.statuses.get(environmentId);
    if (!item || item.failingSince !== failingSince) return;
    item.inFailingIndex = false;
  }

  async *listFailingTransientlySince(before: number): AsyncIterable<{ environmentId: string; transientSince: number }> {
    for (const { environmentId, transientSince } of [...this.runs.statuses.values()]) {
      if (transientSince !== undefined && transientSince <= before) yield { environmentId, transientSince };
    }
  }

  async endTransientFailures(environmentId: string, transientSince: number): Promise<void> {
    const item = this.runs.statuses.get(environmentId);
    if (item?.transientSince === transientSince) delete item.transientSince;
  }
}

export type SchedulerCall =
  | { op: 'upsert'; environmentId: string; cadence: Cadence }
  | { op: 'remove'; environmentId: string }
  | { op: 'upsertJob'; environmentId: string; jobId: string; everyHours: number; startAt: number }
  | { op: 'removeJob'; environmentId: string; jobId: string };

export class FakeScheduler implements ExportScheduler, ExportJobScheduler {
  /** Export jobs' schedules by job id. */
  readonly jobSchedules = new Map<string, { environmentId: string; everyHours: number; startAt: number }>();

  async upsertJob(environmentId: string, jobId: string, everyHours: number, startAt: number): Promise<void> {
    this.calls.push({ op: 'upsertJob', environmentId, jobId, everyHours, startAt });
    if (this.error) throw this.error;
    this.jobSchedules.set(jobId, { environmentId, everyHours, startAt });
  }

  async removeJob(environmentId: string, jobId: string): Promise<void> {
    this.calls.push({ op: 'removeJob', environmentId, jobId });
    if (this.error) throw this.error;
    this.jobSchedules.delete(jobId);
  }

  readonly schedules = new Map<string, Cadence>();
  readonly calls: SchedulerCall[] = [];
  /** When set, every call throws it (after being recorded), changing nothing. */
  error: Error | undefined;

  async upsert(environmentId: string, cadence: Cadence): Promise<void> {
    this.calls.push({ op: 'upsert', environmentId, cadence });
    if (this.error) throw this.error;
    this.schedules.set(environmentId, cadence);
  }
  /** Runs at the start of `remove` (once, then forgotten), e.g. to let a customer's save race it. */
  beforeRemove: (() => Promise<void> | void) | undefined;

  async remove(environmentId: string): Promise<void> {
    const hook = this.beforeRemove;
    this.beforeRemove = undefined;
    await hook?.();
    this.calls.push({ op: 'remove', environmentId });
    if (this.error) throw this.error;
    this.schedules.delete(environmentId);
  }
}

/** Reversible and bound to its environment, like KMS with an encryption context. */
export class FakeSealer implements SecretSealer {
  static readonly PREFIX = 'sealed:';

  async seal(plaintext: string, context: { environmentId: string }): Promise<string> {
    return `${FakeSealer.PREFIX}${Buffer.from(JSON.stringify([context.environmentId, plaintext])).toString('base64')}`;
  }
  async unseal(sealed: string, context: { environmentId: string }): Promise<string> {
    if (!sealed.startsWith(FakeSealer.PREFIX)) throw new Error('Not a sealed secret.');
    const [environmentId, plaintext] = JSON.parse(
      Buffer.from(sealed.slice(FakeSealer.PREFIX.length), 'base64').toString(),
    ) as [string, string];
    if (environmentId !== context.environmentId) throw new Error('The sealed secret belongs to another environment.');
    return plaintext;
  }
}

export interface WrittenObject {
  destination: Destination;
  credentials: DestinationCredentials;
  /** The full object key: the destination's key prefix, then the export's key. */
  key: string;
  contentType: string;
  body: string;
}

/** The customer's bucket: validation and writes succeed unless the test sets the error they throw. */
export class FakeDestinationGateway implements DestinationGateway, ServiceIdentityGateway {
  /** Destinations probed as the service's export role (bucket-policy mode). */
  readonly probes: Destination[] = [];
  /** Thrown by probeWrite when set (a bucket policy not pasted, or removed). */
  probeError: Error | undefined;

  async probeWrite(destination: Destination): Promise<void> {
    this.probes.push(copy(destination));
    if (this.probeError) throw this.probeError;
  }

  serviceSink(destination: Destination): ObjectSink {
    return this.sink(destination, { accessKeyId: 'service-export-role', secretAccessKey: 'service-export-role' });
  }

  readonly validations: { destination: Destination; credentials: DestinationCredentials }[] = [];
  readonly objects: WrittenObject[] = [];
  validateError: Error | undefined;
  /** Thrown by the sink's write, after it has read the body (like a failed multipart upload). */
  writeError: Error | undefined;
  /** Called while an object is being written, e.g. to let the clock run during an upload. */
  onWrite: (() => void) | undefined;
  /** Writes stall (an upload that stops moving) until their signal aborts them; then they reject. */
  stallWrites = false;

  async validate(destination: Destination, credentials: DestinationCredentials): Promise<void> {
    this.validations.push({ destination: copy(destination), credentials: copy(credentials) });
    if (this.validateError) throw this.validateError;
  }

  sink(destination: Destination, credentials: DestinationCredentials): ObjectSink {
    return {
      write: async (key: string, body: Readable, options: ObjectWriteOptions) => {
        if (this.stallWrites) {
          const signal = options.signal;
          if (!signal) throw new Error('A stalled write without a signal would never end.');
          await new Promise((_resolve, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
          );
        }
        const chunks: Buffer[] = [];
        for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
        this.onWrite?.();
        if (this.writeError) throw this.writeError;
        this.objects.push({
          destination: copy(destination),
          credentials: copy(credentials),
          key: destination.keyPrefix ? `${destination.keyPrefix}/${key}` : key,
          contentType: options.contentType,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      },
    };
  }
}

export class FakeMailer implements Mailer {
  readonly sent: EmailMessage[] = [];
  readonly attempts: EmailMessage[] = [];
  /** Number of upcoming sends that fail. */
  failNext = 0;

  async send(message: EmailMessage): Promise<void> {
    this.attempts.push(message);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('SES is unavailable');
    }
    this.sent.push(message);
  }
}

/** Versioned items by environment and id, each change conditional on the stored version. */
class FakeVersionedItems<T extends { environmentId: string; id: string; version: number }> {
  readonly items = new Map<string, T>();
  private key = (environmentId: string, id: string) => `${environmentId}/${id}`;

  async create(item: T): Promise<boolean> {
    const key = this.key(item.environmentId, item.id);
    if (this.items.has(key)) return false;
    this.items.set(key, JSON.parse(JSON.stringify(item)) as T);
    return true;
  }
  async get(environmentId: string, id: string): Promise<T | undefined> {
    const item = this.items.get(this.key(environmentId, id));
    return item && copy(item);
  }
  async list(environmentId: string): Promise<T[]> {
    return [...this.items.values()].filter((item) => item.environmentId === environmentId).map(copy);
  }
  async put(item: T, expectedVersion: number): Promise<boolean> {
    const key = this.key(item.environmentId, item.id);
    if (this.items.get(key)?.version !== expectedVersion) return false;
    // DynamoDB drops undefined attributes; so does the fake.
    this.items.set(key, JSON.parse(JSON.stringify(item)) as T);
    return true;
  }
  async delete(environmentId: string, id: string, expectedVersion: number): Promise<boolean> {
    const key = this.key(environmentId, id);
    if (this.items.get(key)?.version !== expectedVersion) return false;
    this.items.delete(key);
    return true;
  }
}

export class FakeDestinationStore extends FakeVersionedItems<NamedDestination> implements DestinationStore {}

/** Organization org_1 "Acme" on `plan` with its environment "Production" (env1 unless said). */
export function fakeTenant(plan: Plan = 'enterprise', environmentId = 'env1'): FakeTenantStore {
  const tenants = new FakeTenantStore();
  tenants.organizations.set('org_1', { id: 'org_1', name: 'Acme', plan, createdAt: 0 });
  tenants.environments.set(environmentId, {
    id: environmentId,
    organizationId: 'org_1',
    name: 'Production',
    ingestKeyHash: 'h',
    ingestKeyPrefix: 'ik_a',
    createdAt: 0,
  });
  return tenants;
}

/**
 * The tenant the runners' tests start from: {@link fakeTenant} and env1's saved destination dst_1
 * "Lake" at `destination`, reached with the customer's access key `credentials` (its secret sealed
 * here, for env1) or, without them, through the bucket's policy.
 */
export async function fakeTenantWithDestination(options: {
  destination: Destination;
  credentials?: DestinationCredentials;
  plan?: Plan;
}): Promise<{ tenants: FakeTenantStore; destinations: FakeDestinationStore; sealer: FakeSealer }> {
  const tenants = fakeTenant(options.plan);
  const sealer = new FakeSealer();
  const destinations = new FakeDestinationStore();
  const { credentials } = options;
  await destinations.create({
    environmentId: 'env1',
    id: 'dst_1',
    name: 'Lake',
    destination: options.destination,
    auth: credentials
      ? {
          mode: 'accessKey',
          accessKeyId: credentials.accessKeyId,
          sealedSecretAccessKey: await sealer.seal(credentials.secretAccessKey, { environmentId: 'env1' }),
        }
      : { mode: 'bucketPolicy' },
    createdAt: 0,
    updatedAt: 0,
    version: 1,
  });
  return { tenants, destinations, sealer };
}

export class FakeExportJobStore extends FakeVersionedItems<ExportJob> implements ExportJobStore, FailingJobsStore {
  readonly runs = new Map<string, ExportJobRun[]>();
  /** The jobs' failure sequences by `<environmentId>/<jobId>`, as the JOBSTATUS items hold them. */
  readonly failures = new Map<string, { lastOutcomeRunId: string; sequence?: FailingJobRecord }>();

  async recordRunOutcome(environmentId: string, jobId: string, outcome: JobRunFailureOutcome): Promise<void> {
    if (outcome.status === 'failed' && outcome.failureClass !== 'customer') return;
    const key = `${environmentId}/${jobId}`;
    const current = this.failures.get(key);
    if (current && current.lastOutcomeRunId > outcome.runId) return;
    const sequence =
      outcome.status === 'successful'
        ? undefined
        : {
            environmentId,
            jobId,
            failingSince: current?.sequence?.failingSince ?? outcome.finishedAt,
            failingErrorCode: outcome.errorCode,
            emailsSent: current?.sequence?.emailsSent ?? [],
          };
    this.failures.set(key, { lastOutcomeRunId: outcome.runId, sequence });
  }

  async *listFailingJobs(): AsyncIterable<FailingJobRecord> {
    for (const { sequence } of [...this.failures.values()]) if (sequence) yield copy(sequence);
  }

  async claimJobEmail(
    environmentId: string,
    jobId: string,
    failingSince: number,
    emailNumber: number,
  ): Promise<boolean> {
    const sequence = this.failures.get(`${environmentId}/${jobId}`)?.sequence;
    if (sequence?.failingSince !== failingSince || sequence.emailsSent.includes(emailNumber)) return false;
    sequence.emailsSent = [...sequence.emailsSent, emailNumber].sort((a, b) => a - b);
    return true;
  }

  async releaseJobEmail(
    environmentId: string,
    jobId: string,
    failingSince: number,
    emailNumber: number,
  ): Promise<void> {
    const sequence = this.failures.get(`${environmentId}/${jobId}`)?.sequence;
    if (sequence?.failingSince === failingSince)
      sequence.emailsSent = sequence.emailsSent.filter((n) => n !== emailNumber);
  }

  async endJobSequence(environmentId: string, jobId: string, failingSince: number): Promise<void> {
    const status = this.failures.get(`${environmentId}/${jobId}`);
    if (status?.sequence?.failingSince === failingSince) delete status.sequence;
  }

  async recordRun(environmentId: string, jobId: string, run: ExportJobRun): Promise<void> {
    const key = `${environmentId}/${jobId}`;
    const runs = (this.runs.get(key) ?? []).filter((existing) => existing.runId !== run.runId);
    this.runs.set(
      key,
      [...runs, copy(run)].sort((a, b) => (a.runId < b.runId ? -1 : 1)),
    );
    const job = this.items.get(key);
    if (job && (job.lastRunAt === undefined || job.lastRunAt < run.startedAt)) job.lastRunAt = run.startedAt;
  }
  async listRuns(environmentId: string, jobId: string, limit: number): Promise<ExportJobRun[]> {
    return [...(this.runs.get(`${environmentId}/${jobId}`) ?? [])].reverse().slice(0, limit).map(copy);
  }
}

/** Records the job runs dispatched. */
export class FakeJobDispatcher implements ExportJobDispatcher {
  readonly dispatched: JobRunRequest[] = [];
  async dispatchJobRun(request: JobRunRequest): Promise<void> {
    this.dispatched.push(copy(request));
  }
}

/**
 * Manual export jobs and the environments' export slots. Claims and finishes are conditional like the
 * table's (pending, or running past the deadline; an outcome only for the claim holding the job).
 */
export class FakeManualExportStore implements ManualExportStore {
  /** By `<environmentId>/<id>`. */
  readonly jobs = new Map<string, ManualExportJob>();
  /** By `<environmentId>/<slot>`. */
  readonly slots = new Map<string, { jobId: string; leaseUntil: number }>();
  readonly claims: { id: string; claimId: string; at: number; claimed: boolean }[] = [];

  async create(job: ManualExportJob): Promise<void> {
    const key = `${job.environmentId}/${job.id}`;
    if (this.jobs.has(key)) throw new ConflictError(`Manual export ${job.id} exists.`);
    this.jobs.set(key, copy(job));
  }
  async get(environmentId: string, id: string): Promise<ManualExportJob | undefined> {
    const job = this.jobs.get(`${environmentId}/${id}`);
    return job && copy(job);
  }
  async claim(
    environmentId: string,
    id: string,
    { claimId, at, deadlineAt }: { claimId: string; at: number; deadlineAt: number },
  ): Promise<boolean> {
    const job = this.jobs.get(`${environmentId}/${id}`);
    const claimable =
      job !== undefined &&
      (job.status === 'pending' || (job.status === 'running' && job.deadlineAt !== undefined && job.deadlineAt < at));
    this.claims.push({ id, claimId, at, claimed: claimable });
    if (claimable) Object.assign(job, { status: 'running', startedAt: at, deadlineAt, claimId });
    return claimable;
  }
  async finish(environmentId: string, id: string, outcome: ManualExportOutcome, claimId?: string): Promise<boolean> {
    const job = this.jobs.get(`${environmentId}/${id}`);
    if (!job || (claimId !== undefined && job.claimId !== claimId)) return false;
    Object.assign(job, copy(outcome));
    return true;
  }
  async acquireSlot(
    environmentId: string,
    jobId: string,
    slots: number,
    at: number,
    leaseUntil: number,
  ): Promise<number | undefined> {
    for (let slot = 0; slot < slots; slot++) {
      const held = this.slots.get(`${environmentId}/${slot}`);
      if (held && held.leaseUntil > at) continue;
      this.slots.set(`${environmentId}/${slot}`, { jobId, leaseUntil });
      return slot;
    }
    return undefined;
  }
  async releaseSlot(environmentId: string, slot: number, jobId: string): Promise<void> {
    if (this.slots.get(`${environmentId}/${slot}`)?.jobId === jobId) this.slots.delete(`${environmentId}/${slot}`);
  }
}
