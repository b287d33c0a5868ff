/**
 * Names of the environment variables the stack gives the Lambda functions: `lib/` sets them, the typed
 * configuration readers (lambdas/adapters/aws-wiring.ts) read them. One list, so a rename cannot leave
 * the two sides apart. Plain constants only: importable by the CDK code and the functions alike,
 * without pulling the AWS SDK into one or aws-cdk-lib into the other.
 */
export const ENV = {
  /** Every function: settings, destinations, jobs, run status (DynamoDB table name). */
  CONFIG_TABLE: 'CONFIG_TABLE',
  /** Every function: companies, users, usage, the event catalog (DynamoDB table name). */
  USAGE_TABLE: 'USAGE_TABLE',
  /** Every function: the deployment stage (`dev`, `prod`, ...). */
  STAGE: 'STAGE',
  /** Ingest (writes) and run-export (reads for profile jobs): user profiles (DynamoDB table name). */
  PROFILES_TABLE: 'PROFILES_TABLE',
  /** Ingest: the raw event log's Firehose stream. */
  RAW_EVENTS_STREAM: 'RAW_EVENTS_STREAM',
  /** Run-export: the raw event log's bucket, read by event export jobs. */
  RAW_EVENTS_BUCKET: 'RAW_EVENTS_BUCKET',
  /** API and run-export: the service-owned bucket of the manual export files. */
  EXPORTS_BUCKET: 'EXPORTS_BUCKET',
  /** API: the run-export function, invoked asynchronously for manual exports and one-time job runs. */
  EXPORT_FUNCTION_NAME: 'EXPORT_FUNCTION_NAME',
  /** API: lifetime of a pre-signed download URL, seconds. */
  DOWNLOAD_LINK_SECONDS: 'DOWNLOAD_LINK_SECONDS',
  /** API: how long a replaced ingest key keeps working, seconds. */
  INGEST_KEY_GRACE_SECONDS: 'INGEST_KEY_GRACE_SECONDS',
  /** API and run-export: the KMS key sealing destination secrets. */
  SECRETS_KEY_ID: 'SECRETS_KEY_ID',
  /** API and run-export: the role bucket policies grant writes to (bucket-policy destinations). */
  EXPORT_ROLE_ARN: 'EXPORT_ROLE_ARN',
  /** Schedule managers (API, check-failures): the schedule group. */
  SCHEDULE_GROUP_NAME: 'SCHEDULE_GROUP_NAME',
  /** Schedule managers: the automatic export schedules' flexible window, minutes. */
  SCHEDULE_FLEXIBLE_WINDOW_MINUTES: 'SCHEDULE_FLEXIBLE_WINDOW_MINUTES',
  /** Schedule managers: the execution role the schedules invoke run-export with. */
  SCHEDULER_ROLE_ARN: 'SCHEDULER_ROLE_ARN',
  /** Schedule managers: the schedules' target, run-export. */
  RUN_EXPORT_FUNCTION_ARN: 'RUN_EXPORT_FUNCTION_ARN',
  /** Schedule managers: the schedules' dead-letter queue. */
  SCHEDULE_DLQ_ARN: 'SCHEDULE_DLQ_ARN',
  /** Check-failures: the failure emails' From address. */
  SENDER_EMAIL: 'SENDER_EMAIL',
  /** Check-failures: the dashboard URL the failure emails link to. */
  DASHBOARD_URL: 'DASHBOARD_URL',
  /** Set by the Lambda runtime: the function's own name. */
  AWS_LAMBDA_FUNCTION_NAME: 'AWS_LAMBDA_FUNCTION_NAME',
} as const;

export type EnvironmentVariableName = (typeof ENV)[keyof typeof ENV];
