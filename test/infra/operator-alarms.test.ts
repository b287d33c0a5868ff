/** Infra tests: what reaches the operators: alarms, their topic, the dashboard of metrics. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ServiceFunction } from '../../lib/constructs/service-function';
import { DataExportStack } from '../../lib/data-export-stack';
import {
  EXPORT_RUN_OUTCOMES,
  EXPORT_RUNS,
  EXPORTS_FAILING_TRANSIENTLY,
  FAILED_EXPORT_RUNS,
  INTERNAL_EXPORT_FAILURES,
} from '../../lambdas/adapters/metrics/operator-metrics';
import { EXPORT_STYLES } from '../../lib/constructs/operator-alarms';
import {
  stack,
  id,
  resourcesOfType,
  STAGE,
  ISSUER,
  AUDIENCE,
  SENDER,
  DASHBOARD,
  synthesizeOnce,
  CDK_JSON_CONTEXT,
} from '../support/synthesized-stack';

synthesizeOnce();

describe('operator alarms', () => {
  const topicId = () => id(stack.operatorAlarms.topic);
  const alarmFor = (metricName: string) => {
    const alarms = Object.values(resourcesOfType('AWS::CloudWatch::Alarm')).filter(
      (a) => a.Properties.MetricName === metricName,
    );
    expect(alarms).toHaveLength(1);
    return alarms[0].Properties;
  };

  it.each([
    [INTERNAL_EXPORT_FAILURES, 'Sum', 300],
    [EXPORTS_FAILING_TRANSIENTLY, 'Maximum', 3600],
  ])(
    'alarms on %s (the name the functions publish) at 1 or more, notifying the operator topic',
    (metricName, statistic, period) => {
      expect(alarmFor(metricName)).toMatchObject({
        Namespace: `DataExport/${STAGE}`,
        Dimensions: [{ Name: 'service', Value: 'data-export' }],
        Statistic: statistic,
        Period: period,
        Threshold: 1,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topicId() }],
        OKActions: [{ Ref: topicId() }],
      });
    },
  );

  it('the publishing functions (run-export, check-failures, ingest) get the namespace; powertools names the service dimension', () => {
    for (const fn of [stack.runExportFunction, stack.checkFailuresFunction, stack.ingestFunction]) {
      expect(resourcesOfType('AWS::Lambda::Function')[id(fn)].Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: `DataExport/${STAGE}`,
        POWERTOOLS_SERVICE_NAME: 'data-export',
      });
    }
  });

  it('the topic is encrypted with its own rotated key that CloudWatch may use, and refuses plain HTTP', () => {
    const topic = resourcesOfType('AWS::SNS::Topic')[topicId()];
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [id(stack.operatorAlarms.topicKey), 'Arn'] });
    const key = resourcesOfType('AWS::KMS::Key')[id(stack.operatorAlarms.topicKey)];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
    const policies = Object.values(resourcesOfType('AWS::SNS::TopicPolicy')).filter((p) =>
      JSON.stringify(p.Properties.Topics).includes(topicId()),
    );
    expect(policies[0].Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('subscribes no one without operatorEmail, and that address by email with it', () => {
    expect(Object.keys(resourcesOfType('AWS::SNS::Subscription'))).toEqual([]);
    const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const withEmail = new DataExportStack(app, 'WithOperatorEmail', {
      stage: STAGE,
      jwtIssuer: ISSUER,
      jwtAudience: AUDIENCE,
      senderEmail: SENDER,
      dashboardUrl: DASHBOARD,
      operatorEmail: 'oncall@exports.test.example',
    });
    Template.fromStack(withEmail).resourceCountIs('AWS::SNS::Subscription', 1);
    Template.fromStack(withEmail).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@exports.test.example',
    });
  });

  const alarms = () => Object.values(resourcesOfType('AWS::CloudWatch::Alarm')).map((a) => a.Properties);

  it('every alarm of the stack notifies the operator topic, on alarm and back to OK', () => {
    expect(alarms().length).toBe(stack.operatorAlarms.alarms().length);
    for (const alarm of alarms())
      expect(alarm).toMatchObject({ AlarmActions: [{ Ref: topicId() }], OKActions: [{ Ref: topicId() }] });
  });

  it('every queue of the stack (all dead-letter queues) alarms at one visible message', () => {
    const queueIds = Object.keys(resourcesOfType('AWS::SQS::Queue'));
    expect(queueIds.length).toBeGreaterThanOrEqual(3);
    for (const queueId of queueIds) {
      const onQueue = alarms().filter((a) => JSON.stringify(a.Dimensions ?? []).includes(`"${queueId}"`));
      expect(onQueue).toEqual([
        expect.objectContaining({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
          Statistic: 'Maximum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        }),
      ]);
    }
  });

  it('every service function alarms on its errors and its throttles', () => {
    const functions = stack.node.findAll().filter((c): c is ServiceFunction => c instanceof ServiceFunction);
    expect(functions.length).toBeGreaterThanOrEqual(4);
    for (const fn of functions) {
      const onFunction = alarms().filter(
        (a) => a.Namespace === 'AWS/Lambda' && JSON.stringify(a.Dimensions).includes(`"${id(fn)}"`),
      );
      expect(onFunction.map((a) => a.MetricName).sort()).toEqual(expect.arrayContaining(['Errors', 'Throttles']));
      for (const alarm of onFunction.filter((a) => a.MetricName !== 'Invocations')) {
        expect(alarm).toMatchObject({
          Statistic: 'Sum',
          Period: 300,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
      }
    }
  });

  it('alarms when the hourly check has not been invoked for 2 hours, missing data breaching', () => {
    const invocations = alarms().filter((a) => a.MetricName === 'Invocations');
    expect(invocations).toEqual([
      expect.objectContaining({
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(stack.checkFailuresFunction) } }],
        Statistic: 'Sum',
        Period: 7200,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      }),
    ]);
  });

  it("alarms when more than 20% of an hour's scheduled runs fail, from the runs the functions publish", () => {
    const [rate] = alarms().filter((a) => a.Metrics);
    expect(rate).toMatchObject({
      Threshold: 20,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    const byId = Object.fromEntries(rate.Metrics.map((m: any) => [m.Id, m]));
    expect(byId.expr_1.Expression).toBe('IF(runs >= 5, 100 * FILL(failed, 0) / runs, 0)');
    for (const [metricId, metricName] of [
      ['runs', EXPORT_RUNS],
      ['failed', FAILED_EXPORT_RUNS],
    ]) {
      expect(byId[metricId].MetricStat).toEqual({
        Metric: {
          Namespace: `DataExport/${STAGE}`,
          MetricName: metricName,
          Dimensions: [{ Name: 'service', Value: 'data-export' }],
        },
        Period: 3600,
        Stat: 'Sum',
      });
    }
  });

  it.each([
    ['DeliveryToS3.Success', 'Minimum', 1, 'LessThanThreshold'],
    ['DeliveryToS3.DataFreshness', 'Maximum', 900, 'GreaterThanThreshold'],
  ])("alarms on the raw event log stream's %s", (metricName, statistic, threshold, comparison) => {
    expect(alarmFor(metricName)).toMatchObject({
      Namespace: 'AWS/Firehose',
      Dimensions: [{ Name: 'DeliveryStreamName', Value: { Ref: id(stack.rawEventLog.deliveryStream) } }],
      Statistic: statistic,
      Threshold: threshold,
      ComparisonOperator: comparison,
      TreatMissingData: 'notBreaching',
    });
  });

  it('a dashboard (no physical name) shows every alarm and the metrics behind them', () => {
    const dashboards = Object.values(resourcesOfType('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0].Properties.DashboardName).toBeUndefined();
    const body = JSON.stringify(dashboards[0].Properties.DashboardBody);
    for (const metricName of [
      EXPORT_RUNS,
      FAILED_EXPORT_RUNS,
      INTERNAL_EXPORT_FAILURES,
      EXPORTS_FAILING_TRANSIENTLY,
      'Errors',
      'Throttles',
      'Invocations',
      'ApproximateNumberOfMessagesVisible',
      'DeliveryToS3.Success',
      'DeliveryToS3.DataFreshness',
    ]) {
      expect(body).toContain(`"${metricName}"`.replace(/"/g, '\\"'));
    }
    for (const alarm of stack.operatorAlarms.alarms()) expect(body).toContain(id(alarm));
  });

  it('the dashboard shows failed runs by style: manual and automatic exports, export jobs and the raw export', () => {
    expect(EXPORT_STYLES).toEqual(['manual', 'scheduled', 'job', 'raw']);
    const [dashboard] = Object.values(resourcesOfType('AWS::CloudWatch::Dashboard'));
    // The body is a Fn::Join of literal text and tokens (the region); the widgets are in the text.
    const text = (dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[])
      .map((part) => (typeof part === 'string' ? part : ''))
      .join('');
    const widgets = JSON.parse(text).widgets as { properties: { title?: string; metrics?: unknown[][] } }[];
    const byStyle = widgets.find((widget) => widget.properties.title === 'Failed runs by style');
    expect(byStyle?.properties.metrics).toEqual(
      EXPORT_STYLES.map((style) => [
        `DataExport/${STAGE}`,
        EXPORT_RUN_OUTCOMES,
        // CloudWatch's dashboard lists the dimensions by name.
        'outcome',
        'failed',
        'service',
        'data-export',
        'style',
        style,
        { label: style, period: 3600, stat: 'Sum' },
      ]),
    );
  });
});
