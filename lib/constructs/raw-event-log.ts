import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Grant, IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { LogGroup, LogStream, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  IBucket,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Key prefix of the log's objects: `raw/<envId>/<yyyy>/<mm>/<dd>/<hh>/<name>.jsonl.gz`. */
export const RAW_EVENTS_PREFIX = 'raw/';
/** Key prefix of the records Firehose could not deliver or partition. */
export const RAW_EVENTS_ERRORS_PREFIX = 'errors/';
/** The receive hour of a record, from its own `receivedAt` (epoch ms), in UTC: the partition agrees with the record. */
const receivedAtPart = (format: string) => `(.receivedAt / 1000 | floor | strftime("${format}"))`;
/**
 * JQ 1.6 query of Firehose's inline metadata extraction: the partition keys of a record. The hour comes
 * from the record (the time the ingest Lambda accepted it) rather than Firehose's arrival time, so a
 * record received at 10:59:59.999 is in hour 10 however late it reaches Firehose, and a reader of a
 * window needs only the window's hours.
 */
export const PARTITION_QUERY =
  `{environmentId: .environmentId, year: ${receivedAtPart('%Y')}, month: ${receivedAtPart('%m')}, ` +
  `day: ${receivedAtPart('%d')}, hour: ${receivedAtPart('%H')}}`;

export interface RawEventLogProps {
  /** Where the raw-data bucket's server access logs go. */
  readonly accessLogsBucket: IBucket;
  /**
   * How long Firehose buffers a partition's records before writing an object (60 s to 5 minutes here):
   * the log's delay. Longer means fewer, larger objects. @default 5 minutes
   */
  readonly bufferingInterval?: Duration;
  /** Objects' size before compression at which Firehose writes earlier (64-128 MiB with dynamic partitioning). @default 128 */
  readonly bufferingSizeMiB?: number;
  /** When objects move to S3 Intelligent-Tiering (read mostly when recent). @default 30 days */
  readonly intelligentTieringAfter?: Duration;
}

/**
 * The raw event log on AWS: one Amazon Data Firehose stream (direct put) writing gzip JSON-lines objects
 * into a private raw-data bucket, partitioned by environment and receive hour (dynamic partitioning with
 * JQ metadata extraction), named `<stream>-<version>-<yyyy>-<mm>-<dd>-<hh>-<mm>-<ss>-<uuid>.jsonl.gz`.
 * Records that cannot be delivered go under `errors/`. Writers are granted `firehose:PutRecordBatch`
 * on this stream only ({@link grantPutRecords}).
 */
export class RawEventLog extends Construct {
  /** The raw-data bucket: `raw/` holds the log, `errors/` what Firehose could not deliver. */
  public readonly bucket: Bucket;
  public readonly deliveryStream: CfnDeliveryStream;
  /** Firehose's role: writes the bucket's objects and its own error logs, nothing else. */
  public readonly deliveryRole: Role;
  /** Delivery errors of the stream (CloudWatch Logs). */
  public readonly deliveryLogGroup: LogGroup;

  constructor(scope: Construct, id: string, props: RawEventLogProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const intervalSeconds = (props.bufferingInterval ?? Duration.minutes(5)).toSeconds();
    const sizeMiB = props.bufferingSizeMiB ?? 128;
    if (intervalSeconds < 60 || intervalSeconds > 300)
      throw new Error('bufferingInterval must be 60 seconds to 5 minutes.');
    if (sizeMiB < 64 || sizeMiB > 128) throw new Error('bufferingSizeMiB must be 64-128 (dynamic partitioning).');

    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Objects are written once and never replaced: versions would only add cost.
      versioned: false,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'raw-events-bucket/',
      lifecycleRules: [
        // The log is the source of every raw and event export: kept, but cheaper once rarely read.
        {
          id: 'RawEventsToIntelligentTiering',
          prefix: RAW_EVENTS_PREFIX,
          transitions: [
            {
              storageClass: StorageClass.INTELLIGENT_TIERING,
              transitionAfter: props.intelligentTieringAfter ?? Duration.days(30),
            },
          ],
        },
        { id: 'ExpireDeliveryErrors', prefix: RAW_EVENTS_ERRORS_PREFIX, expiration: Duration.days(90) },
        { id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      // The only copy of every event ever received.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.deliveryLogGroup = new LogGroup(this, 'DeliveryLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const deliveryLogStream = new LogStream(this, 'DeliveryLogStream', {
      logGroup: this.deliveryLogGroup,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.deliveryRole = new Role(this, 'DeliveryRole', {
      description: 'Amazon Data Firehose role of the raw event log: writes the raw-data bucket',
      // Confused deputy: Firehose assumes it only for this account (AWS's recommended external id).
      assumedBy: new ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'sts:ExternalId': stack.account } },
      }),
    });
    // What Firehose's S3 destination needs (AWS documentation), on this bucket only.
    this.deliveryRole.addToPolicy(
      new PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [this.bucket.bucketArn],
      }),
    );
    this.deliveryRole.addToPolicy(
      new PolicyStatement({
        actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
        resources: [
          this.bucket.arnForObjects(`${RAW_EVENTS_PREFIX}*`),
          this.bucket.arnForObjects(`${RAW_EVENTS_ERRORS_PREFIX}*`),
        ],
      }),
    );
    this.deliveryRole.addToPolicy(
      new PolicyStatement({
        actions: ['logs:PutLogEvents'],
        resources: [logStreamArn(this.deliveryLogGroup, deliveryLogStream)],
      }),
    );

    this.deliveryStream = new CfnDeliveryStream(this, 'DeliveryStream', {
      deliveryStreamType: 'DirectPut',
      // Records at rest inside Firehose (its buffers) are encrypted too.
      deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
      extendedS3DestinationConfiguration: {
        bucketArn: this.bucket.bucketArn,
        roleArn: this.deliveryRole.roleArn,
        prefix:
          `${RAW_EVENTS_PREFIX}!{partitionKeyFromQuery:environmentId}/!{partitionKeyFromQuery:year}/` +
          '!{partitionKeyFromQuery:month}/!{partitionKeyFromQuery:day}/!{partitionKeyFromQuery:hour}/',
        errorOutputPrefix: `${RAW_EVENTS_ERRORS_PREFIX}!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/`,
        // Each record already ends with a newline: objects are JSON lines as they are.
        compressionFormat: 'GZIP',
        fileExtension: '.jsonl.gz',
        bufferingHints: { intervalInSeconds: intervalSeconds, sizeInMBs: sizeMiB },
        dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              type: 'MetadataExtraction',
              parameters: [
                { parameterName: 'MetadataExtractionQuery', parameterValue: PARTITION_QUERY },
                { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
              ],
            },
          ],
        },
        // The bucket's default encryption (SSE-S3) applies to the objects.
        encryptionConfiguration: { noEncryptionConfig: 'NoEncryption' },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: this.deliveryLogGroup.logGroupName,
          logStreamName: deliveryLogStream.logStreamName,
        },
      },
    });
    // Firehose checks its access when the stream is created: the role's policy must exist first.
    this.deliveryStream.node.addDependency(this.deliveryRole);
  }

  /** The stream's name (`RAW_EVENTS_STREAM` of the writers). */
  public get streamName(): string {
    return this.deliveryStream.ref;
  }

  public get streamArn(): string {
    return this.deliveryStream.attrArn;
  }

  /**
   * Lets `grantee` read the log: list the bucket under `raw/` (the hour prefixes) and get the objects
   * there. No write, no delete, nothing under `errors/`.
   */
  public grantReadLog(grantee: IGrantable): void {
    Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject'],
      resourceArns: [this.bucket.arnForObjects(`${RAW_EVENTS_PREFIX}*`)],
    });
    this.grantListLog(grantee);
  }

  /** Lets `grantee` list the log's objects (the hour prefixes under `raw/`), not read them. */
  public grantListLog(grantee: IGrantable): void {
    Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${RAW_EVENTS_PREFIX}*`] } },
    });
  }

  /** Lets `grantee` append records: `firehose:PutRecordBatch` on this stream, nothing else. */
  public grantPutRecords(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['firehose:PutRecordBatch'], resourceArns: [this.streamArn] });
  }
}

function logStreamArn(logGroup: LogGroup, logStream: LogStream): string {
  return Stack.of(logGroup).formatArn({
    service: 'logs',
    resource: 'log-group',
    resourceName: `${logGroup.logGroupName}:log-stream:${logStream.logStreamName}`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
