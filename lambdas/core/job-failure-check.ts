/**
 * The hourly failure check's part for export jobs: a job failing on the customer's side goes through
 * the three warnings of warning-sequence.ts, each to the job's `notifyEmails`; at 72 h the job is
 * STOPPED (its schedule deleted) and email 3 says so.
 *
 * A one-time job has no schedule to try again, so each check dispatches its run again (the same
 * scheduled time, so the same keys) until one succeeds (DONE, which ends the sequence) or the job is
 * stopped: fixing the destination within the three days is enough, as the emails say.
 */
import { failureEmail, type WarningNumber } from './failure-emails';
import { stopExportJob } from './export-jobs';
import { logger } from './log';
import { dueWarning, sendWarning, STOP_AFTER_MS } from './warning-sequence';
import type {
  Clock,
  DestinationStore,
  ExportJob,
  ExportJobDispatcher,
  ExportJobScheduler,
  ExportJobStore,
  FailingJobRecord,
  FailingJobsStore,
  Mailer,
  TenantStore,
} from '../ports';

export const JOB_STOPPED_REASON = 'Stopped after its runs failed for 72 hours on the destination side.';

export interface JobFailureCheckDependencies {
  jobs: Pick<ExportJobStore, 'get' | 'put'> & FailingJobsStore;
  destinations: Pick<DestinationStore, 'get'>;
  tenants: Pick<TenantStore, 'getEnvironment'>;
  scheduler: ExportJobScheduler;
  /** Runs a failing one-time job again. */
  dispatcher: ExportJobDispatcher;
  mailer: Mailer;
  clock: Clock;
  /** The dashboard's base URL, for the link to the job's page. */
  dashboardUrl: string;
}

export interface JobFailureCheckResult {
  /** Failing jobs read from the index. */
  examined: number;
  emailsSent: { environmentId: string; jobId: string; email: WarningNumber }[];
  stopped: { environmentId: string; jobId: string }[];
  /** Failing one-time jobs whose run was dispatched again. */
  retried: { environmentId: string; jobId: string }[];
}

export function jobPageUrl(dashboardUrl: string, environmentId: string, jobId: string): string {
  return `${dashboardUrl.replace(/\/+$/, '')}/environments/${encodeURIComponent(environmentId)}/export-jobs/${encodeURIComponent(jobId)}`;
}

export class JobFailureCheck {
  constructor(private readonly deps: JobFailureCheckDependencies) {}

  async check(now: number): Promise<JobFailureCheckResult> {
    const result: JobFailureCheckResult = { examined: 0, emailsSent: [], stopped: [], retried: [] };
    for await (const failing of this.deps.jobs.listFailingJobs()) {
      result.examined++;
      try {
        await this.advance(failing, now, result);
      } catch (error) {
        // One job's trouble must not keep the others' warnings from going out.
        logger.error('Failure check failed for an export job', {
          environmentId: failing.environmentId,
          jobId: failing.jobId,
          error: error as Error,
        });
      }
    }
    return result;
  }

  private async advance(failing: FailingJobRecord, now: number, result: JobFailureCheckResult): Promise<void> {
    const { environmentId, jobId, failingSince } = failing;
    if (now < failingSince) return;
    const job = await this.deps.jobs.get(environmentId, jobId);
    const stoppedByCheck = job?.status === 'STOPPED' && job.stoppedBy === 'failureCheck';
    if (!job || job.status === 'DONE' || (job.status === 'STOPPED' && !stoppedByCheck)) {
      // Gone, finished, or stopped by a user meanwhile: nothing left to warn about.
      await this.deps.jobs.endJobSequence(environmentId, jobId, failingSince);
      return;
    }
    const email = dueWarning(now - failingSince, failing.emailsSent, stoppedByCheck);
    const sent = await sendWarning(
      {
        claim: (n) => this.deps.jobs.claimJobEmail(environmentId, jobId, failingSince, n),
        release: (n) => this.deps.jobs.releaseJobEmail(environmentId, jobId, failingSince, n),
        stop: async () => stoppedByCheck || (await this.stop(job))?.stoppedBy === 'failureCheck',
        // Finished or stopped by a user in between: no stop of ours to announce.
        notStopped: () => this.deps.jobs.endJobSequence(environmentId, jobId, failingSince),
        send: (n) => this.send(n, job, failing, now),
      },
      email,
    );
    if (sent) {
      result.emailsSent.push({ environmentId, jobId, email });
      if (email === 3) {
        await this.deps.jobs.endJobSequence(environmentId, jobId, failingSince);
        result.stopped.push({ environmentId, jobId });
      }
    }
    // Not while a run is in progress (its outcome is pending), nor once the stop is due.
    if (job.frequency.kind === 'oneTime' && job.status === 'PENDING' && email !== 3) {
      await this.deps.dispatcher.dispatchJobRun({ environmentId, jobId, scheduledTime: job.createdAt });
      result.retried.push({ environmentId, jobId });
    }
  }

  private stop(job: ExportJob): Promise<ExportJob | undefined> {
    return stopExportJob(this.deps, job.environmentId, job.id, { reason: JOB_STOPPED_REASON, by: 'failureCheck' });
  }

  private async send(email: WarningNumber, job: ExportJob, failing: FailingJobRecord, now: number): Promise<void> {
    const [environment, destination] = await Promise.all([
      this.deps.tenants.getEnvironment(job.environmentId),
      this.deps.destinations.get(job.environmentId, job.destinationId),
    ]);
    await this.deps.mailer.send(
      failureEmail(email, {
        environmentName: environment?.name ?? job.environmentId,
        destination: destination?.destination,
        authMode: destination?.auth.mode,
        job: { id: job.id, name: job.name, oneTime: job.frequency.kind === 'oneTime' },
        errorCode: failing.failingErrorCode,
        failingSince: failing.failingSince,
        stopAt: failing.failingSince + STOP_AFTER_MS,
        now,
        settingsUrl: jobPageUrl(this.deps.dashboardUrl, job.environmentId, job.id),
        to: job.notifyEmails,
      }),
    );
  }
}
