/**
 * The operators' metrics, as CloudWatch embedded metric format (EMF) lines on stdout through
 * Powertools: CloudWatch turns them into metrics, and the stack alarms on them. The namespace comes
 * from POWERTOOLS_METRICS_NAMESPACE (per stage, set by the stack), the `service` dimension from
 * POWERTOOLS_SERVICE_NAME.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ScheduledRunResult } from '../../core/automatic-export';
import type { FailureCheckResult } from '../../core/failure-check';
import { OPERATIONAL_METRICS } from '../../ports';

/** A scheduled run failed for a persistent reason on our side (sealing, KMS, configuration). */
export const INTERNAL_EXPORT_FAILURES = 'InternalExportFailures';
/** Enabled exports whose runs have failed transiently for more than 24 h, counted by each hourly check. */
export const EXPORTS_FAILING_TRANSIENTLY = 'ExportsFailingTransientlyOver24h';

/** A scheduled run attempt that ran (not skipped): the denominator of the failure-rate alarm. */
export const EXPORT_RUNS = 'ExportRuns';
/** A scheduled run attempt that failed, whatever the class (transient attempts included). */
export const FAILED_EXPORT_RUNS = 'FailedExportRuns';

/** The same names as the manual exports' (ports.ts), so each metric totals both styles. */
export const { exportRunOutcomes: EXPORT_RUN_OUTCOMES, rowsExported: ROWS_EXPORTED, bytesExported: BYTES_EXPORTED, exportRunDuration: EXPORT_RUN_DURATION } =
  OPERATIONAL_METRICS;

export function publishRunMetrics(metrics: Metrics, result: ScheduledRunResult, durationMs: number): void {
  const byOutcome = metrics.singleMetric();
  byOutcome.addDimensions({ style: 'scheduled', outcome: result.outcome });
  byOutcome.addMetric(EXPORT_RUN_OUTCOMES, MetricUnit.Count, 1);
  if (result.outcome === 'skipped') return;
  metrics.addMetric(EXPORT_RUNS, MetricUnit.Count, 1);
  metrics.addMetric(EXPORT_RUN_DURATION, MetricUnit.Milliseconds, durationMs);
  if (result.outcome === 'successful') {
    metrics.addMetric(ROWS_EXPORTED, MetricUnit.Count, result.rowCount);
    metrics.addMetric(BYTES_EXPORTED, MetricUnit.Bytes, result.byteCount);
  }
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

/** Warning emails the check sent, and exports it stopped (after three days of failures). */
export const WARNING_EMAILS_SENT = 'WarningEmailsSent';
export const EXPORTS_STOPPED = 'ExportsStopped';

/** Published on every check, zero included, so the alarm returns to OK once nothing fails. */
export function publishCheckMetrics(metrics: Metrics, result: FailureCheckResult): void {
  metrics.addMetric(EXPORTS_FAILING_TRANSIENTLY, MetricUnit.Count, result.failingTransiently.length);
  metrics.addMetric(WARNING_EMAILS_SENT, MetricUnit.Count, result.emailsSent.length);
  metrics.addMetric(EXPORTS_STOPPED, MetricUnit.Count, result.stopped.length);
  metrics.publishStoredMetrics();
}
