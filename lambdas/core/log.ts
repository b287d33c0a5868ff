import { Logger } from '@aws-lambda-powertools/logger';

/** One structured logger for every entry point; the service name comes from POWERTOOLS_SERVICE_NAME. */
export const logger = new Logger({ serviceName: 'data-export' });
