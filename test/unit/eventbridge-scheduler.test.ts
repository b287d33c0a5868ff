import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  ThrottlingException,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigurationError } from '../../lambdas/config';
import { EventBridgeExportScheduler, scheduleExpression } from '../../lambdas/adapters/scheduler/eventbridge-scheduler';

const ENVIRONMENT_ID = 'env_0123456789abcdef0123';
const OPTIONS = {
  groupName: 'data-export-schedules',
  targetArn: 'arn:aws:lambda:eu-west-1:123456789012:function:data-export-run-export',
  roleArn: 'arn:aws:iam::123456789012:role/data-export-scheduler',
  deadLetterArn: 'arn:aws:sqs:eu-west-1:123456789012:data-export-schedules-dlq',
};

const scheduler = mockClient(SchedulerClient);
const exportScheduler = new EventBridgeExportScheduler({ client: new SchedulerClient({}), ...OPTIONS });

/** What the SDK builds from an error response: the service's `Message` and the standard `message`. */
const failure = (httpStatusCode: number, message: string) => ({
  $metadata: { httpStatusCode },
  message,
  Message: message,
});

beforeEach(() => {
  scheduler.reset();
});

afterAll(() => {
  scheduler.restore();
});

describe('scheduleExpression', () => {
  it('runs daily at 00:00 and weekly on Mondays at 00:00', () => {
    expect(scheduleExpression('daily')).toBe('cron(0 0 * * ? *)');
    expect(scheduleExpression('weekly')).toBe('cron(0 0 ? * MON *)');
  });
});

