import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured logger for every entry point. Its service name comes from POWERTOOLS_SERVICE_NAME (set
 * on each function by lib/constructs/service-function.ts, and by `npm start` and the tests locally).
 */
export const logger = new Logger();
