/** Infra tests: the service's state: tables, buckets, the destination secrets key, the raw event log. */
import {
  stack,
  template,
  id,
  resourcesOfType,
  statements,
  bucketPolicy,
  serviceStatements,
  rawObjectsArn,
  synthesizeOnce,
  type Statement,
} from '../support/synthesized-stack';

synthesizeOnce();

describe('DynamoDB tables', () => {
  it.each([
    ['ConfigTable', () => stack.configTable],
    ['UsageTable', () => stack.usageTable],
    ['ProfilesTable', () => stack.profilesTable],
  ])('%s: pk/sk strings, on-demand, PITR, AWS-managed encryption, retained, no physical name', (_name, table) => {
    const resource = resourcesOfType('AWS::DynamoDB::Table')[id(table())];
    expect(resource).toBeDefined();
    expect(resource.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: expect.arrayContaining([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(resource.Properties.SSESpecification.SSEType).toBeUndefined(); // AWS-managed, no customer key
    expect(resource.Properties.TableName).toBeUndefined();
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.UpdateReplacePolicy).toBe('Retain');
  });

  it('ConfigTable expires finished manual export jobs by TTL on expiresAt; UsageTable has no TTL', () => {
    const tables = resourcesOfType('AWS::DynamoDB::Table');
    expect(tables[id(stack.configTable)].Properties.TimeToLiveSpecification).toEqual({
      AttributeName: 'expiresAt',
      Enabled: true,
    });
    expect(tables[id(stack.usageTable)].Properties.TimeToLiveSpecification).toBeUndefined();
  });

  it('are exactly the three tables', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 3);
  });

  it('ProfilesTable: GSI "updated" on pk (S) / updatedAt (N), all attributes projected', () => {
    const resource = resourcesOfType('AWS::DynamoDB::Table')[id(stack.profilesTable)];
    expect(resource.Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'updated',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'updatedAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(resource.Properties.AttributeDefinitions).toContainEqual({ AttributeName: 'updatedAt', AttributeType: 'N' });
  });

  it('ingest updates profiles (UpdateItem only), run-export queries them (table and its "updated" index); no other function touches them', () => {
    const profilesArn = { 'Fn::GetAtt': [id(stack.profilesTable), 'Arn'] };
    const touching = (fn: typeof stack.apiFunction) =>
      statements(id(fn.role!)).filter((s) => JSON.stringify(s.Resource).includes(`"${id(stack.profilesTable)}"`));
    expect(touching(stack.ingestFunction)).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: profilesArn },
    ]);
    expect(touching(stack.runExportFunction)).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: [profilesArn, { 'Fn::Join': ['', [profilesArn, '/index/updated']] }],
      },
    ]);
    for (const fn of [stack.apiFunction, stack.checkFailuresFunction]) expect(touching(fn)).toEqual([]);
    for (const fn of [stack.ingestFunction, stack.runExportFunction]) {
      const variables = resourcesOfType('AWS::Lambda::Function')[id(fn)].Properties.Environment.Variables;
      expect(variables.PROFILES_TABLE).toEqual({ Ref: id(stack.profilesTable) });
    }
  });
});

