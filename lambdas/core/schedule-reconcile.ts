/**
 * The saved settings are the source of truth for an environment's schedule. Reconciling makes the
 * schedule match them (created or updated while enabled, deleted otherwise); it is idempotent, runs
 * after every change of the settings and, for changes whose reconcile did not finish (a crash, a
 * scheduler outage), in the hourly check. Every change marks the settings as unreconciled in the same
 * conditional write, so no crash between the save and the reconcile leaves them apart for longer than
 * the next check.
 */
import { logger } from './log';
import type { AutomaticExportSettingsStore, ExportScheduler } from '../ports';

/**
 * Passes of one reconcile when saves keep arriving meanwhile; each of those saves reconciles after
 * itself, and the mark left on the settings brings the hourly check to any that did not finish.
 */
const MAX_PASSES = 5;

export interface ScheduleReconcileDependencies {
  settings: AutomaticExportSettingsStore;
  scheduler: ExportScheduler;
}

export interface PendingReconcileResult {
  reconciled: string[];
  failed: string[];
}

export class ScheduleReconciler {
  constructor(private readonly deps: ScheduleReconcileDependencies) {}

  /**
   * Makes the environment's schedule match its saved settings. The settings are read again after the
   * scheduler call: when another change was saved meanwhile, a reconcile that applied the older
   * settings (and may have landed after the newer one's) applies the newer ones again, so the last
   * call to reach the scheduler always carries the latest settings.
   */
  async reconcile(environmentId: string): Promise<void> {
    let applied = await this.deps.settings.get(environmentId);
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      if (applied?.enabled) await this.deps.scheduler.upsert(environmentId, applied.cadence);
      else await this.deps.scheduler.remove(environmentId);
      const latest = await this.deps.settings.get(environmentId);
      if ((latest?.version ?? 0) === (applied?.version ?? 0)) {
        if (latest) await this.deps.settings.markReconciled(environmentId, latest.version);
        return;
      }
      applied = latest;
    }
  }

  /** Reconciles every environment still marked unreconciled; one failure does not stop the others. */
  async reconcilePending(): Promise<PendingReconcileResult> {
    const result: PendingReconcileResult = { reconciled: [], failed: [] };
    for await (const environmentId of this.deps.settings.listUnreconciled()) {
      try {
        await this.reconcile(environmentId);
        result.reconciled.push(environmentId);
      } catch (error) {
        logger.error('Schedule reconcile failed; the next check tries again', { environmentId, error: error as Error });
        result.failed.push(environmentId);
      }
    }
    return result;
  }
}
