/**
 * Automatic (scheduled) exports into the customer's own S3-compatible bucket: settings validated by
 * listing the bucket, one schedule per environment, runs through the one export pipeline as of the
 * scheduled instant, and the status the settings page shows.
 */
import { randomUUID } from 'node:crypto';
import { authorizeEnvironment, type Caller } from './access';
import { COMPANY_COLUMN_GROUPS, COMPANY_COLUMNS } from './company-row';
import {
  bucketUrlKey,
  DestinationError,
  GCS_ENDPOINT,
  isAwsRegion,
  isBucketName,
  isRegionName,
  maskAccessKeyId,
  normalizeKeyPrefix,
  parseAwsBucketUrl,
  type Destination,
  type Provider,
} from './destination';
import { keyPrefixProblem } from './limits';
import { classifyRunFailure, ConflictError, PlanRequiredError, ValidationError, type FailureClass, type FieldIssue } from './errors';
import { companyRowBatches } from './export/company-source';
import { csvEncoder } from './export/csv';
import { exportFileName } from './export/naming';
import { exportDeadline, runExport, RUN_TIME_LIMIT_MS } from './export/pipeline';
import { logger } from './log';
import { dateOf, nextRunAt, scheduledSnapshotInstant, type Cadence } from './periods';
import { requirePlan } from './plans';
import { ScheduleReconciler } from './schedule-reconcile';
import type {
  AutomaticExportSettings,
  AutomaticExportSettingsStore,
  Clock,
  DestinationGateway,
  ExportRun,
  ExportRunStore,
  ExportScheduler,
  SecretSealer,
  TenantStore,
  UsageStore,
} from '../ports';
import { isoTimeOrNull, isoTime } from './iso-time';

/** The outcome of a run cut at its deadline: a stalled upload, usually, so it is retried. */
const TIME_LIMIT_EXCEEDED = {
  error:
    'The export did not finish within its time limit: the storage provider stopped responding or was too slow. It will be retried automatically.',
  errorCode: 'time_limit_exceeded',
};

/** Where a destination is, as the API takes it: the AWS bucket URL, or bucket, region, key (and endpoint). */
export type DestinationLocationInput = Pick<SettingsInput, 'provider' | 'bucketUrl' | 'bucket' | 'region' | 'key' | 'endpoint'>;

export interface SettingsInput {
  enabled: boolean;
  cadence?: Cadence;
  provider?: Provider;
  /** AWS only. */
  bucketUrl?: string;
  /** GCP and Custom. */
  bucket?: string;
  region?: string;
  key?: string;
  /** Custom only. */
  endpoint?: string;
  accessKeyId?: string;
  /** Omitted: keep the stored one. */
  secretAccessKey?: string;
  notifyEmails?: string[];
  /** The `version` of the settings this save is based on; omitted (or 0): only when none were saved yet. */
  version?: number;
}

export interface SettingsView {
  enabled: boolean;
  cadence: Cadence;
  provider: Provider | null;
  bucketUrl: string | null;
  bucket: string | null;
  region: string | null;
  key: string | null;
  endpoint: string | null;
  /** Masked: only the last four characters are shown. */
  accessKeyId: string | null;
  secretAccessKeySet: boolean;
  notifyEmails: string[];
  updatedAt: string | null;
  stoppedAt: string | null;
  stoppedReason: string | null;
  /** Send it back with the next save: a save based on an older version is refused (409). */
  version: number;
}

export type ExportStatusLabel = 'never ran before' | 'successful' | 'failed' | 'stopped';

export interface StatusView {
  enabled: boolean;
  status: ExportStatusLabel;
  lastRunAt: string | null;
  nextRunAt: string | null;
  error: string | null;
  errorCode: string | null;
  failingSince: string | null;
}

export interface RunView {
  snapshotAt: string;
  date: string;
  cadence: Cadence;
  status: ExportRun['status'];
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  rowCount: number | null;
  byteCount: number | null;
  objectKey: string | null;
  error: string | null;
  attempts: number;
}

