/**
 * Lambda entry that runs exports: manual export jobs and one-time export jobs' runs (invoked
 * asynchronously by the API), scheduled automatic exports and recurring export jobs' runs (invoked by
 * their EventBridge Scheduler schedules). The events are lambdas/run-export-events.ts's.
 */
import type { Context } from 'aws-lambda';
import { awsServices, readRunExportConfig } from '../adapters/aws-wiring';
import {
  publishJobRunMetrics,
  publishRawExportMetrics,
  publishRunMetrics,
  publishTransientRunFailure,
} from '../adapters/metrics/operator-metrics';
import { flushMetrics, metrics, startInvocation } from '../adapters/observability';
import { RetryableRunError } from '../core/automatic-export';
import { logger } from '../core/log';
import { isJobRunEvent, parseRunExportEvent, toJobRunRequest } from '../run-export-events';

const services = awsServices(readRunExportConfig());

/** Time kept back to record a run as failed and abort its upload before Lambda stops the function. */
const WIND_DOWN_MS = 30_000;
/** A raw export run starts no revision later than this before Lambda's limit: one revision and the guide files fit. */
const RAW_EXPORT_WIND_DOWN_MS = 3 * 60_000;

export const handler = async (event: unknown, context: Context): Promise<void> => {
  startInvocation(context);
  const request = parseRunExportEvent(event);
  const { kind, environmentId } = request;
  logger.appendKeys(
    request.kind === 'manual-export'
      ? { kind, environmentId, jobId: request.jobId }
      : { kind, environmentId, runFor: request.scheduledTime },
  );
  const timeLimitMs = Math.max(1_000, context.getRemainingTimeInMillis() - WIND_DOWN_MS);
  if (isJobRunEvent(request)) {
    logger.appendKeys({ jobId: request.jobId });
    // The run's own failures are recorded in the job's history. A transient one, and what throws (its
    // stores failing), is thrown again, so Lambda's asynchronous retries run it again: the same window
    // and the same object keys.
    const outcome = await services.exportJobService.runJob(toJobRunRequest(request), { timeLimitMs });
    logger.info(
      'Export job run finished',
      outcome.outcome === 'ran' ? { outcome: outcome.outcome, status: outcome.run.status } : outcome,
    );
    publishJobRunMetrics(metrics, outcome);
    if (outcome.outcome === 'ran' && outcome.failureClass === 'transient') {
      throw new RetryableRunError(outcome.run.error ?? 'The export job run failed transiently.');
    }
    return;
  }
  if (request.kind === 'manual-export') {
    // The job's counts (through the metrics port) are published even when recording it throws.
    await services.manualExports.run(environmentId, request.jobId, { timeLimitMs }).finally(flushMetrics);
    return;
  }
  if (request.kind === 'raw-export') {
    const budgetMs = Math.max(0, context.getRemainingTimeInMillis() - RAW_EXPORT_WIND_DOWN_MS);
    const startedAt = Date.now();
    const result = await services.rawRevisions.run({
      environmentId,
      scheduledTime: Date.parse(request.scheduledTime),
      budgetMs,
    });
    logger.info('Raw revisions export finished', { ...result });
    publishRawExportMetrics(metrics, result, Date.now() - startedAt);
    return;
  }
  const startedAt = Date.now();
  // Transient failures throw (RetryableRunError), so Lambda's asynchronous retries run it again.
  const result = await services.automaticExports
    .runScheduled(environmentId, Date.parse(request.scheduledTime), { timeLimitMs })
    .catch((error: unknown) => {
      if (error instanceof RetryableRunError) publishTransientRunFailure(metrics);
      throw error;
    });
  logger.info('Scheduled export finished', { ...result });
  // Internal failures are not retried and not the customer's: the operators' alarm takes them.
  publishRunMetrics(metrics, result, Date.now() - startedAt);
};
