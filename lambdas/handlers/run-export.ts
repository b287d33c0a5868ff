/**
 * Lambda entry that runs exports: manual export jobs (invoked asynchronously by the API) and scheduled
 * automatic exports (invoked by the environment's EventBridge Scheduler schedule).
 */
import { z } from 'zod';
import { awsServices, readRunExportConfig } from '../adapters/aws-wiring';
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
]);

export const handler = async (event: unknown): Promise<void> => {
  const request = validate(runExportEvent, event, 'run-export event');
  logger.appendKeys({ kind: request.kind, environmentId: request.environmentId });
  if (request.kind === 'manual-export') {
    await services.manualExports.run(request.environmentId, request.jobId);
    return;
  }
  // Transient failures throw (RetryableRunError), so Lambda and the schedule's retry policy run it again.
  const result = await services.automaticExports.runScheduled(request.environmentId, Date.parse(request.scheduledTime));
  logger.info('Scheduled export finished', { ...result });
};