export type ScheduledRunResult =
  | { outcome: 'skipped'; reason: 'not enabled' | 'already ran' | 'plan does not include it' }
  | { outcome: 'successful'; snapshotAt: number; objectKey: string; rowCount: number; byteCount: number }
  | { outcome: 'failed'; snapshotAt: number; error: string; errorCode: string; failureClass: Exclude<FailureClass, 'transient'> };

export interface AutomaticExportDependencies {
  tenants: TenantStore;
  usage: UsageStore;
  settings: AutomaticExportSettingsStore;
  runs: ExportRunStore;
  sealer: SecretSealer;
  gateway: DestinationGateway;
  scheduler: ExportScheduler;
  clock: Clock;
}

/** A destination the customer must fix, reported when saving settings. */
export class DestinationValidationError extends Error {
  override readonly name = 'DestinationValidationError';
  constructor(readonly destinationError: DestinationError) {
    super(destinationError.message, { cause: destinationError });
  }
}

/** A save based on settings that changed since they were read. */
export class StaleSettingsError extends ConflictError {
  override readonly name = 'StaleSettingsError';
  constructor(readonly currentVersion: number) {
    super(
      currentVersion === 0
        ? 'No settings were saved for this environment yet: send version 0 (or leave it out) to create them.'
        : `These settings were changed since you read them (they are at version ${currentVersion} now). Reload them, make your change again and save with the new version.`,
    );
  }
}

/** The run failed on our side or the provider's, transiently: retried by the scheduler. */
export class RetryableRunError extends Error {
  override readonly name = 'RetryableRunError';
}

export class AutomaticExportService {
  private readonly reconciler: ScheduleReconciler;

  constructor(private readonly deps: AutomaticExportDependencies) {
    this.reconciler = new ScheduleReconciler({ settings: deps.settings, scheduler: deps.scheduler });
  }

  async getSettings(caller: Caller | undefined, environmentId: string): Promise<SettingsView> {
    await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    return settingsView(await this.deps.settings.get(environmentId));
  }

  async putSettings(caller: Caller | undefined, environmentId: string, input: SettingsInput): Promise<SettingsView> {
    const { organization } = await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    // Switching off stays possible after a downgrade.
    if (input.enabled) requirePlan(organization, 'Automatic export');
    const existing = await this.deps.settings.get(environmentId);
    const expectedVersion = input.version ?? 0;
    // Refused before validating and sealing; the conditional write below settles races.
    if ((existing?.version ?? 0) !== expectedVersion) throw new StaleSettingsError(existing?.version ?? 0);
    const cadence = input.cadence ?? existing?.cadence ?? 'daily';
    const destination = destinationFrom(input) ?? existing?.destination;
    const accessKeyId = input.accessKeyId ?? existing?.accessKeyId;
    const notifyEmails = input.notifyEmails ?? existing?.notifyEmails ?? [];
    if (input.secretAccessKey === undefined && input.accessKeyId !== undefined && input.accessKeyId !== existing?.accessKeyId) {
      throw new ValidationError('Send secretAccessKey with a new accessKeyId: the stored secret belongs to the previous key.', [
        { path: 'secretAccessKey', message: 'required when accessKeyId changes' },
      ]);
    }
    const hasSecret = input.secretAccessKey !== undefined || existing?.sealedSecretAccessKey !== undefined;

    if (input.enabled) {
      const missing: FieldIssue[] = [];
      if (!destination) missing.push({ path: 'provider', message: 'choose AWS, GCP or Custom and its bucket' });
      if (!accessKeyId) missing.push({ path: 'accessKeyId', message: 'required to enable automatic export' });
      if (!hasSecret) missing.push({ path: 'secretAccessKey', message: 'required to enable automatic export' });
      if (notifyEmails.length === 0) missing.push({ path: 'notifyEmails', message: 'add at least one address to warn when exports fail' });
      if (missing.length > 0) {
        throw new ValidationError(`Automatic export needs ${missing.map((m) => m.path).join(', ')}.`, missing);
      }
      const secretAccessKey =
        input.secretAccessKey ?? (await this.deps.sealer.unseal(existing!.sealedSecretAccessKey!, { environmentId }));
      try {
        await this.deps.gateway.validate(destination!, { accessKeyId: accessKeyId!, secretAccessKey });
      } catch (error) {
        if (error instanceof DestinationError) throw new DestinationValidationError(error);
        throw error;
      }
    }

    const settings: AutomaticExportSettings = {
      environmentId,
      enabled: input.enabled,
      cadence,
      destination,
      bucketUrl: destination?.provider === 'AWS' ? (input.bucketUrl ?? existing?.bucketUrl) : undefined,
      accessKeyId,
      sealedSecretAccessKey:
        input.secretAccessKey !== undefined
          ? await this.deps.sealer.seal(input.secretAccessKey, { environmentId })
          : existing?.sealedSecretAccessKey,
      notifyEmails,
      updatedAt: this.deps.clock.now(),
      version: expectedVersion + 1,
      // A stopped export stays reported as stopped until it is enabled again.
      ...(input.enabled || existing?.stoppedAt === undefined
        ? {}
        : { stoppedAt: existing.stoppedAt, stoppedReason: existing.stoppedReason }),
    };
    if (!(await this.deps.settings.put(settings, expectedVersion))) {
      throw new StaleSettingsError((await this.deps.settings.get(environmentId))?.version ?? 0);
    }
    // The settings are saved (and marked unreconciled): a failure here is caught up by the hourly
    // check, so it is not the customer's to retry (a retry would be refused as stale anyway).
    await this.reconciler.reconcile(environmentId).catch((error: unknown) =>
      logger.warn('Schedule not reconciled after a save; the hourly check will', { environmentId, error: error as Error }),
    );
    if (settings.enabled) await this.deps.runs.clearFailure(environmentId);
    return settingsView(settings);
  }

