/**
 * The raw revisions export's failures: a raw export failing on the customer's side goes through the
 * three warnings of warning-sequence.ts; at 72 h it is stopped (settings switched off, schedule removed)
 * and email 3 says so.
 */
import { errorWording, failureEmail, type WarningNumber } from './failure-emails';
import { logger } from './log';
import { dueWarning, sendWarning, STOP_AFTER_MS } from './warning-sequence';
import type {
  Clock,
  DestinationStore,
  ExportStatusRecord,
  FailingExportsStore,
  Mailer,
  RawExportScheduler,
  RawExportSettings,
  RawExportStore,
  TenantStore,
} from '../ports';

export interface RawExportFailureDependencies {
  /** The raw exports' failure sequences (their progress items in the failing index). */
  failing: FailingExportsStore;
  store: RawExportStore;
  scheduler: RawExportScheduler;
  tenants: TenantStore;
  destinations: DestinationStore;
  mailer: Mailer;
  clock: Clock;
  dashboardUrl: string;
}

export interface RawExportFailureResult {
  examined: number;
  emailsSent: { environmentId: string; email: WarningNumber }[];
  stopped: string[];
}

export function rawExportSettingsUrl(dashboardUrl: string, environmentId: string): string {
  return `${dashboardUrl.replace(/\/+$/, '')}/environments/${encodeURIComponent(environmentId)}/settings/raw-export`;
}

export class RawExportFailureCheck {
  constructor(private readonly deps: RawExportFailureDependencies) {}

  async check(now: number = this.deps.clock.now()): Promise<RawExportFailureResult> {
    const result: RawExportFailureResult = { examined: 0, emailsSent: [], stopped: [] };
    for await (const status of this.deps.failing.listFailing()) {
      result.examined++;
      try {
        await this.advance(status, now, result);
      } catch (error) {
        // One export's trouble must not keep the others' warnings from going out.
        logger.error('Raw export failure check failed', { environmentId: status.environmentId, error: error as Error });
      }
    }
    return result;
  }

  private async advance(
    status: ExportStatusRecord & { failingSince: number },
    now: number,
    result: RawExportFailureResult,
  ): Promise<void> {
    const { environmentId, failingSince } = status;
    if (now < failingSince) return;
    const settings = await this.deps.store.getSettings(environmentId);
    const stoppedByCheck = settings?.stoppedAt !== undefined;
    if (!settings || (!settings.enabled && !stoppedByCheck)) {
      // Turned off by the customer meanwhile: nothing left to warn about.
      await this.deps.failing.endSequence(environmentId, failingSince);
      return;
    }
    const email = dueWarning(now - failingSince, status.emailsSent, stoppedByCheck);
    const sent = await sendWarning(
      {
        claim: (n) => this.deps.failing.claimEmail(environmentId, failingSince, n),
        release: (n) => this.deps.failing.releaseEmail(environmentId, failingSince, n),
        stop: () => this.stop(settings, now, status.failingErrorCode),
        // The customer saved new settings meanwhile: their save ends this sequence, not a stop.
        notStopped: () => this.deps.failing.releaseEmail(environmentId, failingSince, email),
        send: async (n) => {
          const [environment, destination] = await Promise.all([
            this.deps.tenants.getEnvironment(environmentId),
            settings.destinationId === undefined
              ? undefined
              : this.deps.destinations.get(environmentId, settings.destinationId),
          ]);
          await this.deps.mailer.send(
            failureEmail(n, {
              environmentName: environment?.name ?? environmentId,
              destination: destination?.destination,
              errorCode: status.failingErrorCode,
              failingSince,
              stopAt: failingSince + STOP_AFTER_MS,
              now,
              settingsUrl: rawExportSettingsUrl(this.deps.dashboardUrl, environmentId),
              to: settings.notifyEmails,
              exportName: 'raw data export',
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

  /** Switches the raw export off and removes its schedule, unless the customer saved settings since they were read. */
  private async stop(settings: RawExportSettings, now: number, errorCode: string | undefined): Promise<boolean> {
    if (settings.stoppedAt === undefined) {
      const reason = `Stopped after failing for 72 hours. Last error: ${errorWording(errorCode)}`;
      if (!(await this.deps.store.stop(settings.environmentId, settings.version, now, reason))) return false;
    }
    await this.deps.scheduler.removeRawExport(settings.environmentId);
    return true;
  }
}