describe('exports bucket', () => {
  const bucket = () => resourcesOfType('AWS::S3::Bucket')[id(stack.exportsBucket)];
  const accessLogs = () => resourcesOfType('AWS::S3::Bucket')[id(stack.accessLogsBucket)];
  const denyInsecureTransport = (bucketId: string) => ({
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: 's3:*',
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    Resource: [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] }],
  });

  it.each([
    ['ExportsBucket', () => bucket()],
    ['AccessLogsBucket', () => accessLogs()],
  ])(
    '%s: all public access blocked, SSE-S3, ACLs disabled, unversioned, retained, no physical name',
    (_name, resource) => {
      expect(resource()).toBeDefined();
      expect(resource().Properties).toMatchObject({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      });
      expect(resource().Properties.BucketName).toBeUndefined();
      expect(resource().Properties.AccessControl).toBeUndefined();
      expect(resource().Properties.VersioningConfiguration?.Status).not.toBe('Enabled');
      expect(resource().DeletionPolicy).toBe('Retain');
      expect(resource().UpdateReplacePolicy).toBe('Retain');
    },
  );

  it.each([
    ['ExportsBucket', () => id(stack.exportsBucket)],
    ['AccessLogsBucket', () => id(stack.accessLogsBucket)],
  ])('%s: the bucket policy denies every request without TLS (enforceSSL)', (_name, bucketId) => {
    expect(bucketPolicy(bucketId())).toContainEqual(denyInsecureTransport(bucketId()));
  });

  it('expires manual export files after 7 days and aborts incomplete multipart uploads after 1 day', () => {
    const rules: Record<string, unknown>[] = bucket().Properties.LifecycleConfiguration.Rules;
    expect(rules).toHaveLength(2);
    expect(rules).toContainEqual({
      Id: 'ExpireManualExports',
      Status: 'Enabled',
      Prefix: 'manual/',
      ExpirationInDays: 7,
    });
    // The whole bucket: whatever prefix a failed upload had.
    expect(rules).toContainEqual({
      Id: 'AbortIncompleteMultipartUploads',
      Status: 'Enabled',
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    });
  });

  it('nothing but the manual/ files expire (the expiration rule is scoped to the prefix)', () => {
    const rules: Record<string, any>[] = bucket().Properties.LifecycleConfiguration.Rules;
    for (const rule of rules.filter((r) => r.ExpirationInDays !== undefined)) expect(rule.Prefix).toBe('manual/');
  });

  it('server access logs go to the access logs bucket, delivered under a bucket policy (no ACL)', () => {
    expect(bucket().Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: id(stack.accessLogsBucket) },
      LogFilePrefix: 'exports-bucket/',
    });
    const delivery = bucketPolicy(id(stack.accessLogsBucket)).filter((s) => s.Effect === 'Allow');
    // Each logged bucket (exports, raw events, dashboard) delivers under its own prefix, from its own ARN only.
    expect(delivery).toEqual(
      (
        [
          [stack.exportsBucket, 'exports-bucket'],
          [stack.rawEventLog.bucket, 'raw-events-bucket'],
          [stack.dashboard.bucket, 'dashboard-bucket'],
        ] as const
      ).map(([source, prefix]) => ({
        Effect: 'Allow',
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.accessLogsBucket), 'Arn'] }, `/${prefix}/*`]] },
        Condition: {
          ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [id(source), 'Arn'] } },
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        },
      })),
    );
  });

  it('access logs expire after 90 days', () => {
    expect(accessLogs().Properties.LifecycleConfiguration.Rules).toContainEqual({
      Id: 'ExpireAccessLogs',
      Status: 'Enabled',
      ExpirationInDays: 90,
    });
  });

  it("the exports bucket policy allows nothing: access only through the functions' IAM roles", () => {
    expect(bucketPolicy(id(stack.exportsBucket)).filter((s) => s.Effect === 'Allow')).toEqual([]);
  });

  it('are exactly the four buckets (exports, access logs, raw events, dashboard)', () => {
    template.resourceCountIs('AWS::S3::Bucket', 4);
  });
});

describe('destination secrets key', () => {
  const keyArn = () => ({ 'Fn::GetAtt': [id(stack.destinationSecretsKey), 'Arn'] });
  const sealedOnly = { StringEquals: { 'kms:EncryptionContext:purpose': 'destination-secret' } };

  it("one customer-managed key with rotation, retained, no alias (besides the operator alarm topic's key)", () => {
    const keys = resourcesOfType('AWS::KMS::Key');
    expect(Object.keys(keys).sort()).toEqual(
      [id(stack.destinationSecretsKey), id(stack.operatorAlarms.topicKey)].sort(),
    );
    const key = keys[id(stack.destinationSecretsKey)];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.UpdateReplacePolicy).toBe('Retain');
    template.resourceCountIs('AWS::KMS::Alias', 0);
  });

  it('the key policy only delegates to IAM in this account (no service or other-account principal)', () => {
    const statementsOfKey =
      resourcesOfType('AWS::KMS::Key')[id(stack.destinationSecretsKey)].Properties.KeyPolicy.Statement;
    expect(statementsOfKey.map((s: any) => s.Principal)).toEqual([
      { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
    ]);
  });

  it('management API: encrypts (seals on save) and decrypts, only under the destination secrets context', () => {
    expect(serviceStatements(id(stack.apiFunction.role!), 'kms')).toEqual([
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt'], Resource: keyArn(), Condition: sealedOnly },
    ]);
  });

  it('run-export: only decrypts, only under the destination secrets context', () => {
    expect(serviceStatements(id(stack.runExportFunction.role!), 'kms')).toEqual([
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn(), Condition: sealedOnly },
    ]);
  });

  it("ingest, check-failures and the schedules' role have no key access", () => {
    expect(serviceStatements(id(stack.ingestFunction.role!), 'kms')).toEqual([]);
    expect(serviceStatements(id(stack.checkFailuresFunction.role!), 'kms')).toEqual([]);
    expect(serviceStatements(id(stack.schedulerRole), 'kms')).toEqual([]);
  });

  it('SECRETS_KEY_ID (the key ARN) is given to the management API and run-export only', () => {
    const functions = resourcesOfType('AWS::Lambda::Function');
    for (const fn of [stack.apiFunction, stack.runExportFunction]) {
      expect(functions[id(fn)].Properties.Environment.Variables.SECRETS_KEY_ID).toEqual(keyArn());
    }
    for (const fn of [stack.ingestFunction, stack.checkFailuresFunction]) {
      expect(functions[id(fn)].Properties.Environment.Variables.SECRETS_KEY_ID).toBeUndefined();
    }
  });
});

