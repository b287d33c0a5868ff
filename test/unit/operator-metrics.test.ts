/**
 * The operators' metrics as the CloudWatch embedded metric format lines the alarms read: published for
 * every scheduled run that ran (runs, failed runs, internal failures), and on every failure check (zero included).
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EmfOperationalMetrics } from '../../lambdas/adapters/metrics/emf-metrics';
import { OPERATIONAL_METRICS } from '../../lambdas/ports';
import type { ScheduledRunResult } from '../../lambdas/core/automatic-export';
import type { FailureCheckResult } from '../../lambdas/core/failure-check';
import type { JobRunOutcome } from '../../lambdas/core/export-job-runner';
import type { RawExportRunResult } from '../../lambdas/core/raw-revisions';
import {
  BYTES_EXPORTED,
  EXPORT_RUN_DURATION,
  EXPORT_RUN_OUTCOMES,
  EXPORTS_STOPPED,
  ROWS_EXPORTED,
  WARNING_EMAILS_SENT,
  EXPORT_RUNS,
  EXPORTS_FAILING_TRANSIENTLY,
  FAILED_EXPORT_RUNS,
  INTERNAL_EXPORT_FAILURES,
  publishCheckMetrics,
  publishJobRunMetrics,
  publishRawExportMetrics,
  publishRunMetrics,
  publishTransientRunFailure,
} from '../../lambdas/adapters/metrics/operator-metrics';

// Tests run with POWERTOOLS_DEV (test/support/env.ts), which switches metrics off and writes through console.
process.env.POWERTOOLS_METRICS_DISABLED = 'false';

/** The EMF documents written while `action` runs. */
function emitted(action: () => void): Record<string, any>[] {
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((line: string) => {
    lines.push(String(line));
  });
  try {
    action();
  } finally {
    spy.mockRestore();
  }
  return lines
    .flatMap((line) => line.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line));
}

const metrics = () => new Metrics({ namespace: 'DataExport/test', serviceName: 'data-export' });
const failed = (failureClass: 'customer' | 'internal'): ScheduledRunResult => ({
  outcome: 'failed',
  snapshotAt: 0,
  error: 'failed',
  errorCode: failureClass === 'internal' ? 'internal_error' : 'access_denied',
  failureClass,
});

describe('publishRunMetrics', () => {
  const succeeded = {
    outcome: 'successful',
    snapshotAt: 0,
    objectKey: 'k',
    rowCount: 12,
    byteCount: 3456,
  } as ScheduledRunResult;
  /** The run's document (the stored metrics), after the outcome's own document. */
  const published = (result: ScheduledRunResult) => {
    const documents = emitted(() => publishRunMetrics(metrics(), result, 250));
    const [outcome, ...rest] = documents;
    expect(outcome[EXPORT_RUN_OUTCOMES]).toBe(1);
    expect(outcome._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'style', 'outcome']]);
    return { outcome, run: rest[0] };
  };

  it('counts an internal failure as a failed run and an internal failure, under the service dimension in the namespace', () => {
    const { outcome, run } = published(failed('internal'));
    expect(outcome).toMatchObject({ style: 'scheduled', outcome: 'failed' });
    expect(run).toMatchObject({
      [EXPORT_RUNS]: 1,
      [FAILED_EXPORT_RUNS]: 1,
      [INTERNAL_EXPORT_FAILURES]: 1,
      [EXPORT_RUN_DURATION]: 250,
      service: 'data-export',
    });
    expect(run._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'DataExport/test',
        Dimensions: [['service']],
        Metrics: [
          { Name: EXPORT_RUNS, Unit: 'Count' },
          { Name: EXPORT_RUN_DURATION, Unit: 'Milliseconds' },
          { Name: FAILED_EXPORT_RUNS, Unit: 'Count' },
          { Name: INTERNAL_EXPORT_FAILURES, Unit: 'Count' },
        ],
      },
    ]);
  });

  it('counts a customer-side failure as a failed run, and no internal failure', () => {
    const { outcome, run } = published(failed('customer'));
    expect(outcome).toMatchObject({ style: 'scheduled', outcome: 'failed' });
    expect(run).toMatchObject({ [EXPORT_RUNS]: 1, [FAILED_EXPORT_RUNS]: 1 });
    expect(run[INTERNAL_EXPORT_FAILURES]).toBeUndefined();
    expect(run[ROWS_EXPORTED]).toBeUndefined();
  });

  it('counts a success as a run with no failure, with its rows and bytes', () => {
    const { outcome, run } = published(succeeded);
    expect(outcome).toMatchObject({ style: 'scheduled', outcome: 'successful' });
    expect(run).toMatchObject({
      [EXPORT_RUNS]: 1,
      [FAILED_EXPORT_RUNS]: 0,
      [ROWS_EXPORTED]: 12,
      [BYTES_EXPORTED]: 3456,
    });
    expect(run._aws.CloudWatchMetrics[0].Metrics).toContainEqual({ Name: BYTES_EXPORTED, Unit: 'Bytes' });
    expect(run[INTERNAL_EXPORT_FAILURES]).toBeUndefined();
  });

  it('counts a skipped run by its outcome only: it is not a run of the failure rate', () => {
    const documents = emitted(() => publishRunMetrics(metrics(), { outcome: 'skipped', reason: 'already ran' }, 5));
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ [EXPORT_RUN_OUTCOMES]: 1, outcome: 'skipped' });
    expect(documents[0][EXPORT_RUNS]).toBeUndefined();
  });

  it('counts a transient failure as a failed run', () => {
    const [document] = emitted(() => publishTransientRunFailure(metrics()));
    expect(document).toMatchObject({ [EXPORT_RUNS]: 1, [FAILED_EXPORT_RUNS]: 1 });
    expect(document[INTERNAL_EXPORT_FAILURES]).toBeUndefined();
  });
});

