/**
 * Lambda entry that runs exports: manual export jobs (invoked asynchronously by the API). Scheduled
 * runs arrive here too once automatic exports exist.
 */
import { awsServices, readAwsConfig } from '../adapters/aws-wiring';
import { z } from 'zod';
import { logger } from '../core/log';
import { validate } from '../http/validation';

// Jobs started from here are dispatched to this same function: Lambda names it in AWS_LAMBDA_FUNCTION_NAME.
const services = awsServices(readAwsConfig({ ...process.env, EXPORT_FUNCTION_NAME: process.env.AWS_LAMBDA_FUNCTION_NAME }));

const runExportEvent = z.object({
  kind: z.literal('manual-export'),
  environmentId: z.string().min(1),
  jobId: z.string().min(1),
});

export const handler = async (event: unknown): Promise<void> => {
  const request = validate(runExportEvent, event, 'run-export event');
  logger.appendKeys({ environmentId: request.environmentId, jobId: request.jobId });
  await services.manualExports.run(request.environmentId, request.jobId);
};
