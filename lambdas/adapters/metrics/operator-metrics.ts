/**
 * The operators' metrics, as CloudWatch embedded metric format (EMF) lines on stdout through
 * Powertools: CloudWatch turns them into metrics, and the stack alarms on them. The namespace comes
 * from POWERTOOLS_METRICS_NAMESPACE (per stage, set by the stack), the `service` dimension from
 * POWERTOOLS_SERVICE_NAME.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ScheduledRunResult } from '../../core/automatic-export';
import type { FailureCheckResult } from '../../core/failure-check';

/** A scheduled run failed for a persistent reason on our side (sealing, KMS, configuration). */
export const INTERNAL_EXPORT_FAILURES = 'InternalExportFailures';
/** Enabled exports whose runs have failed transiently for more than 24 h, counted by each hourly check. */
export const EXPORTS_FAILING_TRANSIENTLY = 'ExportsFailingTransientlyOver24h';

/** A scheduled run attempt that ran (not skipped): the denominator of the failure-rate alarm. */
export const EXPORT_RUNS = 'ExportRuns';
/** A scheduled run attempt that failed, whatever the class (transient attempts included). */
export const FAILED_EXPORT_RUNS = 'FailedExportRuns';

export function publishRunMetrics(metrics: Metrics, result: ScheduledRunResult): void {
  if (result.outcome === 'skipped') return;
  metrics.addMetric(EXPORT_RUNS, MetricUnit.Count, 1);
  // Zero on success, so the failure rate's numerator has data whenever its denominator does.
  metrics.addMetric(FAILED_EXPORT_RUNS, MetricUnit.Count, result.outcome === 'failed' ? 1 : 0);
  if (result.outcome === 'failed' && result.failureClass === 'internal') metrics.addMetric(INTERNAL_EXPORT_FAILURES, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}

/** A scheduled run attempt that failed transiently (it throws, so Lambda retries it). */
export function publishTransientRunFailure(metrics: Metrics): void {
  metrics.addMetric(EXPORT_RUNS, MetricUnit.Count, 1);
  metrics.addMetric(FAILED_EXPORT_RUNS, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}

/** Published on every check, zero included, so the alarm returns to OK once nothing fails. */
export function publishCheckMetrics(metrics: Metrics, result: FailureCheckResult): void {
  metrics.addMetric(EXPORTS_FAILING_TRANSIENTLY, MetricUnit.Count, result.failingTransiently.length);
  metrics.publishStoredMetrics();
}