  async getStatus(caller: Caller | undefined, environmentId: string): Promise<StatusView> {
    await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    const [settings, status] = await Promise.all([
      this.deps.settings.get(environmentId),
      this.deps.runs.getStatus(environmentId),
    ]);
    const enabled = settings?.enabled ?? false;
    const label: ExportStatusLabel = settings?.stoppedAt !== undefined && !enabled
      ? 'stopped'
      : (status?.lastStatus ?? 'never ran before');
    return {
      enabled,
      status: label,
      lastRunAt: isoTimeOrNull(status?.lastRunAt),
      nextRunAt: enabled ? isoTimeOrNull(nextRunAt(settings!.cadence, this.deps.clock.now())) : null,
      error: label === 'stopped' ? (settings?.stoppedReason ?? null) : label === 'failed' ? (status?.lastError ?? null) : null,
      errorCode: label === 'failed' ? (status?.lastErrorCode ?? null) : null,
      failingSince: isoTimeOrNull(status?.failingSince),
    };
  }

  async history(caller: Caller | undefined, environmentId: string, limit: number): Promise<RunView[]> {
    await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    return (await this.deps.runs.history(environmentId, limit)).map(runView);
  }

  /**
   * Runs the environment's export for a scheduled instant. The snapshot instant comes from the
   * schedule, never from this clock, so late runs and retries export the same data to the same key.
   * `runAt` lets local mode simulate when the run happens (its times in history and status).
   * The run gives up after `timeLimitMs` (before the Lambda's time runs out) or when `signal` aborts,
   * also in the middle of a stalled upload, and is recorded as failed; a retry may then take over its
   * claim, as it may any `running` claim past its deadline (its worker was lost).
   */
  async runScheduled(
    environmentId: string,
    scheduledTime: number,
    options: { runAt?: number; timeLimitMs?: number; signal?: AbortSignal } = {},
  ): Promise<ScheduledRunResult> {
    const { runAt, timeLimitMs = RUN_TIME_LIMIT_MS } = options;
    const settings = await this.deps.settings.get(environmentId);
    if (!settings?.enabled || !settings.destination || !settings.accessKeyId || !settings.sealedSecretAccessKey) {
      return { outcome: 'skipped', reason: 'not enabled' };
    }
    if (!(await this.planAllowsAutomaticExport(environmentId))) return { outcome: 'skipped', reason: 'plan does not include it' };
    const snapshotAt = scheduledSnapshotInstant(settings.cadence, scheduledTime);
    const clockAtStart = this.deps.clock.now();
    const startedAt = runAt ?? clockAtStart;
    const timeNow = () => startedAt + (this.deps.clock.now() - clockAtStart);
    const previous = await this.deps.runs.getRun(environmentId, snapshotAt);
    const attempts = (previous?.attempts ?? 0) + 1;
    const signal = exportDeadline(timeLimitMs, options.signal);
    const claimId = randomUUID();
    const claimed = await this.deps.runs.claim({
      environmentId,
      snapshotAt,
      cadence: settings.cadence,
      status: 'running',
      startedAt,
      deadlineAt: startedAt + timeLimitMs,
      claimId,
      attempts,
    });
    if (!claimed) return { outcome: 'skipped', reason: 'already ran' };

    try {
      const result = await this.export(settings, snapshotAt, signal);
      const finishedAt = timeNow();
      const outcome = { status: 'successful' as const, finishedAt, durationMs: finishedAt - startedAt, ...result };
      if (await this.deps.runs.finish(environmentId, snapshotAt, claimId, outcome)) {
        await this.deps.runs.recordOutcome(environmentId, startedAt, outcome);
      }
      return { outcome: 'successful', snapshotAt, ...result };
    } catch (error) {
      const finishedAt = timeNow();
      const outcome = {
        status: 'failed' as const,
        finishedAt,
        durationMs: finishedAt - startedAt,
        ...(signal.aborted ? { ...TIME_LIMIT_EXCEEDED, failureClass: 'transient' as const } : classifyRunFailure(error)),
      };
      const log = outcome.failureClass === 'internal' ? logger.error.bind(logger) : logger.warn.bind(logger);
      log('Scheduled export failed', { environmentId, snapshotAt, errorCode: outcome.errorCode, failureClass: outcome.failureClass, error: error as Error });
      // A run taken over past its deadline leaves the outcome to the run that took it over.
      if (await this.deps.runs.finish(environmentId, snapshotAt, claimId, outcome)) {
        await this.deps.runs.recordOutcome(environmentId, startedAt, outcome);
      }
      if (outcome.failureClass === 'transient') throw new RetryableRunError(outcome.error, { cause: error });
      return { outcome: 'failed', snapshotAt, error: outcome.error, errorCode: outcome.errorCode, failureClass: outcome.failureClass };
    }
  }

