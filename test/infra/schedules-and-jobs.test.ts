/** Infra tests: the schedules created at run time, the export role of bucket-policy destinations, and export jobs' runs. */
import { ENV } from '../../contracts/function-environment';
import {
  stack,
  template,
  id,
  resourcesOfType,
  statements,
  serviceStatements,
  schedulesArn,
  asArray,
  synthesizeOnce,
  type Statement,
} from '../support/synthesized-stack';

synthesizeOnce();

describe('automatic export schedules', () => {
  const scheduleVariables = () => ({
    SCHEDULE_GROUP_NAME: stack.scheduleGroup.scheduleGroupName,
    SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': [id(stack.schedulerRole), 'Arn'] },
    RUN_EXPORT_FUNCTION_ARN: { 'Fn::GetAtt': [id(stack.runExportFunction), 'Arn'] },
    SCHEDULE_DLQ_ARN: { 'Fn::GetAtt': [id(stack.scheduleDeadLetterQueue), 'Arn'] },
    // Runs spread over the hour after 00:00 UTC; the snapshot still comes from the scheduled time.
    SCHEDULE_FLEXIBLE_WINDOW_MINUTES: '60',
  });

  it('one schedule group, its name derived from the stack name (not hard-coded), deleted with the stack', () => {
    const groups = resourcesOfType('AWS::Scheduler::ScheduleGroup');
    expect(Object.keys(groups)).toEqual([id(stack.scheduleGroup)]);
    const name: string = groups[id(stack.scheduleGroup)].Properties.Name;
    expect(name).toBe(stack.scheduleGroup.scheduleGroupName);
    expect(name).toMatch(new RegExp(`^${stack.stackName.replace(/-/g, '')}-ExportSchedules-[A-F0-9]{8}$`));
    expect(name.length).toBeLessThanOrEqual(64);
    expect(groups[id(stack.scheduleGroup)].DeletionPolicy).toBe('Delete');
  });

  it('no schedule in the template: the API creates one per environment at run time', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
  });

  it('execution role: assumable only by EventBridge Scheduler for the export schedule group of this account', () => {
    const role = resourcesOfType('AWS::IAM::Role')[id(stack.schedulerRole)];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: {
            'aws:SourceAccount': { Ref: 'AWS::AccountId' },
            'aws:SourceArn': { 'Fn::GetAtt': [id(stack.scheduleGroup), 'Arn'] },
          },
        },
      },
    ]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
  });

  it("execution role: only invokes run-export (unqualified) and sends to the schedules' dead-letter queue", () => {
    expect(statements(id(stack.schedulerRole))).toEqual([
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::GetAtt': [id(stack.runExportFunction), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [id(stack.scheduleDeadLetterQueue), 'Arn'] },
      },
    ]);
  });

  it('dead-letter queue: SQS-managed encryption, TLS only, kept 14 days, no resource-policy grant', () => {
    const queueId = id(stack.scheduleDeadLetterQueue);
    expect(resourcesOfType('AWS::SQS::Queue')[queueId].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const policies = Object.values(resourcesOfType('AWS::SQS::QueuePolicy')).filter((p) =>
      JSON.stringify(p.Properties.Queues).includes(`"${queueId}"`),
    );
    expect(policies).toHaveLength(1);
    const queueStatements = policies[0].Properties.PolicyDocument.Statement;
    expect(queueStatements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(queueStatements.filter((st: Statement) => st.Effect === 'Allow')).toEqual([]);
  });

  it('management API: create, update and delete schedules, only in the export schedule group', () => {
    expect(serviceStatements(id(stack.apiFunction.role!), 'scheduler')).toEqual([
      {
        Effect: 'Allow',
        Action: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:UpdateSchedule'],
        Resource: schedulesArn(),
      },
    ]);
  });

  it('management API: passes only the execution role, only to EventBridge Scheduler', () => {
    expect(serviceStatements(id(stack.apiFunction.role!), 'iam')).toEqual([
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [id(stack.schedulerRole), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      },
    ]);
  });

  it('check-failures: reconciles schedules of the export schedule group, passing only the execution role to EventBridge Scheduler', () => {
    const roleId = id(stack.checkFailuresFunction.role!);
    expect(serviceStatements(roleId, 'scheduler')).toEqual([
      {
        Effect: 'Allow',
        Action: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:UpdateSchedule'],
        Resource: schedulesArn(),
      },
    ]);
    expect(serviceStatements(roleId, 'iam')).toEqual([
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [id(stack.schedulerRole), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      },
    ]);
  });

  it('no other role has scheduler or iam permissions', () => {
    for (const roleId of [id(stack.ingestFunction.role!), id(stack.runExportFunction.role!), id(stack.schedulerRole)]) {
      expect(serviceStatements(roleId, 'scheduler')).toEqual([]);
      expect(serviceStatements(roleId, 'iam')).toEqual([]);
    }
  });

  it.each([
    ['management API', () => stack.apiFunction],
    ['check-failures', () => stack.checkFailuresFunction],
  ])('%s: the schedule group, execution role, run-export ARN and dead-letter queue in its environment', (_name, fn) => {
    const variables = resourcesOfType('AWS::Lambda::Function')[id(fn())].Properties.Environment.Variables;
    expect(variables).toMatchObject(scheduleVariables());
  });

  it('ingest and run-export: no schedule settings in their environment', () => {
    for (const fn of [stack.ingestFunction, stack.runExportFunction]) {
      const variables = resourcesOfType('AWS::Lambda::Function')[id(fn)].Properties.Environment.Variables;
      expect(Object.keys(variables).filter((k) => k.startsWith('SCHEDULE') || k === 'RUN_EXPORT_FUNCTION_ARN')).toEqual(
        [],
      );
    }
  });

  it("run-export stays outside any VPC (it writes into customers' buckets over the internet)", () => {
    expect(resourcesOfType('AWS::Lambda::Function')[id(stack.runExportFunction)].Properties.VpcConfig).toBeUndefined();
  });
});

