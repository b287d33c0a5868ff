/** Infra tests: least privilege across the stack's roles. */
import {
  stack,
  id,
  resourcesOfType,
  statements,
  serviceRoleStatements,
  serviceStatements,
  schedulesArn,
  manualObjectsArn,
  rawObjectsArn,
  tablesAllowed,
  asArray,
  synthesizeOnce,
} from '../support/synthesized-stack';

synthesizeOnce();

describe('IAM least privilege', () => {
  it("no wildcard actions anywhere (but in CDK's dashboard deployment handler, tested with the dashboard)", () => {
    const actions = serviceRoleStatements().flatMap((s) => asArray(s.Action));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  });

  it("Resource '*' only for the X-Ray write actions (X-Ray has no resource-level permissions)", () => {
    const wildcard = serviceRoleStatements().filter((s) => asArray(s.Resource).includes('*'));
    expect(wildcard.flatMap((s) => asArray(s.Action)).filter((a) => !a.startsWith('xray:'))).toEqual([]);
  });

  it("no other wildcard in a resource than the exports bucket's manual/* objects, the export schedules and Firehose's raw-data objects", () => {
    const resources = serviceRoleStatements()
      .filter((s) => !asArray(s.Resource).includes('*'))
      .flatMap((s) => asArray(s.Resource));
    const wildcards = resources.filter((r) => JSON.stringify(r).includes('*'));
    expect(wildcards.length).toBeGreaterThan(0);
    for (const r of wildcards)
      expect([manualObjectsArn(), schedulesArn(), rawObjectsArn('raw/*'), rawObjectsArn('errors/*')]).toContainEqual(r);
  });

  it('table grants name the table only: no role may use every index (<table>/index/*)', () => {
    const resources = statements().flatMap((s) => asArray(s.Resource));
    expect(resources.filter((r) => JSON.stringify(r).includes('/index/*'))).toEqual([]);
  });

  it('run-export Lambda: reads and writes the config table (job records), only reads the usage table', () => {
    const roleId = id(stack.runExportFunction.role!);
    const [config, usage] = [id(stack.configTable), id(stack.usageTable)];
    for (const write of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
      expect(tablesAllowed(roleId, write)).toEqual([config]);
    }
    for (const read of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem']) {
      expect(tablesAllowed(roleId, read)).toEqual([config, usage].sort());
    }
  });

  it('run-export Lambda: puts (multipart included) and aborts uploads of manual/ files, reads the raw event log under raw/; never deletes', () => {
    const s3 = serviceStatements(id(stack.runExportFunction.role!), 's3');
    expect(s3).toEqual([
      { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:PutObject'], Resource: manualObjectsArn() },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: rawObjectsArn('raw/*') },
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [id(stack.rawEventLog.bucket), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['raw/*'] } },
      },
    ]);
    const actions = s3.flatMap((s) => asArray(s.Action));
    for (const denied of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectAcl', 's3:GetBucketPolicy']) {
      expect(actions).not.toContain(denied);
    }
  });

  it('management Lambda: only reads manual/ files of the exports bucket (to pre-sign download URLs) and lists raw/ of the raw-data bucket', () => {
    expect(serviceStatements(id(stack.apiFunction.role!), 's3')).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: manualObjectsArn() },
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [id(stack.rawEventLog.bucket), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['raw/*'] } },
      },
    ]);
  });

  it("management Lambda, the failure check and the schedules' role may invoke the run-export function (unqualified), and nothing else may", () => {
    const runExportArn = { 'Fn::GetAtt': [id(stack.runExportFunction), 'Arn'] };
    // The API dispatches manual exports and one-time jobs; the failure check runs a failing one-time job again.
    for (const fn of [stack.apiFunction, stack.checkFailuresFunction]) {
      expect(serviceStatements(id(fn.role!), 'lambda')).toEqual([
        {
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: [runExportArn, { 'Fn::Join': ['', [runExportArn, ':$LATEST']] }],
        },
      ]);
    }
    expect(serviceStatements(id(stack.schedulerRole), 'lambda')).toEqual([
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: runExportArn },
    ]);
    for (const fn of [stack.ingestFunction, stack.runExportFunction]) {
      expect(serviceStatements(id(fn.role!), 'lambda')).toEqual([]);
    }
    // No resource-based permission lets anyone else (e.g. a service principal) invoke it either.
    const permissions = Object.values(resourcesOfType('AWS::Lambda::Permission')).filter((p) =>
      JSON.stringify(p.Properties.FunctionName).includes(`"${id(stack.runExportFunction)}"`),
    );
    expect(permissions).toEqual([]);
  });

  it('ingest Lambda: no access to the exports bucket', () => {
    expect(serviceStatements(id(stack.ingestFunction.role!), 's3')).toEqual([]);
  });

  it('DynamoDB statements name table ARNs, never *', () => {
    const dynamo = statements().filter((s) => asArray(s.Action).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.length).toBeGreaterThan(0);
    for (const s of dynamo) {
      expect(asArray(s.Resource)).not.toContain('*');
      expect(JSON.stringify(s.Resource)).toMatch(/(ConfigTable|UsageTable|ProfilesTable)[A-F0-9]{8}/);
    }
  });

  it('management Lambda: reads and writes the config table; only queries the usage table (the event catalog)', () => {
    const roleId = id(stack.apiFunction.role!);
    const config = id(stack.configTable);
    for (const action of [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
    ]) {
      expect(tablesAllowed(roleId, action)).toEqual([config]);
    }
    expect(tablesAllowed(roleId, 'dynamodb:Query')).toEqual([config, id(stack.usageTable)].sort());
  });

  it('ingest Lambda: only reads the config table, reads and writes the usage table', () => {
    const roleId = id(stack.ingestFunction.role!);
    const [config, usage] = [id(stack.configTable), id(stack.usageTable)];
    for (const write of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
      expect(tablesAllowed(roleId, write)).toEqual([usage]);
    }
    for (const read of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem']) {
      expect(tablesAllowed(roleId, read)).toEqual([config, usage].sort());
    }
  });
});