  /** An organization downgraded since the export was enabled no longer gets it. */
  private async planAllowsAutomaticExport(environmentId: string): Promise<boolean> {
    const environment = await this.deps.tenants.getEnvironment(environmentId);
    const organization = environment && (await this.deps.tenants.getOrganization(environment.organizationId));
    if (!organization) return false;
    try {
      requirePlan(organization, 'Automatic export');
      return true;
    } catch (error) {
      if (error instanceof PlanRequiredError) return false;
      throw error;
    }
  }

  private async export(settings: AutomaticExportSettings, snapshotAt: number, signal: AbortSignal | undefined) {
    const environmentId = settings.environmentId;
    const [environment, features, segments, secretAccessKey] = await Promise.all([
      this.deps.tenants.getEnvironment(environmentId),
      this.deps.tenants.listFeatures(environmentId),
      this.deps.tenants.listSegments(environmentId),
      this.deps.sealer.unseal(settings.sealedSecretAccessKey!, { environmentId }),
    ]);
    const date = dateOf(snapshotAt);
    const encoder = csvEncoder(COMPANY_COLUMNS, COMPANY_COLUMN_GROUPS);
    const key = `${environmentId}/${exportFileName(environment?.name ?? environmentId, settings.cadence, date, encoder.extension)}`;
    const result = await runExport({
      rows: companyRowBatches(this.deps.usage.streamCompanyUsage(environmentId), features, segments, [{ instant: snapshotAt, date }]),
      encoder,
      sink: this.deps.gateway.sink(settings.destination!, { accessKeyId: settings.accessKeyId!, secretAccessKey }),
      key,
      signal,
    });
    const prefix = settings.destination!.keyPrefix;
    return { objectKey: prefix ? `${prefix}/${result.key}` : result.key, rowCount: result.rowCount, byteCount: result.byteCount };
  }
}