/** The outcome document and the run's document of one run's metrics. */
function runDocuments(publish: (metrics: Metrics) => void) {
  const [outcome, run, ...rest] = emitted(() => publish(metrics()));
  expect(rest).toEqual([]);
  expect(outcome[EXPORT_RUN_OUTCOMES]).toBe(1);
  expect(outcome._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'style', 'outcome']]);
  return { outcome, run };
}

describe('publishJobRunMetrics', () => {
  const START = Date.parse('2026-11-23T12:00:00Z');
  const ran = (
    status: 'successful' | 'failed',
    failureClass?: 'customer' | 'transient' | 'internal',
  ): JobRunOutcome => ({
    outcome: 'ran',
    run: {
      runId: '20261123120000',
      window: { from: 0, to: 1 },
      status,
      startedAt: START,
      finishedAt: START + 4_000,
      files:
        status === 'successful'
          ? [
              { key: 'a.json', records: 10, bytes: 1_000 },
              { key: 'b.json', records: 5, bytes: 700 },
            ]
          : [],
    },
    ...(failureClass && { failureClass }),
  });

  it('counts a successful run by style and outcome, with its duration and the records and bytes of all its files', () => {
    const { outcome, run } = runDocuments((m) => publishJobRunMetrics(m, ran('successful')));
    expect(outcome).toMatchObject({ style: 'job', outcome: 'successful' });
    expect(run).toMatchObject({
      [EXPORT_RUNS]: 1,
      [FAILED_EXPORT_RUNS]: 0,
      [EXPORT_RUN_DURATION]: 4_000,
      [ROWS_EXPORTED]: 15,
      [BYTES_EXPORTED]: 1_700,
    });
  });

  it('counts a failed run (transient ones included) in the failure rate; only an internal one as an internal failure', () => {
    for (const failureClass of ['customer', 'transient'] as const) {
      const { outcome, run } = runDocuments((m) => publishJobRunMetrics(m, ran('failed', failureClass)));
      expect(outcome).toMatchObject({ style: 'job', outcome: 'failed' });
      expect(run).toMatchObject({ [EXPORT_RUNS]: 1, [FAILED_EXPORT_RUNS]: 1 });
      expect(run[INTERNAL_EXPORT_FAILURES]).toBeUndefined();
      expect(run[ROWS_EXPORTED]).toBeUndefined();
    }
    expect(runDocuments((m) => publishJobRunMetrics(m, ran('failed', 'internal'))).run[INTERNAL_EXPORT_FAILURES]).toBe(
      1,
    );
  });

  it('counts a skipped run by its outcome only', () => {
    const documents = emitted(() =>
      publishJobRunMetrics(metrics(), { outcome: 'skipped', reason: 'Export job job_1 is DONE.' }),
    );
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ [EXPORT_RUN_OUTCOMES]: 1, style: 'job', outcome: 'skipped' });
  });
});

