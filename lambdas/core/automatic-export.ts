/**
 * Automatic (scheduled) exports into the customer's own S3-compatible bucket: settings validated by
 * listing the bucket, one schedule per environment, runs through the one export pipeline as of the
 * scheduled instant, and the status the settings page shows.
 */
import { randomUUID } from 'node:crypto';
import { authorizeEnvironment, type Caller } from './access';
import { DestinationError, maskAccessKeyId } from './destination';
import { DestinationValidationError, destinationFrom, type SettingsInput } from './destination-input';
import { classifyRunFailure, ConflictError, ValidationError, type FailureClass, type FieldIssue } from './errors';
import { companyExport } from './export/company-export';
import { exportDeadline, runExport, RUN_TIME_LIMIT_MS, TIME_LIMIT_EXCEEDED } from './export/pipeline';
import { isoTime, isoTimeOrNull } from './iso-time';
import { logger } from './log';
import { dateOf, nextRunAt, scheduledSnapshotInstant } from './periods';
import { planIncludes, requirePlan } from './plans';
import { ScheduleReconciler } from './schedule-reconcile';
import type { ExportStatusLabel, RunView, SettingsView, StatusView } from './automatic-export-views';
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

export type ScheduledRunResult =
  | { outcome: 'skipped'; reason: 'not enabled' | 'already ran' | 'plan does not include it' }
  | { outcome: 'successful'; snapshotAt: number; objectKey: string; rowCount: number; byteCount: number }
  | {
      outcome: 'failed';
      snapshotAt: number;
      error: string;
      errorCode: string;
      failureClass: Exclude<FailureClass, 'transient'>;
    };

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
    if (
      input.secretAccessKey === undefined &&
      input.accessKeyId !== undefined &&
      input.accessKeyId !== existing?.accessKeyId
    ) {
      throw new ValidationError(
        'Send secretAccessKey with a new accessKeyId: the stored secret belongs to the previous key.',
        [{ path: 'secretAccessKey', message: 'required when accessKeyId changes' }],
      );
    }
    // The secret to validate with: the one sent, else the stored one (sealed).
    const secret: { plain: string } | { sealed: string } | undefined =
      input.secretAccessKey !== undefined
        ? { plain: input.secretAccessKey }
        : existing?.sealedSecretAccessKey !== undefined
          ? { sealed: existing.sealedSecretAccessKey }
          : undefined;

    if (input.enabled) {
      const missing: FieldIssue[] = [];
      if (!destination) missing.push({ path: 'provider', message: 'choose AWS, GCP or Custom and its bucket' });
      if (!accessKeyId) missing.push({ path: 'accessKeyId', message: 'required to enable automatic export' });
      if (!secret) missing.push({ path: 'secretAccessKey', message: 'required to enable automatic export' });
      if (notifyEmails.length === 0)
        missing.push({ path: 'notifyEmails', message: 'add at least one address to warn when exports fail' });
      if (missing.length > 0 || !destination || !accessKeyId || !secret) {
        throw new ValidationError(`Automatic export needs ${missing.map((m) => m.path).join(', ')}.`, missing);
      }
      const secretAccessKey =
        'plain' in secret ? secret.plain : await this.deps.sealer.unseal(secret.sealed, { environmentId });
      try {
        await this.deps.gateway.validate(destination, { accessKeyId, secretAccessKey });
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
      logger.warn('Schedule not reconciled after a save; the hourly check will', {
        environmentId,
        error: error as Error,
      }),
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
    const label: ExportStatusLabel =
      settings?.stoppedAt !== undefined && !enabled ? 'stopped' : (status?.lastStatus ?? 'never ran before');
    return {
      enabled,
      status: label,
      lastRunAt: isoTimeOrNull(status?.lastRunAt),
      nextRunAt: settings?.enabled ? isoTime(nextRunAt(settings.cadence, this.deps.clock.now())) : null,
      error:
        label === 'stopped'
          ? (settings?.stoppedReason ?? null)
          : label === 'failed'
            ? (status?.lastError ?? null)
            : null,
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
   * The run gives up after `timeLimitMs` (before the Lambda's time runs out) or when `signal` aborts,
   * also in the middle of a stalled upload, and is recorded as failed; a retry may then take over its
   * claim, as it may any `running` claim past its deadline (its worker was lost).
   */
  async runScheduled(
    environmentId: string,
    scheduledTime: number,
    options: { timeLimitMs?: number; signal?: AbortSignal } = {},
  ): Promise<ScheduledRunResult> {
    const { timeLimitMs = RUN_TIME_LIMIT_MS } = options;
    const settings = await this.deps.settings.get(environmentId);
    if (!isRunnable(settings)) return { outcome: 'skipped', reason: 'not enabled' };
    if (!(await this.planAllowsAutomaticExport(environmentId)))
      return { outcome: 'skipped', reason: 'plan does not include it' };
    const snapshotAt = scheduledSnapshotInstant(settings.cadence, scheduledTime);
    const startedAt = this.deps.clock.now();
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
      const finishedAt = this.deps.clock.now();
      const outcome = { status: 'successful' as const, finishedAt, durationMs: finishedAt - startedAt, ...result };
      if (await this.deps.runs.finish(environmentId, snapshotAt, claimId, outcome)) {
        await this.deps.runs.recordOutcome(environmentId, startedAt, outcome);
      }
      return { outcome: 'successful', snapshotAt, ...result };
    } catch (error) {
      const finishedAt = this.deps.clock.now();
      const outcome = {
        status: 'failed' as const,
        finishedAt,
        durationMs: finishedAt - startedAt,
        ...(signal.aborted
          ? { ...TIME_LIMIT_EXCEEDED, failureClass: 'transient' as const }
          : classifyRunFailure(error)),
      };
      const log = outcome.failureClass === 'internal' ? logger.error.bind(logger) : logger.warn.bind(logger);
      log('Scheduled export failed', {
        environmentId,
        snapshotAt,
        errorCode: outcome.errorCode,
        failureClass: outcome.failureClass,
        error: error as Error,
      });
      // A run taken over past its deadline leaves the outcome to the run that took it over.
      if (await this.deps.runs.finish(environmentId, snapshotAt, claimId, outcome)) {
        await this.deps.runs.recordOutcome(environmentId, startedAt, outcome);
      }
      if (outcome.failureClass === 'transient') throw new RetryableRunError(outcome.error, { cause: error });
      return {
        outcome: 'failed',
        snapshotAt,
        error: outcome.error,
        errorCode: outcome.errorCode,
        failureClass: outcome.failureClass,
      };
    }
  }

  /** An organization downgraded since the export was enabled no longer gets it. */
  private async planAllowsAutomaticExport(environmentId: string): Promise<boolean> {
    const environment = await this.deps.tenants.getEnvironment(environmentId);
    const organization = environment && (await this.deps.tenants.getOrganization(environment.organizationId));
    return organization !== undefined && planIncludes(organization, 'Automatic export');
  }

  private async export(settings: RunnableSettings, snapshotAt: number, signal: AbortSignal | undefined) {
    const environmentId = settings.environmentId;
    const [environment, features, segments, secretAccessKey] = await Promise.all([
      this.deps.tenants.getEnvironment(environmentId),
      this.deps.tenants.listFeatures(environmentId),
      this.deps.tenants.listSegments(environmentId),
      this.deps.sealer.unseal(settings.sealedSecretAccessKey, { environmentId }),
    ]);
    const date = dateOf(snapshotAt);
    const { fileName, ...content } = companyExport({
      environmentName: environment?.name ?? environmentId,
      period: settings.cadence,
      date,
      companies: this.deps.usage.streamCompanyUsage(environmentId),
      features,
      segments,
      points: [{ instant: snapshotAt, date }],
    });
    const result = await runExport({
      ...content,
      sink: this.deps.gateway.sink(settings.destination, { accessKeyId: settings.accessKeyId, secretAccessKey }),
      key: `${environmentId}/${fileName}`,
      signal,
    });
    const prefix = settings.destination.keyPrefix;
    return {
      objectKey: prefix ? `${prefix}/${result.key}` : result.key,
      rowCount: result.rowCount,
      byteCount: result.byteCount,
    };
  }
}

/** Settings a run can export with: enabled, with a destination and its credentials. */
type RunnableSettings = AutomaticExportSettings &
  Required<Pick<AutomaticExportSettings, 'destination' | 'accessKeyId' | 'sealedSecretAccessKey'>>;

function isRunnable(settings: AutomaticExportSettings | undefined): settings is RunnableSettings {
  return (
    settings?.enabled === true &&
    settings.destination !== undefined &&
    settings.accessKeyId !== undefined &&
    settings.sealedSecretAccessKey !== undefined
  );
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