/** The destination an input describes, or undefined when it names none; malformed ones are refused. */
export function destinationFrom(input: DestinationLocationInput | SettingsInput): Destination | undefined {
  if (!input.provider) return undefined;
  const issues: FieldIssue[] = [];
  let destination: Destination | undefined;
  if (input.provider === 'AWS') {
    const parsed = input.bucketUrl ? parseAwsBucketUrl(input.bucketUrl) : undefined;
    if (!parsed) {
      issues.push({
        path: 'bucketUrl',
        message: 'must look like https://<bucket>.s3.<region>.amazonaws.com[/key], e.g. https://acme-exports.s3.eu-west-1.amazonaws.com/bucket',
      });
    } else {
      destination = { provider: 'AWS', ...parsed };
    }
  } else {
    const bucket = input.bucket?.trim() ?? '';
    const region = input.region?.trim() || (input.provider === 'GCP' ? 'auto' : 'us-east-1');
    if (!isBucketName(bucket)) issues.push({ path: 'bucket', message: 'must be a bucket name: 3-63 lowercase letters, digits, dots, dashes or underscores' });
    if (input.provider === 'Custom' && !input.endpoint) issues.push({ path: 'endpoint', message: 'required for Custom, e.g. https://<ACCOUNT_ID>.eu.r2.cloudflarestorage.com' });
    if (!isRegionName(region)) issues.push({ path: 'region', message: 'must be a region name such as europe-west1, auto or us-east-1' });
    destination = {
      provider: input.provider,
      bucket,
      region,
      keyPrefix: normalizeKeyPrefix(input.key),
      endpoint: input.provider === 'GCP' ? GCS_ENDPOINT : input.endpoint,
    };
  }
  if (input.provider === 'AWS' && destination && !isAwsRegion(destination.region)) {
    issues.push({ path: 'bucketUrl', message: `"${destination.region}" is not an AWS region name such as eu-west-1` });
  }
  // Checked here, not only by the API's schema, so no caller can aim a run outside the customer's folder.
  const keyProblem = keyPrefixProblem(input.provider === 'AWS' ? bucketUrlKey(input.bucketUrl ?? '') : (input.key ?? ''));
  if (keyProblem) issues.push({ path: input.provider === 'AWS' ? 'bucketUrl' : 'key', message: `the key prefix ${keyProblem}` });
  if (issues.length > 0) throw new ValidationError(`Invalid destination. ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`, issues);
  return destination;
}

function settingsView(settings: AutomaticExportSettings | undefined): SettingsView {
  const destination = settings?.destination;
  return {
    enabled: settings?.enabled ?? false,
    cadence: settings?.cadence ?? 'daily',
    provider: destination?.provider ?? null,
    bucketUrl: settings?.bucketUrl ?? null,
    bucket: destination?.bucket ?? null,
    region: destination?.region ?? null,
    key: destination ? destination.keyPrefix : null,
    endpoint: destination?.provider === 'Custom' ? (destination.endpoint ?? null) : null,
    accessKeyId: settings?.accessKeyId ? maskAccessKeyId(settings.accessKeyId) : null,
    secretAccessKeySet: settings?.sealedSecretAccessKey !== undefined,
    notifyEmails: settings?.notifyEmails ?? [],
    updatedAt: isoTimeOrNull(settings?.updatedAt),
    stoppedAt: isoTimeOrNull(settings?.stoppedAt),
    stoppedReason: settings?.stoppedReason ?? null,
    version: settings?.version ?? 0,
  };
}

function runView(run: ExportRun): RunView {
  return {
    snapshotAt: isoTime(run.snapshotAt),
    date: dateOf(run.snapshotAt),
    cadence: run.cadence,
    status: run.status,
    startedAt: isoTime(run.startedAt),
    finishedAt: isoTimeOrNull(run.finishedAt),
    durationMs: run.durationMs ?? null,
    rowCount: run.rowCount ?? null,
    byteCount: run.byteCount ?? null,
    objectKey: run.objectKey ?? null,
    error: run.error ?? null,
    attempts: run.attempts,
  };
}