describe('config table: failing and unreconciled indexes', () => {
  const table = () => resourcesOfType('AWS::DynamoDB::Table')[id(stack.configTable)];

  it('sparse GSIs "failing" (all attributes), "unreconciled" and "transient" (keys only)', () => {
    expect(table().Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'failing',
        KeySchema: [
          { AttributeName: 'failingPk', KeyType: 'HASH' },
          { AttributeName: 'failingSince', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: 'unreconciled',
        KeySchema: [{ AttributeName: 'unreconciledPk', KeyType: 'HASH' }],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        IndexName: 'transient',
        KeySchema: [
          { AttributeName: 'transientPk', KeyType: 'HASH' },
          { AttributeName: 'transientSince', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ]);
    expect(table().Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'failingPk', AttributeType: 'S' },
        { AttributeName: 'failingSince', AttributeType: 'N' },
        { AttributeName: 'unreconciledPk', AttributeType: 'S' },
        { AttributeName: 'transientPk', AttributeType: 'S' },
        { AttributeName: 'transientSince', AttributeType: 'N' },
      ]),
    );
  });

  it('the usage table has no index', () => {
    expect(
      resourcesOfType('AWS::DynamoDB::Table')[id(stack.usageTable)].Properties.GlobalSecondaryIndexes,
    ).toBeUndefined();
  });

  it('only check-failures may query them, by name', () => {
    const indexArn = (name: string) => ({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.configTable), 'Arn'] }, `/index/${name}`]],
    });
    const users = Object.values(resourcesOfType('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).includes(`"${id(stack.configTable)}","Arn"]},"/index/`),
    );
    expect(users.map((p) => p.Properties.Roles)).toEqual([[{ Ref: id(stack.checkFailuresFunction.role!) }]]);
    expect(
      statements(id(stack.checkFailuresFunction.role!)).filter((st) => JSON.stringify(st.Resource).includes('/index/')),
    ).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: [indexArn('failing'), indexArn('transient'), indexArn('unreconciled')],
      },
    ]);
  });
});

