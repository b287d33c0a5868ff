/**
 * Lambda entry that runs exports: manual export jobs (invoked asynchronously by the API) and scheduled
 * automatic exports (invoked by the environment's EventBridge Scheduler schedule).
 */
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { awsServices, readRunExportConfig } from '../adapters/aws-wiring';
import { publishRunMetrics, publishTransientRunFailure } from '../adapters/metrics/operator-metrics';
import { flushMetrics, metrics, startInvocation } from '../adapters/observability';
import { RetryableRunError } from '../core/automatic-export';
import { logger } from '../core/log';
import { validate } from '../http/validation';

const services = awsServices(readRunExportConfig());

const runExportEvent = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('manual-export'), environmentId: z.string().min(1), jobId: z.string().min(1) }),
  z.object({
    kind: z.literal('scheduled-export'),
    environmentId: z.string().min(1),
    /** EventBridge Scheduler's `<aws.scheduler.scheduled-time>`: the instant the run is for. */
    scheduledTime: z.iso.datetime({ offset: true }),
  }),
  z.object({ kind: z.literal('raw-export'), environmentId: z.string().min(1), scheduledTime: z.iso.datetime({ offset: true }) }),
]);

/** Time kept back to record a run as failed and abort its upload before Lambda stops the function. */
const WIND_DOWN_MS = 30_000;
/** A raw export run starts no revision later than this before Lambda's limit: one revision and the guide files fit. */
const RAW_EXPORT_WIND_DOWN_MS = 3 * 60_000;

export const handler = async (event: unknown, context: Context): Promise<void> => {
  startInvocation(context);
  const request = validate(runExportEvent, event, 'run-export event');
  logger.appendKeys(
    request.kind === 'manual-export'
      ? { kind: request.kind, environmentId: request.environmentId, jobId: request.jobId }
      : { kind: request.kind, environmentId: request.environmentId, runFor: request.scheduledTime },
  );
  const timeLimitMs = Math.max(1_000, context.getRemainingTimeInMillis() - WIND_DOWN_MS);
  if (request.kind === 'manual-export') {
    // The job's counts (through the metrics port) are published even when recording it throws.
    await services.manualExports.run(request.environmentId, request.jobId, { timeLimitMs }).finally(flushMetrics);
    return;
  }
  if (request.kind === 'raw-export') {
    const budgetMs = Math.max(0, context.getRemainingTimeInMillis() - RAW_EXPORT_WIND_DOWN_MS);
    const result = await services.rawRevisions.run({ environmentId: request.environmentId, scheduledTime: Date.parse(request.scheduledTime), budgetMs });
    logger.info('Raw revisions export finished', { ...result });
    return;
  }
  const startedAt = Date.now();
  // Transient failures throw (RetryableRunError), so Lambda's asynchronous retries run it again.
  const result = await services.automaticExports
    .runScheduled(request.environmentId, Date.parse(request.scheduledTime), { timeLimitMs })
    .catch((error: unknown) => {
      if (error instanceof RetryableRunError) publishTransientRunFailure(metrics);
      throw error;
    });
  logger.info('Scheduled export finished', { ...result });
  // Internal failures are not retried and not the customer's: the operators' alarm takes them.
  publishRunMetrics(metrics, result, Date.now() - startedAt);
};
