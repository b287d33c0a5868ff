import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { ServiceFunction } from './service-function';

/**
 * The metrics the functions publish for the operators (EMF, lambdas/adapters/metrics/operator-metrics.ts;
 * named again here because lib/ does not import lambdas/, and the infra tests check both agree).
 */
export const OPERATOR_METRICS = {
  internalExportFailures: 'InternalExportFailures',
  exportsFailingTransiently: 'ExportsFailingTransientlyOver24h',
} as const;

export interface OperatorAlarmsProps {
  /** CloudWatch namespace of the operator metrics, one per stage (e.g. `DataExport/prod`). */
  readonly namespace: string;
  /** The `service` dimension Powertools adds (POWERTOOLS_SERVICE_NAME of the functions). */
  readonly serviceName: string;
  /** Functions publishing the metrics: they get the namespace in POWERTOOLS_METRICS_NAMESPACE. */
  readonly publishers: ServiceFunction[];
  /** Subscribed to the alarm topic by email when given (the address confirms the subscription). */
  readonly operatorEmail?: string;
}

/**
 * What reaches the operators rather than the customers: internal export failures (a secret that cannot
 * be unsealed, the KMS key unusable, a configuration error) and exports failing transiently for more
 * than 24 h, each an alarm notifying an SNS topic, encrypted with its own key that CloudWatch may use.
 */
export class OperatorAlarms extends Construct {
  public readonly topic: Topic;
  public readonly topicKey: Key;
  public readonly internalFailuresAlarm: Alarm;
  public readonly transientFailuresAlarm: Alarm;

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

    const metric = (metricName: string, statistic: string, period: Duration) =>
      new Metric({ namespace: props.namespace, metricName, dimensionsMap: { service: props.serviceName }, statistic, period });
    const alarm = (alarmId: string, metricToWatch: Metric, alarmDescription: string) => {
      const created = new Alarm(this, alarmId, {
        alarmDescription,
        metric: metricToWatch,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new SnsAction(this.topic));
      created.addOkAction(new SnsAction(this.topic));
      return created;
    };
    this.internalFailuresAlarm = alarm(
      'InternalExportFailures',
      metric(OPERATOR_METRICS.internalExportFailures, 'Sum', Duration.minutes(5)),
      'Scheduled exports failed for a persistent reason on our side (a secret that cannot be unsealed, the KMS key unusable, a configuration error). They are not retried and the customers are not emailed: find the runs in the run-export logs ("Scheduled export failed", failureClass "internal").',
    );
    this.transientFailuresAlarm = alarm(
      'ExportsFailingTransiently',
      metric(OPERATOR_METRICS.exportsFailingTransiently, 'Maximum', Duration.hours(1)),
      'Automatic exports have failed transiently (throttling, 5xx, timeouts, unknown errors) for more than 24 hours. The check-failures logs name them ("Export failing transiently for more than 24 hours").',
    );
  }
}
