/**
 * The hourly failure check. An automatic export failing on the customer's side goes through the three
 * warnings of core/warning-sequence.ts, as export jobs (core/job-failure-check.ts) and the raw export
 * (core/raw-export-failures.ts) do. The check also reconciles the schedules of settings changed since
 * their last reconcile (a save or a stop whose own reconcile did not finish).
 */
import { errorWording, failureEmail, type WarningNumber } from './failure-emails';
import { JobFailureCheck, type JobFailureCheckDependencies, type JobFailureCheckResult } from './job-failure-check';
import { logger } from './log';
import { HOUR_MS } from './model';
import { ScheduleReconciler, type PendingReconcileResult } from './schedule-reconcile';
import { dueWarning, sendWarning, STOP_AFTER_MS } from './warning-sequence';
import type { RawExportFailureCheck, RawExportFailureResult } from './raw-export-failures';
import type {
  AutomaticExportSettings,
  AutomaticExportSettingsStore,
  Clock,
  ExportScheduler,
  ExportStatusRecord,
  FailingExportsStore,
  Mailer,
  TenantStore,
} from '../ports';

/** Transient failures (throttling, 5xx, timeouts, unknown errors) lasting longer than this alarm the operators. */
export const TRANSIENT_ALARM_AFTER_MS = 24 * HOUR_MS;

export interface FailureCheckDependencies {
  failing: FailingExportsStore;
  settings: AutomaticExportSettingsStore;
  tenants: TenantStore;
  scheduler: ExportScheduler;
  mailer: Mailer;
  clock: Clock;
  /** The dashboard's base URL, for the link to the settings page. */
  dashboardUrl: string;
  /**
   * Export jobs, their destinations, schedules and the dispatcher that runs a failing one-time job again:
   * without them the check covers the automatic export only.
   */
  exportJobs?: Pick<JobFailureCheckDependencies, 'jobs' | 'destinations' | 'scheduler' | 'dispatcher'>;
  /** The raw revisions exports' own sequence (core/raw-export-failures.ts), run by the same hourly check. */
  rawExports?: Pick<RawExportFailureCheck, 'check'>;
}

export interface FailureCheckResult {
  /** Failing exports read from the index. */
  examined: number;
  emailsSent: { environmentId: string; email: WarningNumber }[];
  stopped: string[];
  /** Environments whose schedule was reconciled with their saved settings, and those that failed to. */
  schedules: PendingReconcileResult;
  /** Enabled exports failing transiently for more than 24 h: for the operators' alarm, not the customer. */
  failingTransiently: string[];
  /** Export jobs' warnings and stops. */
  jobs: JobFailureCheckResult;
  /** The raw revisions exports' sequences, when the check runs them. */
  rawExports?: RawExportFailureResult;
}

export function settingsPageUrl(dashboardUrl: string, environmentId: string): string {
  return `${dashboardUrl.replace(/\/+$/, '')}/environments/${encodeURIComponent(environmentId)}/settings/data-export`;
}

export class FailureCheckService {
  private readonly reconciler: ScheduleReconciler;
  private readonly jobCheck?: JobFailureCheck;

  constructor(private readonly deps: FailureCheckDependencies) {
    this.reconciler = new ScheduleReconciler({ settings: deps.settings, scheduler: deps.scheduler });
    if (deps.exportJobs) this.jobCheck = new JobFailureCheck({ ...deps, ...deps.exportJobs });
  }

  async check(now: number = this.deps.clock.now()): Promise<FailureCheckResult> {
    const schedules = await this.reconciler.reconcilePending();
    const result: FailureCheckResult = {
      examined: 0,
      emailsSent: [],
      stopped: [],
      schedules,
      failingTransiently: [],
      jobs: { examined: 0, emailsSent: [], stopped: [], retried: [] },
    };
    for await (const status of this.deps.failing.listFailing()) {
      result.examined++;
      try {
        await this.advance(status, now, result);
      } catch (error) {
        // One export's trouble must not keep the others' warnings from going out.
        logger.error('Failure check failed for an export', {
          environmentId: status.environmentId,
          error: error as Error,
        });
      }
    }
    await this.findLongTransientFailures(now, result);
    if (this.jobCheck) result.jobs = await this.jobCheck.check(now);
    if (this.deps.rawExports) result.rawExports = await this.deps.rawExports.check(now);
    return result;
  }

