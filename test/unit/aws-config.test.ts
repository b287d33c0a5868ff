/** The API function's typed configuration: limits read once, defaults stated, bad values refused loudly. */
import { readApiConfig } from '../../lambdas/adapters/aws-wiring';
import { ConfigurationError } from '../../lambdas/config';

const REQUIRED = {
  CONFIG_TABLE: 'config',
  USAGE_TABLE: 'usage',
  EXPORTS_BUCKET: 'exports',
  EXPORT_FUNCTION_NAME: 'run-export',
  SECRETS_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:key/1',
  SCHEDULE_GROUP_NAME: 'schedules',
  SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/scheduler',
  RUN_EXPORT_FUNCTION_ARN: 'arn:aws:lambda:eu-west-1:123456789012:function:run-export',
  SCHEDULE_DLQ_ARN: 'arn:aws:sqs:eu-west-1:123456789012:dlq',
  EXPORT_ROLE_ARN: 'arn:aws:iam::123456789012:role/data-export-ExportRole-1A2B3C',
  RAW_EVENTS_BUCKET: 'raw-events',
};

describe('readApiConfig', () => {
  it('defaults: replaced ingest keys work 24 h, schedules fire at exact times', () => {
    const config = readApiConfig(REQUIRED);
    expect(config.ingestKeyGraceSeconds).toBe(86_400);
    expect(config.schedule?.flexibleWindowMinutes).toBeUndefined();
    expect(config.exportRoleArn).toBe(REQUIRED.EXPORT_ROLE_ARN);
  });

  it('reads the grace period and the flexible window', () => {
    const config = readApiConfig({
      ...REQUIRED,
      INGEST_KEY_GRACE_SECONDS: '0',
      SCHEDULE_FLEXIBLE_WINDOW_MINUTES: '60',
    });
    expect(config.ingestKeyGraceSeconds).toBe(0);
    expect(config.schedule?.flexibleWindowMinutes).toBe(60);
  });

  it.each([
    ['INGEST_KEY_GRACE_SECONDS', '-1', /INGEST_KEY_GRACE_SECONDS must be between 0 and 2592000, got -1/],
    ['INGEST_KEY_GRACE_SECONDS', '1d', /INGEST_KEY_GRACE_SECONDS must be an integer/],
    ['SCHEDULE_FLEXIBLE_WINDOW_MINUTES', '1441', /SCHEDULE_FLEXIBLE_WINDOW_MINUTES must be between 0 and 1440/],
    ['EXPORT_ROLE_ARN', 'data-export-ExportRole', /EXPORT_ROLE_ARN must be an IAM role ARN/],
    ['EXPORT_ROLE_ARN', '', /EXPORT_ROLE_ARN must be set/],
    ['RAW_EVENTS_BUCKET', '', /RAW_EVENTS_BUCKET must be set/],
  ])('refuses %s=%s', (name, value, message) => {
    expect(() => readApiConfig({ ...REQUIRED, [name]: value })).toThrow(ConfigurationError);
    expect(() => readApiConfig({ ...REQUIRED, [name]: value })).toThrow(message);
  });
});
