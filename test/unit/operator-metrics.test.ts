/**
 * The operators' metrics as the CloudWatch embedded metric format lines the alarms read: published for
 * every scheduled run that ran (runs, failed runs, internal failures), and on every failure check (zero included).
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { ScheduledRunResult } from '../../lambdas/core/automatic-export';
import type { FailureCheckResult } from '../../lambdas/core/failure-check';
import {
  EXPORT_RUNS,
  EXPORTS_FAILING_TRANSIENTLY,
  FAILED_EXPORT_RUNS,
  INTERNAL_EXPORT_FAILURES,
  publishCheckMetrics,
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
  return lines.flatMap((line) => line.split('\n')).filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line));
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
  const succeeded = { outcome: 'successful', snapshotAt: 0, objectKey: 'k', rowCount: 1, byteCount: 1 } as ScheduledRunResult;

  it('counts an internal failure as a failed run and an internal failure, under the service dimension in the namespace', () => {
    const [document] = emitted(() => publishRunMetrics(metrics(), failed('internal')));
    expect(document).toMatchObject({ [EXPORT_RUNS]: 1, [FAILED_EXPORT_RUNS]: 1, [INTERNAL_EXPORT_FAILURES]: 1, service: 'data-export' });
    expect(document._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'DataExport/test',
        Dimensions: [['service']],
        Metrics: [EXPORT_RUNS, FAILED_EXPORT_RUNS, INTERNAL_EXPORT_FAILURES].map((Name) => ({ Name, Unit: 'Count' })),
      },
    ]);
  });

  it.each([
    ['a customer-side failure', failed('customer'), 1],
    ['a success', succeeded, 0],
  ])('counts %s as a run, failed or not, and no internal failure', (_name, result, failedRuns) => {
    const [document] = emitted(() => publishRunMetrics(metrics(), result));
    expect(document[EXPORT_RUNS]).toBe(1);
    expect(document[FAILED_EXPORT_RUNS]).toBe(failedRuns);
    expect(document[INTERNAL_EXPORT_FAILURES]).toBeUndefined();
  });

  it('publishes nothing for a skipped run', () => {
    expect(emitted(() => publishRunMetrics(metrics(), { outcome: 'skipped', reason: 'already ran' }))).toEqual([]);
  });

  it('counts a transient failure as a failed run', () => {
    const [document] = emitted(() => publishTransientRunFailure(metrics()));
    expect(document).toMatchObject({ [EXPORT_RUNS]: 1, [FAILED_EXPORT_RUNS]: 1 });
    expect(document[INTERNAL_EXPORT_FAILURES]).toBeUndefined();
  });
});

describe('publishCheckMetrics', () => {
  const result = (failingTransiently: string[]): FailureCheckResult => ({
    examined: 0,
    emailsSent: [],
    stopped: [],
    schedules: { reconciled: [], failed: [] },
    failingTransiently,
  });

  it('publishes the number of exports failing transiently for more than 24 h, zero included', () => {
    expect(emitted(() => publishCheckMetrics(metrics(), result(['env_a', 'env_b'])))[0][EXPORTS_FAILING_TRANSIENTLY]).toBe(2);
    expect(emitted(() => publishCheckMetrics(metrics(), result([])))[0][EXPORTS_FAILING_TRANSIENTLY]).toBe(0);
  });
});
