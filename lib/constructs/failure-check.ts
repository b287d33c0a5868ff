import { Duration, Stack } from 'aws-cdk-lib';
import { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../contracts/function-environment';
import { ExportSchedules } from './export-schedules';
import { ServiceFunction } from './service-function';
import { grantQueryIndexes, ServiceFunctionFactory, tableItems } from './service-functions';

export interface FailureCheckProps {
  readonly newFunction: ServiceFunctionFactory;
  readonly configTable: Table;
  /** Indexes of the config table the check queries (failing, unreconciled, transient). */
  readonly indexNames: readonly string[];
  /** The check reconciles schedules and deletes those of the exports it stops. */
  readonly schedules: ExportSchedules;
  /** How often the check runs. */
  readonly rate: Duration;
  /** From address of the failure emails. */
  readonly senderEmail: string;
  /** Dashboard base URL the emails link to. */
  readonly dashboardUrl: string;
  /** run-export: the check invokes it to run a failing one-time export job again. */
  readonly runExport: IFunction;
}

/** The hourly failure check: warns the owners of failing exports by email (SES), stops them after 72 h. */
export class FailureCheck extends Construct {
  public readonly checkFailuresFunction: ServiceFunction;
  /** `rate(1 hour)` rule invoking {@link checkFailuresFunction}. */
  public readonly rule: Rule;
  /** Failure checks that could not be delivered by EventBridge, or still failed after Lambda's retries. */
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: FailureCheckProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'CheckFailuresDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const fn = props.newFunction(this, 'CheckFailuresFunction', {
      entryFile: 'check-failures.ts',
      description: 'Hourly failure check: warns the owners of failing exports by email, stops them after 72 h',
      memorySize: 512,
      timeout: Duration.minutes(5),
      // One check at a time: overlapping checks only repeat work (each email is sent once by conditional writes).
      reservedConcurrentExecutions: 1,
      environment: {
        [ENV.SENDER_EMAIL]: props.senderEmail,
        [ENV.DASHBOARD_URL]: props.dashboardUrl,
        [ENV.EXPORT_FUNCTION_NAME]: props.runExport.functionName,
      },
      // A failed check is retried; one older than the next hourly check is superseded by it.
      retryAttempts: 2,
      maxEventAge: props.rate,
      deadLetterQueue: this.deadLetterQueue,
    });
    this.checkFailuresFunction = fn;
    // Records the emails sent and stops exports (config table); reads the failing exports by index.
    tableItems(props.configTable).readWriteData(fn);
    grantQueryIndexes(fn, props.configTable, props.indexNames);
    // Reconciles schedules with their saved settings (a save whose own reconcile did not finish), which
    // creates, updates or deletes them; stopping a failing export deletes its schedule.
    props.schedules.grantManagement(fn);
    // Runs a failing one-time export job again (asynchronous invocation of the unqualified function).
    props.runExport.grantInvokeLatestVersion(fn);
    // SES authorizes sending against the identity used: the address itself, or its domain when only the
    // domain is verified. ses:FromAddress keeps the domain identity to this one sender address.
    const senderDomain = props.senderEmail.slice(props.senderEmail.lastIndexOf('@') + 1);
    Grant.addToPrincipal({
      grantee: fn,
      actions: ['ses:SendEmail', 'ses:SendRawEmail'],
      resourceArns: [props.senderEmail, senderDomain].map((identity) =>
        Stack.of(this).formatArn({ service: 'ses', resource: 'identity', resourceName: identity }),
      ),
      conditions: { StringEquals: { 'ses:FromAddress': props.senderEmail } },
    });
    this.rule = new Rule(this, 'CheckFailuresSchedule', {
      description: 'Runs the hourly failure check of the automatic exports',
      schedule: Schedule.rate(props.rate),
      targets: [
        new LambdaFunction(fn, { retryAttempts: 2, maxEventAge: props.rate, deadLetterQueue: this.deadLetterQueue }),
      ],
    });
  }
}