  /** Exports whose runs have failed transiently for more than 24 h: retries are not helping, an operator must look. */
  private async findLongTransientFailures(now: number, result: FailureCheckResult): Promise<void> {
    for await (const { environmentId, transientSince } of this.deps.failing.listFailingTransientlySince(
      now - TRANSIENT_ALARM_AFTER_MS,
    )) {
      try {
        if (!(await this.deps.settings.get(environmentId))?.enabled) {
          // Switched off: no run will end these failures, and nothing is failing any more.
          await this.deps.failing.endTransientFailures(environmentId, transientSince);
          continue;
        }
        logger.error('Export failing transiently for more than 24 hours', {
          environmentId,
          transientSince: new Date(transientSince).toISOString(),
        });
        result.failingTransiently.push(environmentId);
      } catch (error) {
        logger.error('Failure check failed for an export', { environmentId, error: error as Error });
      }
    }
  }

  private async advance(
    status: ExportStatusRecord & { failingSince: number },
    now: number,
    result: FailureCheckResult,
  ) {
    const { environmentId, failingSince } = status;
    const errorCode = status.failingErrorCode ?? status.lastErrorCode;
    if (now < failingSince) return;
    const settings = await this.deps.settings.get(environmentId);
    const stoppedByCheck = settings?.stoppedAt !== undefined;
    if (!settings?.destination || (!settings.enabled && !stoppedByCheck)) {
      // Turned off by the customer meanwhile: nothing left to warn about.
      await this.deps.failing.endSequence(environmentId, failingSince);
      return;
    }
    const email = dueWarning(now - failingSince, status.emailsSent, stoppedByCheck);
    const { destination } = settings;
    const sent = await sendWarning(
      {
        claim: (n) => this.deps.failing.claimEmail(environmentId, failingSince, n),
        release: (n) => this.deps.failing.releaseEmail(environmentId, failingSince, n),
        stop: () => this.stop(environmentId, settings, now, errorCode),
        // The customer saved new settings meanwhile: their save ends this sequence, not a stop.
        notStopped: () => this.deps.failing.releaseEmail(environmentId, failingSince, email),
        send: async (n) => {
          const environment = await this.deps.tenants.getEnvironment(environmentId);
          await this.deps.mailer.send(
            failureEmail(n, {
              environmentName: environment?.name ?? environmentId,
              destination,
              errorCode,
              failingSince,
              stopAt: failingSince + STOP_AFTER_MS,
              now,
              settingsUrl: settingsPageUrl(this.deps.dashboardUrl, environmentId),
              to: settings.notifyEmails,
            }),
          );
        },
      },
      email,
    );
    if (!sent) return;
    result.emailsSent.push({ environmentId, email });
    if (email === 3) {
      await this.deps.failing.endSequence(environmentId, failingSince);
      result.stopped.push(environmentId);
    }
  }

  /** Switches the export off unless the customer changed its settings since they were read. */
  private async stop(
    environmentId: string,
    settings: AutomaticExportSettings,
    now: number,
    errorCode: string | undefined,
  ): Promise<boolean> {
    if (settings.stoppedAt === undefined) {
      const reason = `Stopped after failing for 72 hours. Last error: ${errorWording(errorCode)}`;
      if (!(await this.deps.settings.stop(environmentId, settings.version, now, reason))) return false;
    }
    // A save racing the stop wins: the reconcile applies whatever the settings say last.
    await this.reconciler.reconcile(environmentId);
    return true;
  }
}