describe('EventBridgeExportScheduler', () => {
  it('creates the schedule on first enable with the whole definition', async () => {
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });

    await exportScheduler.upsert(ENVIRONMENT_ID, 'daily');

    const calls = scheduler.commandCalls(CreateScheduleCommand);
    expect(calls).toHaveLength(1);
    expect(scheduler.commandCalls(UpdateScheduleCommand)).toHaveLength(0);
    const input = calls[0].args[0].input;
    expect(input).toEqual({
      Name: `export-${ENVIRONMENT_ID}`,
      GroupName: OPTIONS.groupName,
      Description: expect.stringContaining(ENVIRONMENT_ID),
      ScheduleExpression: 'cron(0 0 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'NONE',
      Target: {
        Arn: OPTIONS.targetArn,
        RoleArn: OPTIONS.roleArn,
        Input: expect.any(String),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 21600 },
        DeadLetterConfig: { Arn: OPTIONS.deadLetterArn },
      },
    });
    expect(JSON.parse(input.Target?.Input as string)).toEqual({
      kind: 'scheduled-export',
      environmentId: ENVIRONMENT_ID,
      scheduledTime: '<aws.scheduler.scheduled-time>',
    });
    expect(input.Name).toMatch(/^[0-9a-zA-Z-_.]{1,64}$/);
  });

  it('replaces the whole definition when the schedule exists, with the new cadence', async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ConflictException(failure(409, 'Schedule already exists')));
    scheduler.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });

    await exportScheduler.upsert(ENVIRONMENT_ID, 'weekly');

    const created = scheduler.commandCalls(CreateScheduleCommand)[0].args[0].input;
    const updates = scheduler.commandCalls(UpdateScheduleCommand);
    expect(updates).toHaveLength(1);
    const updated = updates[0].args[0].input;
    expect(updated).toEqual(created);
    expect(updated.ScheduleExpression).toBe('cron(0 0 ? * MON *)');
    expect(updated).toMatchObject({
      State: 'ENABLED',
      ScheduleExpressionTimezone: 'UTC',
      Target: { Arn: OPTIONS.targetArn },
    });
  });

  it('switches the expression when the cadence changes from daily to weekly', async () => {
    scheduler
      .on(CreateScheduleCommand)
      .resolvesOnce({ ScheduleArn: 'arn:schedule' })
      .rejects(new ConflictException(failure(409, 'Schedule already exists')));
    scheduler.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });

    await exportScheduler.upsert(ENVIRONMENT_ID, 'daily');
    await exportScheduler.upsert(ENVIRONMENT_ID, 'weekly');

    expect(scheduler.commandCalls(CreateScheduleCommand)[0].args[0].input.ScheduleExpression).toBe('cron(0 0 * * ? *)');
    expect(scheduler.commandCalls(UpdateScheduleCommand)[0].args[0].input.ScheduleExpression).toBe(
      'cron(0 0 ? * MON *)',
    );
  });

  it('spreads runs over a flexible window when configured', async () => {
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });
    const flexible = new EventBridgeExportScheduler({
      client: new SchedulerClient({}),
      ...OPTIONS,
      flexibleWindowMinutes: 60,
    });

    await flexible.upsert(ENVIRONMENT_ID, 'daily');

    const input = scheduler.commandCalls(CreateScheduleCommand)[0].args[0].input;
    expect(input.FlexibleTimeWindow).toEqual({ Mode: 'FLEXIBLE', MaximumWindowInMinutes: 60 });
    // Still 00:00 UTC nominally, and the run still gets the nominal time, from which its snapshot comes:
    // <aws.scheduler.scheduled-time> is "the time you specified for the schedule to invoke its target",
    // whenever in the window the invocation happens.
    expect(input).toMatchObject({ ScheduleExpression: 'cron(0 0 * * ? *)', ScheduleExpressionTimezone: 'UTC' });
    expect(JSON.parse(input.Target?.Input as string).scheduledTime).toBe('<aws.scheduler.scheduled-time>');
  });

  it('keeps the flexible window when it replaces an existing schedule (UpdateSchedule keeps nothing)', async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ConflictException(failure(409, 'Schedule already exists')));
    scheduler.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });
    const flexible = new EventBridgeExportScheduler({
      client: new SchedulerClient({}),
      ...OPTIONS,
      flexibleWindowMinutes: 1440,
    });

    await flexible.upsert(ENVIRONMENT_ID, 'weekly');

    const updated = scheduler.commandCalls(UpdateScheduleCommand)[0].args[0].input;
    expect(updated.FlexibleTimeWindow).toEqual({ Mode: 'FLEXIBLE', MaximumWindowInMinutes: 1440 });
    expect(updated.ScheduleExpression).toBe('cron(0 0 ? * MON *)');
  });

  it.each([0, 1441, 1.5])('rejects a flexible window of %s minutes', (minutes) => {
    expect(
      () =>
        new EventBridgeExportScheduler({ client: new SchedulerClient({}), ...OPTIONS, flexibleWindowMinutes: minutes }),
    ).toThrow(ConfigurationError);
  });

  it('deletes the schedule when the export is turned off', async () => {
    scheduler.on(DeleteScheduleCommand).resolves({});

    await exportScheduler.remove(ENVIRONMENT_ID);

    const calls = scheduler.commandCalls(DeleteScheduleCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({ Name: `export-${ENVIRONMENT_ID}`, GroupName: OPTIONS.groupName });
  });

  it('is fine when the schedule to delete does not exist', async () => {
    scheduler.on(DeleteScheduleCommand).rejects(new ResourceNotFoundException(failure(404, 'Schedule not found')));

    await expect(exportScheduler.remove(ENVIRONMENT_ID)).resolves.toBeUndefined();
  });

  it('lets other failures of a delete propagate', async () => {
    const throttling = new ThrottlingException(failure(429, 'Rate exceeded'));
    scheduler.on(DeleteScheduleCommand).rejects(throttling);

    await expect(exportScheduler.remove(ENVIRONMENT_ID)).rejects.toBe(throttling);
  });

  it('lets failures of a create other than a conflict propagate, without updating', async () => {
    const invalid = new ValidationException(failure(400, 'Invalid role'));
    scheduler.on(CreateScheduleCommand).rejects(invalid);

    await expect(exportScheduler.upsert(ENVIRONMENT_ID, 'daily')).rejects.toBe(invalid);
    expect(scheduler.commandCalls(UpdateScheduleCommand)).toHaveLength(0);
  });

  it('lets failures of the update propagate', async () => {
    const throttling = new ThrottlingException(failure(429, 'Rate exceeded'));
    scheduler.on(CreateScheduleCommand).rejects(new ConflictException(failure(409, 'Schedule already exists')));
    scheduler.on(UpdateScheduleCommand).rejects(throttling);

    await expect(exportScheduler.upsert(ENVIRONMENT_ID, 'daily')).rejects.toBe(throttling);
  });
});

