/** Lambda entry for the hourly failure check (three warning emails over three days, then the export stops). */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { awsFailureCheck, readFailureCheckConfig } from '../adapters/aws-wiring';
import { publishCheckMetrics } from '../adapters/metrics/operator-metrics';
import { logger } from '../core/log';

const failureCheck = awsFailureCheck(readFailureCheckConfig());
const metrics = new Metrics();

export const handler = async (): Promise<void> => {
  const result = await failureCheck.check();
  logger.info('Failure check finished', {
    examined: result.examined,
    emailsSent: result.emailsSent,
    stopped: result.stopped,
    schedulesReconciled: result.schedules.reconciled.length,
    schedulesFailed: result.schedules.failed,
    failingTransiently: result.failingTransiently,
  });
  publishCheckMetrics(metrics, result);
};
