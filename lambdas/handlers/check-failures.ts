/** Lambda entry for the hourly failure check (three warning emails over three days, then the export stops). */
import type { Context } from 'aws-lambda';
import { awsFailureCheck, readFailureCheckConfig } from '../adapters/aws-wiring';
import { publishCheckMetrics } from '../adapters/metrics/operator-metrics';
import { metrics, startInvocation } from '../adapters/observability';
import { logger } from '../core/log';

const failureCheck = awsFailureCheck(readFailureCheckConfig());

export const handler = async (_event: unknown, context: Context): Promise<void> => {
  startInvocation(context);
  const result = await failureCheck.check();
  logger.info('Failure check finished', {
    examined: result.examined,
    emailsSent: result.emailsSent,
    stopped: result.stopped,
    schedulesReconciled: result.schedules.reconciled.length,
    schedulesFailed: result.schedules.failed,
    failingTransiently: result.failingTransiently,
    // Export jobs: their warnings and stops, and the failing one-time jobs run again.
    jobs: result.jobs,
  });
  publishCheckMetrics(metrics, result);
};