describe('EventBridgeExportScheduler: export jobs', () => {
  const JOB_ID = 'job_0123456789abcdef0123';
  const START = Date.parse('2026-11-25T00:00:00Z');

  it('creates one rate(N hours) schedule per job from its start, whose event names the job', async () => {
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });

    await exportScheduler.upsertJob(ENVIRONMENT_ID, JOB_ID, 6, START);

    const input = scheduler.commandCalls(CreateScheduleCommand)[0].args[0].input;
    expect(input).toMatchObject({
      Name: `job-${JOB_ID}`,
      GroupName: OPTIONS.groupName,
      ScheduleExpression: 'rate(6 hours)',
      StartDate: new Date(START),
      State: 'ENABLED',
      Target: {
        Arn: OPTIONS.targetArn,
        RoleArn: OPTIONS.roleArn,
        DeadLetterConfig: { Arn: OPTIONS.deadLetterArn },
        RetryPolicy: { MaximumRetryAttempts: 3 },
      },
    });
    expect(input.Name).toMatch(/^[0-9a-zA-Z-_.]{1,64}$/);
    expect(JSON.parse(input.Target?.Input as string)).toEqual({
      kind: 'scheduled-job-run',
      environmentId: ENVIRONMENT_ID,
      jobId: JOB_ID,
      scheduledTime: '<aws.scheduler.scheduled-time>',
    });
  });

  it("replaces an existing job schedule's whole definition with the new rate", async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ConflictException(failure(409, 'Schedule already exists')));
    scheduler.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });

    await exportScheduler.upsertJob(ENVIRONMENT_ID, JOB_ID, 24, START);

    const updated = scheduler.commandCalls(UpdateScheduleCommand)[0].args[0].input;
    expect(updated).toEqual(scheduler.commandCalls(CreateScheduleCommand)[0].args[0].input);
    expect(updated.ScheduleExpression).toBe('rate(24 hours)');
  });

  it("deletes the job's schedule, and is fine when there is none", async () => {
    scheduler
      .on(DeleteScheduleCommand)
      .resolvesOnce({})
      .rejects(new ResourceNotFoundException(failure(404, 'Schedule not found')));

    await exportScheduler.removeJob(ENVIRONMENT_ID, JOB_ID);
    await expect(exportScheduler.removeJob(ENVIRONMENT_ID, JOB_ID)).resolves.toBeUndefined();

    expect(scheduler.commandCalls(DeleteScheduleCommand).map((call) => call.args[0].input)).toEqual([
      { Name: `job-${JOB_ID}`, GroupName: OPTIONS.groupName },
      { Name: `job-${JOB_ID}`, GroupName: OPTIONS.groupName },
    ]);
  });
});

describe('EventBridgeExportScheduler: raw revisions export', () => {
  it('creates raw-<envId> every 12 hours with a raw-export event, replaces it when it exists, and deletes it', async () => {
    scheduler
      .on(CreateScheduleCommand)
      .rejectsOnce(new ConflictException(failure(409, 'exists')))
      .resolves({ ScheduleArn: 'arn:schedule' });
    scheduler.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });
    scheduler.on(DeleteScheduleCommand).rejects(new ResourceNotFoundException(failure(404, 'gone')));

    await exportScheduler.upsertRawExport(ENVIRONMENT_ID);
    await exportScheduler.removeRawExport(ENVIRONMENT_ID);

    const [update] = scheduler.commandCalls(UpdateScheduleCommand);
    expect(update.args[0].input).toMatchObject({
      Name: `raw-${ENVIRONMENT_ID}`,
      GroupName: OPTIONS.groupName,
      ScheduleExpression: 'cron(0 0,12 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      Target: { Arn: OPTIONS.targetArn, RoleArn: OPTIONS.roleArn, DeadLetterConfig: { Arn: OPTIONS.deadLetterArn } },
    });
    expect(JSON.parse(update.args[0].input.Target!.Input!)).toEqual({
      kind: 'raw-export',
      environmentId: ENVIRONMENT_ID,
      scheduledTime: '<aws.scheduler.scheduled-time>',
    });
    expect(scheduler.commandCalls(DeleteScheduleCommand)[0].args[0].input).toEqual({
      Name: `raw-${ENVIRONMENT_ID}`,
      GroupName: OPTIONS.groupName,
    });
  });
});