describe('export role (bucket-policy destinations)', () => {
  const roleOf = (fn: { role?: unknown }) => id(fn.role as never);

  it('trusted only by the management API and run-export roles, for sessions of at most an hour', () => {
    const role = resourcesOfType('AWS::IAM::Role')[id(stack.exportRole)];
    expect(role.Properties.MaxSessionDuration).toBe(3600);
    const trusted = (role.Properties.AssumeRolePolicyDocument.Statement as Statement[]).flatMap((statement) => {
      expect(statement).toMatchObject({ Effect: 'Allow', Action: 'sts:AssumeRole' });
      return asArray((statement as unknown as { Principal: { AWS: unknown } }).Principal.AWS);
    });
    expect(trusted).toEqual(
      expect.arrayContaining([
        { 'Fn::GetAtt': [roleOf(stack.apiFunction), 'Arn'] },
        { 'Fn::GetAtt': [roleOf(stack.runExportFunction), 'Arn'] },
      ]),
    );
    expect(trusted).toHaveLength(2);
  });

  it('has no permissions of its own: what it may write is what each customer bucket policy grants', () => {
    expect(statements(id(stack.exportRole))).toEqual([]);
    expect(resourcesOfType('AWS::IAM::Role')[id(stack.exportRole)].Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('only the management API and run-export may assume it, and only it; both get its ARN', () => {
    const assumers = Object.entries(resourcesOfType('AWS::IAM::Role'))
      .filter(([roleId]) => statements(roleId).some((s) => asArray(s.Action).includes('sts:AssumeRole')))
      .map(([roleId]) => roleId)
      .sort();
    expect(assumers).toEqual([roleOf(stack.apiFunction), roleOf(stack.runExportFunction)].sort());
    for (const roleId of assumers) {
      const assume = statements(roleId).filter((s) => asArray(s.Action).includes('sts:AssumeRole'));
      expect(assume.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [id(stack.exportRole), 'Arn'] }]);
    }
    const functions = resourcesOfType('AWS::Lambda::Function');
    expect(functions[id(stack.apiFunction)].Properties.Environment.Variables.EXPORT_ROLE_ARN).toEqual({
      'Fn::GetAtt': [id(stack.exportRole), 'Arn'],
    });
  });

  it('is a stack output, for operators and the docs', () => {
    expect(template.findOutputs('ExportRoleArn').ExportRoleArn.Value).toEqual({
      'Fn::GetAtt': [id(stack.exportRole), 'Arn'],
    });
  });
});

describe("export jobs' runs (run-export)", () => {
  const functions = () => resourcesOfType('AWS::Lambda::Function');
  const variables = (fn: typeof stack.apiFunction) => functions()[id(fn)].Properties.Environment.Variables;

  it('one-time runs: the API invokes run-export by the name it is given; recurring runs: the schedules target the same function', () => {
    expect(variables(stack.apiFunction)).toMatchObject({
      [ENV.EXPORT_FUNCTION_NAME]: { Ref: id(stack.runExportFunction) },
      [ENV.RUN_EXPORT_FUNCTION_ARN]: { 'Fn::GetAtt': [id(stack.runExportFunction), 'Arn'] },
    });
    expect(serviceStatements(id(stack.schedulerRole), 'lambda')).toEqual([
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::GetAtt': [id(stack.runExportFunction), 'Arn'] },
      },
    ]);
  });

  it('run-export reads what runs need: the raw event log (read only, under raw/) and the profiles, named in its environment', () => {
    expect(variables(stack.runExportFunction)).toMatchObject({
      [ENV.RAW_EVENTS_BUCKET]: { Ref: id(stack.rawEventLog.bucket) },
      [ENV.PROFILES_TABLE]: { Ref: id(stack.profilesTable) },
    });
    const onRawBucket = statements(id(stack.runExportFunction.role!)).filter((s) =>
      JSON.stringify(s.Resource).includes(`"${id(stack.rawEventLog.bucket)}"`),
    );
    expect(onRawBucket.flatMap((s) => asArray(s.Action)).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
    // The API only lists it, under raw/ (the raw revisions export's status counts the revisions).
    expect(variables(stack.apiFunction)[ENV.RAW_EVENTS_BUCKET]).toEqual({ Ref: id(stack.rawEventLog.bucket) });
    const apiOnRawBucket = statements(id(stack.apiFunction.role!)).filter((s) =>
      JSON.stringify(s.Resource).includes(`"${id(stack.rawEventLog.bucket)}"`),
    );
    expect(apiOnRawBucket).toEqual([
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [id(stack.rawEventLog.bucket), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['raw/*'] } },
      },
    ]);
    // No other service function reads or writes the raw-data bucket (ingest appends through Firehose).
    for (const fn of [stack.ingestFunction, stack.checkFailuresFunction]) {
      expect(JSON.stringify(statements(id(fn.role!)))).not.toContain(`"${id(stack.rawEventLog.bucket)}"`);
      expect(variables(fn)[ENV.RAW_EVENTS_BUCKET]).toBeUndefined();
    }
  });

  it('run-export unseals access-key destinations (kms:Decrypt under the secrets context) and writes bucket-policy ones as the export role', () => {
    expect(serviceStatements(id(stack.runExportFunction.role!), 'kms')).toEqual([
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: { 'Fn::GetAtt': [id(stack.destinationSecretsKey), 'Arn'] },
        Condition: { StringEquals: { 'kms:EncryptionContext:purpose': 'destination-secret' } },
      },
    ]);
    expect(serviceStatements(id(stack.runExportFunction.role!), 'sts')).toEqual([
      { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: { 'Fn::GetAtt': [id(stack.exportRole), 'Arn'] } },
    ]);
  });

  it("what run-time schedules and customers' bucket policies name keeps its logical id (a replacement would orphan them)", () => {
    expect({
      runExport: id(stack.runExportFunction),
      schedulerRole: id(stack.schedulerRole),
      scheduleGroup: id(stack.scheduleGroup),
      scheduleDeadLetterQueue: id(stack.scheduleDeadLetterQueue),
      exportRole: id(stack.exportRole),
    }).toEqual({
      runExport: 'RunExportFunction52B97AA8',
      schedulerRole: 'SchedulerRole59E73443',
      scheduleGroup: 'ExportSchedules1F727B49',
      scheduleDeadLetterQueue: 'ScheduleDeadLetterQueue0D6B48D2',
      exportRole: 'ExportRoleB9ACA3CD',
    });
  });

  it('every variable a service function is given is named in contracts/function-environment.ts (or is the runtime’s own)', () => {
    const known = new Set<string>([
      ...Object.values(ENV),
      'NODE_OPTIONS',
      'LOG_LEVEL',
      'POWERTOOLS_SERVICE_NAME',
      'POWERTOOLS_METRICS_NAMESPACE',
    ]);
    for (const fn of [stack.apiFunction, stack.ingestFunction, stack.runExportFunction, stack.checkFailuresFunction]) {
      expect(Object.keys(variables(fn)).filter((name) => !known.has(name))).toEqual([]);
    }
  });
});
