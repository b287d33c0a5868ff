/**
 * Local mode's stand-in for an asynchronous Lambda invocation: the job runs in this process, later. The
 * request travels as run-export's event (lambdas/run-export-events.ts), serialized and parsed as on AWS.
 */
import { logger } from '../../core/log';
import type { ExportDispatcher, ExportJobDispatcher, JobRunRequest, ManualExportRequest } from '../../ports';
import {
  parseRunExportEvent,
  toJobRunEvent,
  toJobRunRequest,
  toManualExportEvent,
  type RunExportEvent,
} from '../../run-export-events';

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
    const event = delivered(toManualExportEvent(request));
    if (event.kind !== 'manual-export') throw new Error(`Dispatched a manual export, delivered ${event.kind}.`);
    this.later(() => runner({ environmentId: event.environmentId, jobId: event.jobId }), request);
  }

  async dispatchJobRun(request: JobRunRequest): Promise<void> {
    const runner = this.jobRunner;
    if (!runner) throw new Error('InProcessExportDispatcher has no job runner attached.');
    const event = delivered(toJobRunEvent(request));
    if (event.kind !== 'job-run') throw new Error(`Dispatched a job run, delivered ${event.kind}.`);
    this.later(() => runner(toJobRunRequest(event)), request);
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

/** The event as the run-export handler receives it: through JSON, then its schema. */
const delivered = (event: RunExportEvent): RunExportEvent => parseRunExportEvent(JSON.parse(JSON.stringify(event)));
