import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ServiceFunction } from './service-function';

/**
 * The metrics the functions publish for the operators (EMF, lambdas/adapters/metrics/operator-metrics.ts;
 * named again here because lib/ does not import lambdas/, and the infra tests check both agree).
 */
export const OPERATOR_METRICS = {
  internalExportFailures: 'InternalExportFailures',
  exportsFailingTransiently: 'ExportsFailingTransientlyOver24h',
  exportRuns: 'ExportRuns',
  failedExportRuns: 'FailedExportRuns',
  exportRunOutcomes: 'ExportRunOutcomes',
} as const;

/** The `style` dimension of ExportRunOutcomes: manual and automatic (scheduled) company exports, export jobs, the raw export. */
export const EXPORT_STYLES = ['manual', 'scheduled', 'job', 'raw'] as const;

/** Runs (automatic exports, export jobs, raw exports) an hour must have before its failure rate can alarm (one failure in two is no trend). */
export const FAILURE_RATE_MIN_RUNS = 5;

export interface OperatorAlarmsProps {
  /** CloudWatch namespace of the operator metrics, one per stage (e.g. `DataExport/prod`). */
  readonly namespace: string;
  /** The `service` dimension Powertools adds (POWERTOOLS_SERVICE_NAME of the functions). */
  readonly serviceName: string;
  /** Functions publishing the metrics: they get the namespace in POWERTOOLS_METRICS_NAMESPACE. */
  readonly publishers: ServiceFunction[];
  /** Subscribed to the alarm topic by email when given (the address confirms the subscription). */
  readonly operatorEmail?: string;
  /** Every function of the stack by a short name (e.g. `RunExport`): alarms on its errors and throttles. */
  readonly functions: Record<string, IFunction>;
  /** Every dead-letter queue of the stack by a short name: alarms when one holds a message. */
  readonly deadLetterQueues: Record<string, IQueue>;
  /** The hourly failure check: alarms when it has not run for {@link HOURLY_CHECK_SILENCE}. */
  readonly hourlyCheck: IFunction;
  /** The raw event log's Firehose stream: alarms when it fails to deliver to S3 or falls behind. */
  readonly rawEventsDeliveryStreamName: string;
  /** Percentage of runs (automatic exports, export jobs, raw exports) failing in an hour above which the operators are told. @default 20 */
  readonly exportFailureRatePercent?: number;
}

/** How long the hourly check may not run before the operators are told (one missed run is tolerated). */
export const HOURLY_CHECK_SILENCE = Duration.hours(2);
/**
 * Age of the oldest record not yet in S3 above which the raw event log is late: Firehose buffers up to
 * 5 minutes, so 15 minutes means deliveries are failing or retrying.
 */
export const RAW_EVENTS_MAX_FRESHNESS = Duration.minutes(15);

/**
 * What reaches the operators rather than the customers, as alarms notifying an SNS topic (encrypted
 * with its own key that CloudWatch may use), and a CloudWatch dashboard of the same metrics:
 * - internal export failures (a secret that cannot be unsealed, the KMS key unusable, a configuration
 *   error) and exports failing transiently for more than 24 h (EMF metrics of the functions);
 * - scheduled export failures above a rate (EMF runs and failed runs, metric math);
 * - a message in any dead-letter queue; errors and throttles of each function;
 * - the hourly check not having run for 2 hours (missing data breaches);
 * - the raw event log's Firehose stream failing to deliver to S3, or falling behind.
 */
