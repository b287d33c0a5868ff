/** Local mode's stand-in for an asynchronous Lambda invocation: the job runs in this process, later. */
import { logger } from '../../core/log';
import type { ExportDispatcher, ManualExportRequest } from '../../ports';

export type ManualExportRunner = (request: ManualExportRequest) => Promise<void>;

export class InProcessExportDispatcher implements ExportDispatcher {
  private runner?: ManualExportRunner;
  private readonly running = new Set<Promise<void>>();

  /** The runner is the service the dispatcher feeds, which is built after it. */
  attach(runner: ManualExportRunner): void {
    this.runner = runner;
  }

  async dispatchManualExport(request: ManualExportRequest): Promise<void> {
    const runner = this.runner;
    if (!runner) throw new Error('InProcessExportDispatcher has no runner attached.');
    const run: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => runner(request))
      .catch((error: unknown) => logger.error('Local export job failed', { ...request, error: error as Error }))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** Resolves once every dispatched job has finished (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
