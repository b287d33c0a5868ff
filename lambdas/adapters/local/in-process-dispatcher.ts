/** Local mode's stand-in for an asynchronous Lambda invocation: the job runs in this process, later. */
import { logger } from '../../core/log';
import type { ExportDispatcher, ExportJobDispatcher, JobRunRequest, ManualExportRequest } from '../../ports';

export type ManualExportRunner = (request: ManualExportRequest) => Promise<void>;
export type JobRunRunner = (request: JobRunRequest) => Promise<void>;

export class InProcessExportDispatcher implements ExportDispatcher, ExportJobDispatcher {
  private runner?: ManualExportRunner;
  private jobRunner?: JobRunRunner;
  private readonly running = new Set<Promise<void>>();

  /** The runners are the services the dispatcher feeds, which are built after it. */
  attach(runner: ManualExportRunner, jobRunner?: JobRunRunner): void {
    this.runner = runner;
    this.jobRunner = jobRunner;
  }

  async dispatchManualExport(request: ManualExportRequest): Promise<void> {
    const runner = this.runner;
    if (!runner) throw new Error('InProcessExportDispatcher has no runner attached.');
    this.later(() => runner(request), request);
  }

  async dispatchJobRun(request: JobRunRequest): Promise<void> {
    const runner = this.jobRunner;
    if (!runner) throw new Error('InProcessExportDispatcher has no job runner attached.');
    this.later(() => runner(request), request);
  }

  private later(work: () => Promise<void>, request: object): void {
    const run: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(work)
      .catch((error: unknown) => logger.error('Local export job failed', { ...request, error: error as Error }))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** Resolves once every dispatched job has finished (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