export class OperatorAlarms extends Construct {
  public readonly topic: Topic;
  public readonly topicKey: Key;
  public readonly internalFailuresAlarm: Alarm;
  public readonly transientFailuresAlarm: Alarm;
  public readonly exportFailureRateAlarm: Alarm;
  public readonly hourlyCheckSilentAlarm: Alarm;
  /** By the short names given in the props. */
  public readonly deadLetterQueueAlarms: Record<string, Alarm> = {};
  public readonly functionErrorAlarms: Record<string, Alarm> = {};
  public readonly functionThrottleAlarms: Record<string, Alarm> = {};
  public readonly rawEventsDeliveryAlarm: Alarm;
  public readonly rawEventsFreshnessAlarm: Alarm;
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperatorAlarmsProps) {
    super(scope, id);
    for (const fn of props.publishers) fn.addEnvironment('POWERTOOLS_METRICS_NAMESPACE', props.namespace);

    this.topicKey = new Key(this, 'TopicKey', {
      description: 'Encrypts the data export operator alarm topic',
      enableKeyRotation: true,
    });
    // CloudWatch publishes the alarm notifications into the encrypted topic.
    this.topicKey.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'Topic', {
      displayName: 'Data export operator alarms',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    if (props.operatorEmail) this.topic.addSubscription(new EmailSubscription(props.operatorEmail));

    const action = new SnsAction(this.topic);
    const alarm = (
      alarmId: string,
      metric: IMetric,
      alarmDescription: string,
      options: { threshold?: number; below?: boolean; missingBreaches?: boolean; greaterThan?: boolean } = {},
    ) => {
      const created = new Alarm(this, alarmId, {
        alarmDescription,
        metric,
        threshold: options.threshold ?? 1,
        evaluationPeriods: 1,
        comparisonOperator: options.below
          ? ComparisonOperator.LESS_THAN_THRESHOLD
          : options.greaterThan
            ? ComparisonOperator.GREATER_THAN_THRESHOLD
            : ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: options.missingBreaches ? TreatMissingData.BREACHING : TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      return created;
    };
    const serviceMetric = (metricName: string, statistic: string, period: Duration) =>
      new Metric({
        namespace: props.namespace,
        metricName,
        dimensionsMap: { service: props.serviceName },
        statistic,
        period,
      });

    this.internalFailuresAlarm = alarm(
      'InternalExportFailures',
      serviceMetric(OPERATOR_METRICS.internalExportFailures, 'Sum', Duration.minutes(5)),
      'Automatic exports, export job runs or raw exports failed for a persistent reason on our side (a secret that cannot be unsealed, the KMS key unusable, a configuration error). They are not retried and the customers are not emailed: find the runs in the run-export logs ("Scheduled export failed", failureClass "internal"; "Export job run finished" or "Raw revisions export finished", status or outcome "failed").',
    );
    this.transientFailuresAlarm = alarm(
      'ExportsFailingTransiently',
      serviceMetric(OPERATOR_METRICS.exportsFailingTransiently, 'Maximum', Duration.hours(1)),
      'Automatic exports have failed transiently (throttling, 5xx, timeouts, unknown errors) for more than 24 hours. The check-failures logs name them ("Export failing transiently for more than 24 hours").',
    );

    const ratePercent = props.exportFailureRatePercent ?? 20;
    const runs = serviceMetric(OPERATOR_METRICS.exportRuns, 'Sum', Duration.hours(1));
    const failedRuns = serviceMetric(OPERATOR_METRICS.failedExportRuns, 'Sum', Duration.hours(1));
    const failureRate = new MathExpression({
      expression: `IF(runs >= ${FAILURE_RATE_MIN_RUNS}, 100 * FILL(failed, 0) / runs, 0)`,
      usingMetrics: { runs, failed: failedRuns },
      period: Duration.hours(1),
      label: 'Failed export runs (%)',
    });
    this.exportFailureRateAlarm = alarm(
      'ExportFailureRate',
      failureRate,
      `More than ${ratePercent}% of the export runs (automatic exports, export jobs, raw exports) of the last hour failed (with at least ${FAILURE_RATE_MIN_RUNS} runs), customers' mistakes included. Many at once point at our side or a provider outage: the dashboard's "Failed runs by style" says which style; read the run-export logs ("Scheduled export finished", "Export job run finished", "Raw revisions export finished").`,
      { threshold: ratePercent, greaterThan: true },
    );

    this.hourlyCheckSilentAlarm = alarm(
      'HourlyCheckNotRunning',
      props.hourlyCheck.metricInvocations({ statistic: 'Sum', period: HOURLY_CHECK_SILENCE }),
      'The hourly check-failures function has not run for 2 hours: failing exports are neither emailed nor stopped, schedules not reconciled. Check its EventBridge rule is enabled and the function exists.',
      { below: true, missingBreaches: true },
    );

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.deadLetterQueueAlarms[name] = alarm(
        `${name}DeadLetters`,
        queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
        `The ${name} dead-letter queue holds messages: invocations that failed after their retries. Read a message (its attributes carry the request id and error), fix the cause, then redrive or purge the queue.`,
      );
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      this.functionErrorAlarms[name] = alarm(
        `${name}Errors`,
        fn.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
        `The ${name} function failed (uncaught error, timeout or out of memory). Find the request in its logs (level ERROR) or X-Ray traces.`,
      );
      this.functionThrottleAlarms[name] = alarm(
        `${name}Throttles`,
        fn.metricThrottles({ statistic: 'Sum', period: Duration.minutes(5) }),
        `The ${name} function was throttled: its reserved concurrency or the account's concurrency is exhausted. Check ConcurrentExecutions; raise the limit if the load is legitimate.`,
      );
    }

    const firehose = (metricName: string, statistic: string) =>
      new Metric({
        namespace: 'AWS/Firehose',
        metricName,
        dimensionsMap: { DeliveryStreamName: props.rawEventsDeliveryStreamName },
        statistic,
        period: Duration.minutes(5),
      });
    // DeliveryToS3.Success is the share of successful puts (1 when all succeed); absent without records.
    this.rawEventsDeliveryAlarm = alarm(
      'RawEventsDeliveryFailures',
      firehose('DeliveryToS3.Success', 'Minimum'),
      "Firehose failed to write raw event log objects to S3 (it retries for 24 hours, then writes the records under errors/ in the raw-data bucket). Read the delivery errors in the raw event log's delivery log group; check the bucket and the delivery role.",
      { threshold: 1, below: true },
    );
    this.rawEventsFreshnessAlarm = alarm(
      'RawEventsDeliveryLate',
      firehose('DeliveryToS3.DataFreshness', 'Maximum'),
      `The oldest raw event not yet in S3 is older than ${RAW_EVENTS_MAX_FRESHNESS.toMinutes()} minutes: deliveries are failing or retrying, and raw and event exports miss recent events. Read the delivery log group.`,
      { threshold: RAW_EVENTS_MAX_FRESHNESS.toSeconds(), greaterThan: true },
    );

    const failedRunsByStyle = EXPORT_STYLES.map(
      (style) =>
        new Metric({
          namespace: props.namespace,
          metricName: OPERATOR_METRICS.exportRunOutcomes,
          dimensionsMap: { service: props.serviceName, style, outcome: 'failed' },
          statistic: 'Sum',
          period: Duration.hours(1),
          label: style,
        }),
    );
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    const functions = Object.entries(props.functions);
    const perFunction = (metric: (fn: IFunction) => IMetric) => functions.map(([, fn]) => metric(fn));
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# Data export\nAlarms notify the operator topic; the README\'s "Deploying" section says what each means.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms(), width: 24, height: 6 }));
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Export runs (automatic, jobs, raw)',
        left: [runs, failedRuns],
        right: [failureRate],
        width: 8,
      }),
      new GraphWidget({ title: 'Failed runs by style', left: failedRunsByStyle, width: 8 }),
      new GraphWidget({
        title: 'Internal failures / failing transiently > 24 h',
        left: [this.internalFailuresAlarm.metric, this.transientFailuresAlarm.metric],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Function errors',
        left: perFunction((fn) => fn.metricErrors({ period: Duration.minutes(5) })),
        width: 8,
      }),
      new GraphWidget({
        title: 'Function throttles',
        left: perFunction((fn) => fn.metricThrottles({ period: Duration.minutes(5) })),
        width: 8,
      }),
      new GraphWidget({
        title: 'Function invocations',
        left: perFunction((fn) => fn.metricInvocations({ period: Duration.minutes(5) })),
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Dead-letter queues (messages)',
        left: Object.values(this.deadLetterQueueAlarms).map((a) => a.metric),
        width: 8,
      }),
      new GraphWidget({
        title: 'Raw event log: delivery success',
        left: [this.rawEventsDeliveryAlarm.metric],
        width: 8,
      }),
      new GraphWidget({
        title: 'Raw event log: data freshness (s)',
        left: [this.rawEventsFreshnessAlarm.metric],
        width: 8,
      }),
    );
  }

  /** Every alarm of this construct. */
  public alarms(): Alarm[] {
    return [
      this.internalFailuresAlarm,
      this.transientFailuresAlarm,
      this.exportFailureRateAlarm,
      this.hourlyCheckSilentAlarm,
      ...Object.values(this.deadLetterQueueAlarms),
      ...Object.values(this.functionErrorAlarms),
      ...Object.values(this.functionThrottleAlarms),
      this.rawEventsDeliveryAlarm,
      this.rawEventsFreshnessAlarm,
    ];
  }
}