describe('publishRawExportMetrics', () => {
  const written = { written: [4, 5], exportedRevisions: 5, records: 120, bytes: 9_000 };

  it('counts a run by style and outcome, with its duration and the revision lines and bytes it wrote', () => {
    const result: RawExportRunResult = { outcome: 'successful', ...written, totalRevisions: 5, complete: true };
    const { outcome, run } = runDocuments((m) => publishRawExportMetrics(m, result, 900));
    expect(outcome).toMatchObject({ style: 'raw', outcome: 'successful' });
    expect(run).toMatchObject({
      [EXPORT_RUNS]: 1,
      [FAILED_EXPORT_RUNS]: 0,
      [EXPORT_RUN_DURATION]: 900,
      [ROWS_EXPORTED]: 120,
      [BYTES_EXPORTED]: 9_000,
    });
  });

  it('counts a failed run with what it wrote before failing, and an internal failure as one', () => {
    const result: RawExportRunResult = {
      outcome: 'failed',
      ...written,
      error: 'failed',
      errorCode: 'internal_error',
      failureClass: 'internal',
    };
    const { outcome, run } = runDocuments((m) => publishRawExportMetrics(m, result, 900));
    expect(outcome).toMatchObject({ style: 'raw', outcome: 'failed' });
    expect(run).toMatchObject({
      [EXPORT_RUNS]: 1,
      [FAILED_EXPORT_RUNS]: 1,
      [INTERNAL_EXPORT_FAILURES]: 1,
      [ROWS_EXPORTED]: 120,
      [BYTES_EXPORTED]: 9_000,
    });
  });

  it('counts a skipped run by its outcome only', () => {
    const documents = emitted(() =>
      publishRawExportMetrics(metrics(), { outcome: 'skipped', reason: 'The raw export is not enabled.' }, 3),
    );
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ style: 'raw', outcome: 'skipped' });
  });
});

describe('publishCheckMetrics', () => {
  const result = (failingTransiently: string[]): FailureCheckResult => ({
    examined: 0,
    emailsSent: [],
    stopped: [],
    schedules: { reconciled: [], failed: [] },
    jobs: { examined: 0, emailsSent: [], stopped: [], retried: [] },
    failingTransiently,
  });

  it('publishes the number of exports failing transiently for more than 24 h, zero included', () => {
    expect(
      emitted(() => publishCheckMetrics(metrics(), result(['env_a', 'env_b'])))[0][EXPORTS_FAILING_TRANSIENTLY],
    ).toBe(2);
    expect(emitted(() => publishCheckMetrics(metrics(), result([])))[0][EXPORTS_FAILING_TRANSIENTLY]).toBe(0);
  });

  it('publishes the warning emails sent and the exports stopped', () => {
    const [document] = emitted(() =>
      publishCheckMetrics(metrics(), {
        ...result([]),
        emailsSent: [
          { environmentId: 'env_a', email: 1 },
          { environmentId: 'env_b', email: 3 },
        ],
        stopped: ['env_b'],
      }),
    );
    expect(document).toMatchObject({ [WARNING_EMAILS_SENT]: 2, [EXPORTS_STOPPED]: 1 });
  });
});

describe('EmfOperationalMetrics', () => {
  it("stores counts without dimensions for the invocation's flush, and publishes dimensioned ones as their own document", () => {
    const shared = metrics();
    const port = new EmfOperationalMetrics(shared);
    const [refused] = emitted(() =>
      port.count(OPERATIONAL_METRICS.ingestRequestsRefused, 1, { reason: 'unauthorized' }),
    );
    expect(refused).toMatchObject({ IngestRequestsRefused: 1, reason: 'unauthorized', service: 'data-export' });
    expect(refused._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'reason']]);
    port.count(OPERATIONAL_METRICS.ingestItemsAccepted, 3);
    port.count(OPERATIONAL_METRICS.ingestItemsAccepted, 2);
    const [flushed] = emitted(() => shared.publishStoredMetrics());
    expect(flushed.IngestItemsAccepted).toEqual([3, 2]);
    expect(flushed.reason).toBeUndefined();
  });
});
