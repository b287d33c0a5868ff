import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { Grant, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { IFunction } from 'aws-cdk-lib/aws-lambda';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../contracts/function-environment';
import { ServiceFunction } from './service-function';
import { keepLogicalId } from './service-functions';

export interface ExportSchedulesProps {
  /** What every schedule invokes: run-export (automatic exports and recurring export jobs). */
  readonly target: IFunction;
  /**
   * Holds the schedules. Created by the stack, at its root: its name derives from its construct path,
   * and a new name would leave every schedule created at run time behind in the old group.
   */
  readonly scheduleGroup: ScheduleGroup;
  /** Flexible window of the automatic export schedules: whole minutes, 1 to 1440. */
  readonly flexibleWindow: Duration;
}

/**
 * Where the schedules created at run time live: one EventBridge Scheduler schedule per environment with
 * automatic export and one per recurring export job, in one schedule group, invoking run-export with a
 * dedicated execution role; invocations that still fail go to a dead-letter queue. Schedule managers
 * (the API, check-failures) get the settings ({@link environment}) and the rights ({@link grantManagement}).
 */
export class ExportSchedules extends Construct {
  public readonly scheduleGroup: ScheduleGroup;
  /** ARN pattern of the schedules in {@link scheduleGroup}: `arn:...:schedule/<group>/*`. */
  public readonly schedulesArnPattern: string;
  /** Execution role of the schedules: may only invoke run-export and send to {@link deadLetterQueue}. */
  public readonly schedulerRole: Role;
  /** Scheduled invocations of run-export that still failed after the schedule's retry policy. */
  public readonly deadLetterQueue: Queue;
  /** The schedule managers' environment (`SCHEDULE_GROUP_NAME`, ...). */
  public readonly environment: Readonly<Record<string, string>>;
  /** Functions granted schedule management. */
  public readonly managers: ServiceFunction[] = [];

  constructor(scope: Construct, id: string, props: ExportSchedulesProps) {
    super(scope, id);
    const flexibleWindowMinutes = props.flexibleWindow.toSeconds() / 60;
    if (!Number.isInteger(flexibleWindowMinutes) || flexibleWindowMinutes < 1 || flexibleWindowMinutes > 1440) {
      throw new Error(
        `scheduleFlexibleWindow must be whole minutes from 1 to 1440 (EventBridge Scheduler's limits); got ${props.flexibleWindow.toHumanString()}.`,
      );
    }
    this.scheduleGroup = props.scheduleGroup;
    this.schedulesArnPattern = Stack.of(this).formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.scheduleGroup.scheduleGroupName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.deadLetterQueue = new Queue(this, 'ScheduleDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.schedulerRole = new Role(this, 'SchedulerRole', {
      description: 'Execution role of the export schedules: invokes run-export',
      // Confused deputy: only schedules of this account's export schedule group may assume it.
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': Stack.of(this).account,
            'aws:SourceArn': this.scheduleGroup.scheduleGroupArn,
          },
        },
      }),
    });
    // The schedules created at run time name these by ARN: replacing them would orphan every schedule.
    keepLogicalId(this.deadLetterQueue, 'ScheduleDeadLetterQueue0D6B48D2');
    keepLogicalId(this.schedulerRole, 'SchedulerRole59E73443');
    // Schedules target the unqualified function ARN; no version or alias.
    Grant.addToPrincipal({
      grantee: this.schedulerRole,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [props.target.functionArn],
    });
    Grant.addToPrincipal({
      grantee: this.schedulerRole,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.deadLetterQueue.queueArn],
    });
    this.environment = {
      [ENV.SCHEDULE_GROUP_NAME]: this.scheduleGroup.scheduleGroupName,
      [ENV.SCHEDULE_FLEXIBLE_WINDOW_MINUTES]: String(flexibleWindowMinutes),
      [ENV.SCHEDULER_ROLE_ARN]: this.schedulerRole.roleArn,
      [ENV.RUN_EXPORT_FUNCTION_ARN]: props.target.functionArn,
      [ENV.SCHEDULE_DLQ_ARN]: this.deadLetterQueue.queueArn,
    };
  }

  /**
   * Lets `fn` create, update and delete the schedules of the group, passing the execution role to
   * EventBridge Scheduler only, and gives it the schedules' settings.
   */
  public grantManagement(fn: ServiceFunction): void {
    for (const [name, value] of Object.entries(this.environment)) fn.addEnvironment(name, value);
    Grant.addToPrincipal({
      grantee: fn,
      actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
      resourceArns: [this.schedulesArnPattern],
    });
    Grant.addToPrincipal({
      grantee: fn,
      actions: ['iam:PassRole'],
      resourceArns: [this.schedulerRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    });
    this.managers.push(fn);
  }
}