describe('raw event log', () => {
  const streams = () => Object.entries(resourcesOfType('AWS::KinesisFirehose::DeliveryStream'));
  const destination = () => streams()[0][1].Properties.ExtendedS3DestinationConfiguration;
  const rawBucketPolicy = (): (Statement & { Condition?: unknown })[] =>
    Object.values(resourcesOfType('AWS::S3::BucketPolicy'))
      .filter((p) => p.Properties.Bucket.Ref === id(stack.rawEventLog.bucket))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);

  it('one direct-put Firehose stream, encrypted, no physical name', () => {
    expect(streams()).toHaveLength(1);
    const [logicalId, stream] = streams()[0];
    expect(logicalId).toBe(id(stack.rawEventLog.deliveryStream));
    expect(stream.Properties).toMatchObject({
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
    });
    expect(stream.Properties.DeliveryStreamName).toBeUndefined();
  });

  it('partitions by environment and receive hour (from the record, JQ), as raw/<envId>/<yyyy>/<mm>/<dd>/<hh>/', () => {
    expect(destination()).toMatchObject({
      BucketARN: { 'Fn::GetAtt': [id(stack.rawEventLog.bucket), 'Arn'] },
      Prefix:
        'raw/!{partitionKeyFromQuery:environmentId}/!{partitionKeyFromQuery:year}/!{partitionKeyFromQuery:month}/' +
        '!{partitionKeyFromQuery:day}/!{partitionKeyFromQuery:hour}/',
      DynamicPartitioningConfiguration: { Enabled: true },
    });
    const [processor] = destination().ProcessingConfiguration.Processors;
    expect(destination().ProcessingConfiguration.Enabled).toBe(true);
    expect(processor.Type).toBe('MetadataExtraction');
    const parameters = Object.fromEntries(
      processor.Parameters.map((p: { ParameterName: string; ParameterValue: string }) => [
        p.ParameterName,
        p.ParameterValue,
      ]),
    );
    expect(parameters.JsonParsingEngine).toBe('JQ-1.6');
    expect(parameters.MetadataExtractionQuery).toContain('environmentId: .environmentId');
    for (const [key, format] of [
      ['year', '%Y'],
      ['month', '%m'],
      ['day', '%d'],
      ['hour', '%H'],
    ]) {
      expect(parameters.MetadataExtractionQuery).toContain(
        `${key}: (.receivedAt / 1000 | floor | strftime("${format}"))`,
      );
    }
  });

  it('gzip JSON-lines objects (.jsonl.gz), buffered at most 5 minutes and 64-128 MiB, failures under errors/', () => {
    expect(destination()).toMatchObject({ CompressionFormat: 'GZIP', FileExtension: '.jsonl.gz' });
    expect(destination().BufferingHints.IntervalInSeconds).toBeLessThanOrEqual(300);
    expect(destination().BufferingHints.SizeInMBs).toBeGreaterThanOrEqual(64);
    expect(destination().BufferingHints.SizeInMBs).toBeLessThanOrEqual(128);
    expect(destination().ErrorOutputPrefix).toMatch(/^errors\/!\{firehose:error-output-type\}\//);
    expect(destination().CloudWatchLoggingOptions.Enabled).toBe(true);
  });

  it('raw-data bucket: private, SSE, TLS only, access logged, retained; raw/ to Intelligent-Tiering, errors/ expire', () => {
    const bucket = resourcesOfType('AWS::S3::Bucket')[id(stack.rawEventLog.bucket)];
    expect(bucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: id(stack.accessLogsBucket) } },
    });
    expect(bucket.Properties.BucketName).toBeUndefined();
    expect(bucket.DeletionPolicy).toBe('Retain');
    const rules = bucket.Properties.LifecycleConfiguration.Rules;
    expect(rules).toContainEqual(
      expect.objectContaining({
        Prefix: 'raw/',
        Transitions: [{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 30 }],
      }),
    );
    expect(rules).toContainEqual(expect.objectContaining({ Prefix: 'errors/', ExpirationInDays: 90 }));
    expect(
      rules.filter((r: { ExpirationInDays?: number; Prefix?: string }) => r.ExpirationInDays && r.Prefix !== 'errors/'),
    ).toEqual([]);
    expect(rawBucketPolicy().filter((s) => s.Effect === 'Allow')).toEqual([]);
    expect(rawBucketPolicy()).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it("Firehose's role: assumable by Firehose for this account only; writes the bucket's raw/ and errors/ objects and its log stream", () => {
    const roleId = id(stack.rawEventLog.deliveryRole);
    const role = resourcesOfType('AWS::IAM::Role')[roleId];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { Service: 'firehose.amazonaws.com' },
        Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    const bucketArn = { 'Fn::GetAtt': [id(stack.rawEventLog.bucket), 'Arn'] };
    expect(statements(roleId)).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        Resource: bucketArn,
      },
      {
        Effect: 'Allow',
        Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
        Resource: [rawObjectsArn('errors/*'), rawObjectsArn('raw/*')],
      },
      { Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: expect.anything() },
    ]);
  });

  it('ingest Lambda: PutRecordBatch on this stream only, its name in RAW_EVENTS_STREAM; no other role may write it', () => {
    const streamArn = { 'Fn::GetAtt': [id(stack.rawEventLog.deliveryStream), 'Arn'] };
    expect(serviceStatements(id(stack.ingestFunction.role!), 'firehose')).toEqual([
      { Effect: 'Allow', Action: 'firehose:PutRecordBatch', Resource: streamArn },
    ]);
    for (const fn of [stack.apiFunction, stack.runExportFunction, stack.checkFailuresFunction]) {
      expect(serviceStatements(id(fn.role!), 'firehose')).toEqual([]);
    }
    const variables =
      resourcesOfType('AWS::Lambda::Function')[id(stack.ingestFunction)].Properties.Environment.Variables;
    expect(variables.RAW_EVENTS_STREAM).toEqual({ Ref: id(stack.rawEventLog.deliveryStream) });
  });

  it('outputs the raw-data bucket and the stream', () => {
    const outputs = template.findOutputs('*');
    expect(outputs.RawEventsBucketName.Value).toEqual({ Ref: id(stack.rawEventLog.bucket) });
    expect(outputs.RawEventsStreamName.Value).toEqual({ Ref: id(stack.rawEventLog.deliveryStream) });
  });
});
