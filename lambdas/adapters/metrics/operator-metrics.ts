/**
 * The operators' metrics, as CloudWatch embedded metric format (EMF) lines on stdout through
 * Powertools: CloudWatch turns them into metrics, and the stack alarms on them. The namespace comes
 * from POWERTOOLS_METRICS_NAMESPACE (per stage, set by the stack), the `service` dimension from
 * POWERTOOLS_SERVICE_NAME.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ScheduledRunResult } from '../../core/automatic-export';
import type { FailureClass } from '../../core/errors';
import type { JobRunOutcome } from '../../core/export-job-runner';
import type { RawExportRunResult } from '../../core/raw-revisions';
import type { FailureCheckResult } from '../../core/failure-check';
import { OPERATIONAL_METRICS } from '../../ports';

/** A run (automatic export, job, raw export) failed for a persistent reason on our side (sealing, KMS, configuration). */
export const INTERNAL_EXPORT_FAILURES = 'InternalExportFailures';
/** Enabled exports whose runs have failed transiently for more than 24 h, counted by each hourly check. */
export const EXPORTS_FAILING_TRANSIENTLY = 'ExportsFailingTransientlyOver24h';

/** A run attempt of the automatic export, an export job or the raw export that ran (not skipped): the denominator of the failure-rate alarm. */
export const EXPORT_RUNS = 'ExportRuns';
/** A run attempt of those that failed, whatever the class (transient attempts included). */
export const FAILED_EXPORT_RUNS = 'FailedExportRuns';

/** The same names as the manual exports' (ports.ts), so each metric totals both styles. */
export const {
  exportRunOutcomes: EXPORT_RUN_OUTCOMES,
  rowsExported: ROWS_EXPORTED,
  bytesExported: BYTES_EXPORTED,
  exportRunDuration: EXPORT_RUN_DURATION,
} = OPERATIONAL_METRICS;

/** A run of any export style, in the terms its metrics share. */
export interface ExportRunMetrics {
  /** Dimension `style` of the outcome count: scheduled (automatic export), job (export job run), raw (raw revisions export). */
  style: 'scheduled' | 'job' | 'raw';
  outcome: 'successful' | 'failed' | 'skipped';
  /** A failed run's class: an internal one is counted for the operators' alarm. */
  failureClass?: FailureClass;
  durationMs: number;
  /** What a run exported (successful runs, and what a failed raw export wrote before it failed). */
  records?: number;
  bytes?: number;
}

/**
 * Runs by outcome and style (their own document); for a run that ran, the failure rate's counts (a
 * skipped run is not one of its runs), the duration, and the records and bytes it exported.
 */
export function publishExportRunMetrics(metrics: Metrics, run: ExportRunMetrics): void {
  const byOutcome = metrics.singleMetric();
  byOutcome.addDimensions({ style: run.style, outcome: run.outcome });
  byOutcome.addMetric(EXPORT_RUN_OUTCOMES, MetricUnit.Count, 1);
  if (run.outcome === 'skipped') return;
  metrics.addMetric(EXPORT_RUNS, MetricUnit.Count, 1);
  metrics.addMetric(EXPORT_RUN_DURATION, MetricUnit.Milliseconds, run.durationMs);
  if (run.records !== undefined) metrics.addMetric(ROWS_EXPORTED, MetricUnit.Count, run.records);
  if (run.bytes !== undefined) metrics.addMetric(BYTES_EXPORTED, MetricUnit.Bytes, run.bytes);
  // Zero on success, so the failure rate's numerator has data whenever its denominator does.
  metrics.addMetric(FAILED_EXPORT_RUNS, MetricUnit.Count, run.outcome === 'failed' ? 1 : 0);
  if (run.outcome === 'failed' && run.failureClass === 'internal')
    metrics.addMetric(INTERNAL_EXPORT_FAILURES, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}

/** A scheduled run of the automatic export. */
export function publishRunMetrics(metrics: Metrics, result: ScheduledRunResult, durationMs: number): void {
  publishExportRunMetrics(metrics, {
    style: 'scheduled',
    outcome: result.outcome,
    durationMs,
    ...(result.outcome === 'successful' && { records: result.rowCount, bytes: result.byteCount }),
    ...(result.outcome === 'failed' && { failureClass: result.failureClass }),
  });
}

/** An export job's run: its duration as recorded in the job's history, its files' records and bytes. */
export function publishJobRunMetrics(metrics: Metrics, outcome: JobRunOutcome): void {
  if (outcome.outcome === 'skipped') {
    publishExportRunMetrics(metrics, { style: 'job', outcome: 'skipped', durationMs: 0 });
    return;
  }
  const { run, failureClass } = outcome;
  const successful = run.status === 'successful';
  publishExportRunMetrics(metrics, {
    style: 'job',
    outcome: successful ? 'successful' : 'failed',
    durationMs: (run.finishedAt ?? run.startedAt) - run.startedAt,
    ...(successful && {
      records: run.files.reduce((sum, file) => sum + file.records, 0),
      bytes: run.files.reduce((sum, file) => sum + file.bytes, 0),
    }),
    ...(failureClass && { failureClass }),
  });
}

/** A run of the raw revisions export: the revisions' lines and bytes it wrote, also before a failure. */
export function publishRawExportMetrics(metrics: Metrics, result: RawExportRunResult, durationMs: number): void {
  publishExportRunMetrics(metrics, {
    style: 'raw',
    outcome: result.outcome,
    durationMs,
    ...(result.outcome !== 'skipped' && { records: result.records, bytes: result.bytes }),
    ...(result.outcome === 'failed' && { failureClass: result.failureClass }),
  });
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
