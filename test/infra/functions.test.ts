/** Infra tests: the Lambda functions: runtime, environment, limits, retries (run-export and check-failures in detail). */
import {
  stack,
  id,
  resourcesOfType,
  statements,
  dashboardDeploymentFunctionId,
  serviceStatements,
  regionalArn,
  tablesAllowed,
  asArray,
  STAGE,
  SENDER,
  DASHBOARD,
  synthesizeOnce,
  type Statement,
} from '../support/synthesized-stack';

synthesizeOnce();

describe('Lambda functions', () => {
  it.each([
    ['ApiFunction', () => stack.apiFunction],
    ['IngestFunction', () => stack.ingestFunction],
  ])('%s: nodejs22.x on arm64, active tracing, own log group, service environment', (_name, fn) => {
    const resource = resourcesOfType('AWS::Lambda::Function')[id(fn())];
    expect(resource).toBeDefined();
    expect(resource.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      MemorySize: 512,
      Timeout: 29,
      LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      Environment: {
        Variables: {
          CONFIG_TABLE: { Ref: id(stack.configTable) },
          USAGE_TABLE: { Ref: id(stack.usageTable) },
          STAGE: STAGE,
          LOG_LEVEL: 'INFO',
          POWERTOOLS_SERVICE_NAME: 'data-export',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
    const logGroupId = resource.Properties.LoggingConfig.LogGroup.Ref;
    expect(resourcesOfType('AWS::Logs::LogGroup')[logGroupId]?.Properties.RetentionInDays).toBe(30);
  });

  it("every function runs nodejs22.x on arm64 (but CDK's dashboard deployment handler)", () => {
    const functions = Object.entries(resourcesOfType('AWS::Lambda::Function'))
      .filter(([logicalId]) => logicalId !== dashboardDeploymentFunctionId())
      .map(([, fn]) => fn);
    expect(functions.length).toBeGreaterThanOrEqual(3);
    for (const fn of functions)
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
  });

  it('management Lambda: exports bucket, run-export function name and download link lifetime in its environment', () => {
    const variables = resourcesOfType('AWS::Lambda::Function')[id(stack.apiFunction)].Properties.Environment.Variables;
    expect(variables).toMatchObject({
      EXPORTS_BUCKET: { Ref: id(stack.exportsBucket) },
      EXPORT_FUNCTION_NAME: { Ref: id(stack.runExportFunction) },
      DOWNLOAD_LINK_SECONDS: '3600',
      INGEST_KEY_GRACE_SECONDS: '86400',
    });
  });

  it('ingest Lambda: nothing about exports in its environment', () => {
    const variables =
      resourcesOfType('AWS::Lambda::Function')[id(stack.ingestFunction)].Properties.Environment.Variables;
    expect(Object.keys(variables).filter((k) => /EXPORT|DOWNLOAD/.test(k))).toEqual([]);
  });

  it('every log group has a retention', () => {
    const logGroups = Object.values(resourcesOfType('AWS::Logs::LogGroup'));
    expect(logGroups.length).toBeGreaterThanOrEqual(3); // one per function + API access logs
    for (const lg of logGroups) expect(lg.Properties.RetentionInDays).toBe(30);
  });

  it('roles use no managed policies (no AWSLambdaBasicExecutionRole): logs only to the own log group', () => {
    for (const fn of [stack.apiFunction, stack.ingestFunction, stack.runExportFunction, stack.checkFailuresFunction]) {
      const roleId = id(fn.role!);
      expect(resourcesOfType('AWS::IAM::Role')[roleId].Properties.ManagedPolicyArns).toBeUndefined();
      const logStatements = statements(roleId).filter((s) => asArray(s.Action).some((a) => a.startsWith('logs:')));
      expect(logStatements).toHaveLength(1);
      expect(logStatements[0].Resource).toEqual({ 'Fn::GetAtt': [id(fn.logGroup), 'Arn'] });
    }
  });
});

describe('run-export function', () => {
  const fn = () => resourcesOfType('AWS::Lambda::Function')[id(stack.runExportFunction)];

  it('nodejs22.x on arm64, 1769 MB (one vCPU), 15 minutes, active tracing, own log group', () => {
    expect(fn()).toBeDefined();
    expect(fn().Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 1769,
      Timeout: 900,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: { Ref: id(stack.runExportFunction.logGroup) } },
    });
  });

  it('environment: the tables, the exports and raw-data buckets, the secrets key and the export role; no physical name (it dispatches to itself by AWS_LAMBDA_FUNCTION_NAME)', () => {
    expect(fn().Properties.FunctionName).toBeUndefined();
    expect(fn().Properties.Environment.Variables).toEqual({
      CONFIG_TABLE: { Ref: id(stack.configTable) },
      USAGE_TABLE: { Ref: id(stack.usageTable) },
      POWERTOOLS_METRICS_NAMESPACE: `DataExport/${STAGE}`,
      EXPORTS_BUCKET: { Ref: id(stack.exportsBucket) },
      SECRETS_KEY_ID: { 'Fn::GetAtt': [id(stack.destinationSecretsKey), 'Arn'] },
      EXPORT_ROLE_ARN: { 'Fn::GetAtt': [id(stack.exportRole), 'Arn'] },
      RAW_EVENTS_BUCKET: { Ref: id(stack.rawEventLog.bucket) },
      PROFILES_TABLE: { Ref: id(stack.profilesTable) },
      STAGE: STAGE,
      LOG_LEVEL: 'INFO',
      POWERTOOLS_SERVICE_NAME: 'data-export',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('reserved concurrency 20: exports cannot starve the API and ingest functions', () => {
    expect(fn().Properties.ReservedConcurrentExecutions).toBe(20);
  });

  it('asynchronous invocations: 2 retries, dropped after 1 hour', () => {
    const configs = Object.values(resourcesOfType('AWS::Lambda::EventInvokeConfig')).filter(
      (c) => c.Properties.FunctionName.Ref === id(stack.runExportFunction),
    );
    expect(configs).toHaveLength(1);
    expect(configs[0].Properties).toEqual({
      FunctionName: { Ref: id(stack.runExportFunction) },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
    });
  });

  it('events that still fail go to an encrypted, TLS-only dead-letter queue', () => {
    const queueId = id(stack.runExportDeadLetterQueue);
    expect(fn().Properties.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
    const queue = resourcesOfType('AWS::SQS::Queue')[queueId];
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const policies = Object.values(resourcesOfType('AWS::SQS::QueuePolicy')).filter((p) =>
      JSON.stringify(p.Properties.Queues).includes(`"${queueId}"`),
    );
    expect(policies).toHaveLength(1);
    expect(policies[0].Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    // Only the function's role may send to it.
    expect(serviceStatements(id(stack.runExportFunction.role!), 'sqs')).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    ]);
  });
});

describe('check-failures function', () => {
  const fn = () => resourcesOfType('AWS::Lambda::Function')[id(stack.checkFailuresFunction)];
  const fnArn = () => ({ 'Fn::GetAtt': [id(stack.checkFailuresFunction), 'Arn'] });

  it('nodejs22.x on arm64, 512 MB, 5 minutes, reserved concurrency 1, active tracing, own log group', () => {
    expect(fn()).toBeDefined();
    expect(fn().Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 300,
      ReservedConcurrentExecutions: 1,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: { Ref: id(stack.checkFailuresFunction.logGroup) } },
    });
    expect(fn().Properties.FunctionName).toBeUndefined();
  });

  it('environment: tables, sender, dashboard URL, the schedule settings and run-export; no secrets key, no bucket', () => {
    expect(fn().Properties.Environment.Variables).toEqual({
      CONFIG_TABLE: { Ref: id(stack.configTable) },
      EXPORT_FUNCTION_NAME: { Ref: id(stack.runExportFunction) },
      USAGE_TABLE: { Ref: id(stack.usageTable) },
      POWERTOOLS_METRICS_NAMESPACE: `DataExport/${STAGE}`,
      STAGE: STAGE,
      SENDER_EMAIL: SENDER,
      DASHBOARD_URL: DASHBOARD,
      SCHEDULE_GROUP_NAME: stack.scheduleGroup.scheduleGroupName,
      SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': [id(stack.schedulerRole), 'Arn'] },
      RUN_EXPORT_FUNCTION_ARN: { 'Fn::GetAtt': [id(stack.runExportFunction), 'Arn'] },
      SCHEDULE_DLQ_ARN: { 'Fn::GetAtt': [id(stack.scheduleDeadLetterQueue), 'Arn'] },
      SCHEDULE_FLEXIBLE_WINDOW_MINUTES: '60',
      LOG_LEVEL: 'INFO',
      POWERTOOLS_SERVICE_NAME: 'data-export',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('an hourly EventBridge rule invokes it: 2 retries, events older than an hour dropped, then the DLQ', () => {
    const rules = resourcesOfType('AWS::Events::Rule');
    expect(Object.keys(rules)).toEqual([id(stack.checkFailuresRule)]);
    expect(rules[id(stack.checkFailuresRule)].Properties).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
    });
    expect(rules[id(stack.checkFailuresRule)].Properties.Targets).toEqual([
      {
        Id: expect.any(String),
        Arn: fnArn(),
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(stack.checkFailuresDeadLetterQueue), 'Arn'] } },
      },
    ]);
  });

  it('only that rule may invoke it (resource-based permission with the rule as source)', () => {
    const permissions = Object.values(resourcesOfType('AWS::Lambda::Permission')).filter((p) =>
      JSON.stringify(p.Properties.FunctionName).includes(`"${id(stack.checkFailuresFunction)}"`),
    );
    expect(permissions.map((p) => p.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: fnArn(),
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [id(stack.checkFailuresRule), 'Arn'] },
      },
    ]);
  });

  it('failed checks: 2 Lambda retries within the hour, then the same encrypted, TLS-only dead-letter queue', () => {
    const queueId = id(stack.checkFailuresDeadLetterQueue);
    expect(fn().Properties.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
    const configs = Object.values(resourcesOfType('AWS::Lambda::EventInvokeConfig')).filter(
      (c) => c.Properties.FunctionName.Ref === id(stack.checkFailuresFunction),
    );
    expect(configs.map((c) => c.Properties)).toEqual([
      {
        FunctionName: { Ref: id(stack.checkFailuresFunction) },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 3600,
      },
    ]);
    expect(resourcesOfType('AWS::SQS::Queue')[queueId].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const queueStatements = Object.values(resourcesOfType('AWS::SQS::QueuePolicy'))
      .filter((p) => JSON.stringify(p.Properties.Queues).includes(`"${queueId}"`))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(queueStatements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    // EventBridge may send to it for this rule only; the function's role sends its own failures.
    expect(queueStatements.filter((st: Statement) => st.Effect === 'Allow')).toEqual([
      expect.objectContaining({
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [id(stack.checkFailuresRule), 'Arn'] } } },
      }),
    ]);
    expect(serviceStatements(id(stack.checkFailuresFunction.role!), 'sqs')).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    ]);
  });

  it('reads and writes the config table (emails sent, stopped exports); no usage table, no bucket', () => {
    const roleId = id(stack.checkFailuresFunction.role!);
    const config = id(stack.configTable);
    for (const action of [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    ]) {
      expect(tablesAllowed(roleId, action)).toEqual([config]);
    }
    expect(serviceStatements(roleId, 's3')).toEqual([]);
  });

  it('sends email only as the sender identity (address or its domain), only From the sender address', () => {
    const ses = serviceStatements(id(stack.checkFailuresFunction.role!), 'ses');
    expect(ses).toEqual([
      {
        Effect: 'Allow',
        Action: ['ses:SendEmail', 'ses:SendRawEmail'],
        Resource: expect.any(Array),
        Condition: { StringEquals: { 'ses:FromAddress': SENDER } },
      },
    ]);
    const identities = [regionalArn('ses', `identity/${SENDER}`), regionalArn('ses', 'identity/exports.test.example')];
    expect(ses[0].Resource).toHaveLength(identities.length);
    expect(ses[0].Resource).toEqual(expect.arrayContaining(identities));
  });

  it('no role may use SES otherwise: no ses:* action, no SES statement on Resource "*", no other sender', () => {
    const ses = statements().filter((st) => asArray(st.Action).some((a) => a.startsWith('ses:')));
    expect(ses).toHaveLength(1);
    for (const st of ses) {
      expect(asArray(st.Action)).not.toContain('ses:*');
      expect(asArray(st.Resource)).not.toContain('*');
      expect(JSON.stringify(st.Resource)).not.toMatch(/identity\/\*/);
    }
    for (const fn of [stack.apiFunction, stack.ingestFunction, stack.runExportFunction]) {
      expect(serviceStatements(id(fn.role!), 'ses')).toEqual([]);
    }
  });
});
