/**
 * The hourly failure check's part for export jobs: the automatic export's sequence (core/failure-check.ts)
 * applied to each job failing on the customer's side since F: email 1 at the first check after F,
 * email 2 once 24 h have passed, at 72 h the job is STOPPED (its schedule deleted) and email 3 says
 * so, each to the job's `notifyEmails`. Every email is claimed with a conditional write before it is
 * sent, so overlapping or retried checks never send one twice; an unsent email's claim is given back.
 */
import { failureEmail, type WarningNumber } from './failure-emails';
import { stopExportJob } from './export-jobs';
import { logger } from './log';
import type {
  Clock,
  DestinationStore,
  ExportJob,
  ExportJobScheduler,
  ExportJobStore,
  FailingJobRecord,
  FailingJobsStore,
  Mailer,
  TenantStore,
} from '../ports';

const HOUR_MS = 3_600_000;
export const JOB_SECOND_EMAIL_AFTER_MS = 24 * HOUR_MS;
export const JOB_STOP_AFTER_MS = 72 * HOUR_MS;
export const JOB_STOPPED_REASON = 'Stopped after its runs failed for 72 hours on the destination side.';

export interface JobFailureCheckDependencies {
  jobs: Pick<ExportJobStore, 'get' | 'put'> & FailingJobsStore;
  destinations: Pick<DestinationStore, 'get'>;
  tenants: Pick<TenantStore, 'getEnvironment'>;
  scheduler: ExportJobScheduler;
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
}

export function jobPageUrl(dashboardUrl: string, environmentId: string, jobId: string): string {
  return `${dashboardUrl.replace(/\/+$/, '')}/environments/${encodeURIComponent(environmentId)}/export-jobs/${encodeURIComponent(jobId)}`;
}

export class JobFailureCheck {
  constructor(private readonly deps: JobFailureCheckDependencies) {}

  async check(now: number): Promise<JobFailureCheckResult> {
    const result: JobFailureCheckResult = { examined: 0, emailsSent: [], stopped: [] };
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
    const elapsed = now - failingSince;
    const due: WarningNumber =
      elapsed >= JOB_STOP_AFTER_MS || stoppedByCheck ? 3 : elapsed >= JOB_SECOND_EMAIL_AFTER_MS ? 2 : 1;
    // A missed first warning (checks down for a day) goes out before the reminder; the stop never waits.
    const email: WarningNumber = due === 2 && !failing.emailsSent.includes(1) ? 1 : due;
    if (!(await this.deps.jobs.claimJobEmail(environmentId, jobId, failingSince, email))) return;
    try {
      if (email === 3 && !stoppedByCheck && (await this.stop(job))?.stoppedBy !== 'failureCheck') {
        // Finished or stopped by a user in between: no stop of ours to announce.
        await this.deps.jobs.endJobSequence(environmentId, jobId, failingSince);
        return;
      }
      await this.send(email, job, failing, now);
    } catch (failure) {
      // Unsent: give the claim back so the next check sends it (a stopped job stays stopped).
      await this.deps.jobs.releaseJobEmail(environmentId, jobId, failingSince, email);
      throw failure;
    }
    result.emailsSent.push({ environmentId, jobId, email });
    if (email === 3) {
      await this.deps.jobs.endJobSequence(environmentId, jobId, failingSince);
      result.stopped.push({ environmentId, jobId });
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
        job: { id: job.id, name: job.name },
        errorCode: failing.failingErrorCode,
        failingSince: failing.failingSince,
        stopAt: failing.failingSince + JOB_STOP_AFTER_MS,
        now,
        settingsUrl: jobPageUrl(this.deps.dashboardUrl, job.environmentId, job.id),
        to: job.notifyEmails,
      }),
    );
  }
}
