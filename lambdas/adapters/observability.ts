/**
 * Powertools on AWS: the tracer wrapping every AWS SDK client (X-Ray subsegments per call), the EMF
 * metrics of the functions, and the logger's keys per invocation. The service name (logs, traces and the
 * metrics' `service` dimension) comes from POWERTOOLS_SERVICE_NAME, set by the stack.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import { logger } from '../core/log';
import { EmfOperationalMetrics } from './metrics/emf-metrics';

export const tracer = new Tracer();
/** Namespace from POWERTOOLS_METRICS_NAMESPACE; flushed by each handler at the end of its invocation. */
export const metrics = new Metrics();
/** The core's metrics port over {@link metrics}. */
export const operationalMetrics = new EmfOperationalMetrics(metrics);

/** An SDK client whose calls are traced (a no-op outside Lambda: Powertools switches tracing off there). */
export const traced = <T>(client: T): T => tracer.captureAWSv3Client(client);

/**
 * Starts an invocation's logs: the Lambda context (request id, function, cold start) and the correlation
 * ids (environment id, job or run id). Keys of the previous invocation of a warm container are dropped.
 */
/** Publishes the invocation's stored metrics, if it counted any (Powertools warns on an empty flush). */
export function flushMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}

export function startInvocation(context: Context, correlation: Record<string, string | undefined> = {}): void {
  logger.resetKeys();
  logger.addContext(context);
  logger.appendKeys(Object.fromEntries(Object.entries(correlation).filter(([, value]) => value !== undefined)));
}
