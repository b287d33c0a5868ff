/**
 * One EventBridge Scheduler schedule per environment's automatic export and per recurring export job,
 * in the service's schedule group, invoking the run-export Lambda with an input of
 * lambdas/run-export-events.ts. The event carries the schedule's own time
 * (`<aws.scheduler.scheduled-time>`), from which the run derives its snapshot instant or window, so a
 * late or retried invocation exports the same data.
 */
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  UpdateScheduleCommand,
  type CreateScheduleCommandInput,
  type FlexibleTimeWindow,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { ConfigurationError } from '../../config';
import type { Cadence } from '../../core/periods';
import type { ExportJobScheduler, ExportScheduler, RawExportScheduler } from '../../ports';
import {
  rawExportInput,
  scheduledExportInput,
  scheduledJobRunInput,
  type ScheduleInput,
} from '../../run-export-events';

/** Every 12 hours, at 00:00 and 12:00 UTC. */
export const RAW_EXPORT_SCHEDULE_EXPRESSION = 'cron(0 0,12 * * ? *)';
export const rawExportScheduleName = (environmentId: string): string => `raw-${environmentId}`;

/** Job ids (`job_<hex>`) fit EventBridge's name alphabet as they are, and are unique across environments. */
export const jobScheduleName = (jobId: string): string => `job-${jobId}`;

const MAXIMUM_RETRY_ATTEMPTS = 3;
const MAXIMUM_EVENT_AGE_SECONDS = 6 * 3600;
/** EventBridge Scheduler's limit on a flexible window. */
const MAXIMUM_FLEXIBLE_WINDOW_MINUTES = 1440;

/** 00:00 UTC every day, or Mondays 00:00 UTC (the schedules run in the UTC time zone). */
export function scheduleExpression(cadence: Cadence): string {
  return cadence === 'daily' ? 'cron(0 0 * * ? *)' : 'cron(0 0 ? * MON *)';
}

/** Environment ids (`env_<hex>`) fit EventBridge's name alphabet `[0-9a-zA-Z-_.]` as they are. */
export const scheduleName = (environmentId: string): string => `export-${environmentId}`;

export interface EventBridgeExportSchedulerOptions {
  client: SchedulerClient;
  groupName: string;
  /** The run-export Lambda. */
  targetArn: string;
  /** The role EventBridge Scheduler assumes to invoke the target. */
  roleArn: string;
  /** The SQS queue receiving invocations that exhausted their retries. */
  deadLetterArn: string;
  /** Spreads tenants' runs over this many minutes after 00:00 UTC; off when absent. */
  flexibleWindowMinutes?: number;
}

export class EventBridgeExportScheduler implements ExportScheduler, ExportJobScheduler, RawExportScheduler {
  private readonly client: SchedulerClient;
  private readonly groupName: string;
  private readonly targetArn: string;
  private readonly roleArn: string;
  private readonly deadLetterArn: string;
  private readonly flexibleTimeWindow: FlexibleTimeWindow;

  constructor(options: EventBridgeExportSchedulerOptions) {
    this.client = options.client;
    this.groupName = options.groupName;
    this.targetArn = options.targetArn;
    this.roleArn = options.roleArn;
    this.deadLetterArn = options.deadLetterArn;
    this.flexibleTimeWindow = flexibleTimeWindow(options.flexibleWindowMinutes);
  }

  /** Creates the schedule; when it exists, replaces its whole definition (UpdateSchedule keeps nothing). */
  async upsert(environmentId: string, cadence: Cadence): Promise<void> {
    await this.createOrReplace(this.definition(environmentId, cadence));
  }

  async remove(environmentId: string): Promise<void> {
    await this.deleteIfPresent(scheduleName(environmentId));
  }

  /** `rate(N hours)` from `startAt`; an existing schedule's whole definition is replaced. */
  async upsertJob(environmentId: string, jobId: string, everyHours: number, startAt: number): Promise<void> {
    const definition: CreateScheduleCommandInput = {
      ...this.target(scheduledJobRunInput(environmentId, jobId)),
      Name: jobScheduleName(jobId),
      Description: `Export job ${jobId} of environment ${environmentId}, every ${everyHours} hours`,
      ScheduleExpression: `rate(${everyHours} hours)`,
      StartDate: new Date(startAt),
    };
    await this.createOrReplace(definition);
  }

  async removeJob(_environmentId: string, jobId: string): Promise<void> {
    await this.deleteIfPresent(jobScheduleName(jobId));
  }

  async upsertRawExport(environmentId: string): Promise<void> {
    await this.createOrReplace({
      ...this.target(rawExportInput(environmentId)),
      Name: rawExportScheduleName(environmentId),
      Description: `Raw revisions export of environment ${environmentId}, every 12 hours`,
      ScheduleExpression: RAW_EXPORT_SCHEDULE_EXPRESSION,
    });
  }

  async removeRawExport(environmentId: string): Promise<void> {
    await this.deleteIfPresent(rawExportScheduleName(environmentId));
  }

  private async createOrReplace(definition: CreateScheduleCommandInput): Promise<void> {
    try {
      await this.client.send(new CreateScheduleCommand(definition));
    } catch (error) {
      if (!(error instanceof ConflictException)) throw error;
      await this.client.send(new UpdateScheduleCommand(definition));
    }
  }

  private async deleteIfPresent(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: name, GroupName: this.groupName }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }

  /** What every schedule shares: the group, the run-export target with retries and dead letters. */
  private target(event: ScheduleInput): Omit<CreateScheduleCommandInput, 'Name' | 'ScheduleExpression'> {
    return {
      GroupName: this.groupName,
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      FlexibleTimeWindow: this.flexibleTimeWindow,
      ActionAfterCompletion: 'NONE',
      Target: {
        Arn: this.targetArn,
        RoleArn: this.roleArn,
        Input: JSON.stringify(event),
        RetryPolicy: {
          MaximumRetryAttempts: MAXIMUM_RETRY_ATTEMPTS,
          MaximumEventAgeInSeconds: MAXIMUM_EVENT_AGE_SECONDS,
        },
        DeadLetterConfig: { Arn: this.deadLetterArn },
      },
    };
  }

  private definition(environmentId: string, cadence: Cadence): CreateScheduleCommandInput {
    return {
      ...this.target(scheduledExportInput(environmentId)),
      Name: scheduleName(environmentId),
      Description: `Automatic ${cadence} export of environment ${environmentId}`,
      ScheduleExpression: scheduleExpression(cadence),
    };
  }
}

function flexibleTimeWindow(minutes: number | undefined): FlexibleTimeWindow {
  if (minutes === undefined) return { Mode: 'OFF' };
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAXIMUM_FLEXIBLE_WINDOW_MINUTES) {
    throw new ConfigurationError(
      `Invalid configuration: the schedules' flexible window must be 1 to ${MAXIMUM_FLEXIBLE_WINDOW_MINUTES} minutes, got ${minutes}.`,
    );
  }
  return { Mode: 'FLEXIBLE', MaximumWindowInMinutes: minutes };
}
