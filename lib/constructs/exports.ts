import { Duration } from 'aws-cdk-lib';
import { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { IKey } from 'aws-cdk-lib/aws-kms';
import { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../contracts/function-environment';
import { ServiceFunction } from './service-function';
import { grantDestinationSecrets, keepLogicalId, ServiceFunctionFactory, tableItems } from './service-functions';

export interface ExportsProps {
  readonly newFunction: ServiceFunctionFactory;
  readonly configTable: Table;
  readonly usageTable: Table;
  /** The service-owned bucket of the manual export files. */
  readonly exportsBucket: IBucket;
  /** Key prefix of the manual export files in {@link exportsBucket}, e.g. `manual/`. */
  readonly manualExportsPrefix: string;
  /** Seals the customers' secret access keys: run-export unseals them. */
  readonly destinationSecretsKey: IKey;
  /** Reserved concurrency of run-export (a positive integer). */
  readonly reservedConcurrency: number;
  /** The management API: starts manual exports and signs their download links. */
  readonly api: ServiceFunction;
  /** Lifetime of a pre-signed download URL. */
  readonly downloadLinkLifetime: Duration;
}

/**
 * The run-export function (manual exports into the exports bucket, scheduled exports and export jobs
 * into customer buckets) and what the API needs to start manual exports and hand out their files.
 */
export class Exports extends Construct {
  /** Runs exports: asynchronous invocations from the API, and the schedules'. */
  public readonly runExportFunction: ServiceFunction;
  /** Asynchronous run-export invocations that still failed after Lambda's retries, or got too old. */
  public readonly runExportDeadLetterQueue: Queue;
  /** Functions with object access under the manual exports prefix (API: read; run-export: write). */
  public readonly manualExportObjectUsers: ServiceFunction[];

  constructor(scope: Construct, id: string, props: ExportsProps) {
    super(scope, id);
    const { api, exportsBucket } = props;
    const manualObjects = exportsBucket.arnForObjects(`${props.manualExportsPrefix}*`);
    this.runExportDeadLetterQueue = new Queue(this, 'RunExportDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.runExportFunction = props.newFunction(this, 'RunExportFunction', {
      entryFile: 'run-export.ts',
      description:
        'Runs exports: manual exports into the exports bucket; scheduled exports and export jobs into customer buckets',
      // An export is CPU-bound on one thread (reading, rows, encoding): 1,769 MB is one full vCPU, and
      // the export finishes in proportion sooner, for the same GB-seconds as less memory.
      memorySize: 1769,
      timeout: Duration.minutes(15),
      environment: {
        [ENV.EXPORTS_BUCKET]: exportsBucket.bucketName,
        [ENV.SECRETS_KEY_ID]: props.destinationSecretsKey.keyArn,
      },
      // Scheduled exports write into customers' buckets (AWS, GCS, R2, ...) over the internet: no VPC.
      // A job record is claimed with a conditional write, so a redelivered event never runs it twice.
      retryAttempts: 2,
      // Also how long a throttled invocation waits for a free execution; a manual export's slot lease
      // (lambdas/core/manual-export.ts) counts on a job starting within this hour or never.
      maxEventAge: Duration.hours(1),
      reservedConcurrentExecutions: props.reservedConcurrency,
      deadLetterQueue: this.runExportDeadLetterQueue,
    });
    // The schedules created at run time target this function by ARN (its name derives from the id).
    keepLogicalId(this.runExportFunction, 'RunExportFunction52B97AA8');
    tableItems(props.configTable).readWriteData(this.runExportFunction);
    tableItems(props.usageTable).readData(this.runExportFunction);
    // Streams each file as a multipart upload (lib-storage): Create/UploadPart/Complete are s3:PutObject;
    // a failed upload is aborted. No read, list or delete (files expire by the lifecycle rule).
    Grant.addToPrincipal({
      grantee: this.runExportFunction,
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resourceArns: [manualObjects],
    });
    // Destinations' secrets: run-export only unseals.
    grantDestinationSecrets(props.destinationSecretsKey, this.runExportFunction, 'kms:Decrypt');

    api.addEnvironment(ENV.EXPORTS_BUCKET, exportsBucket.bucketName);
    api.addEnvironment(ENV.EXPORT_FUNCTION_NAME, this.runExportFunction.functionName);
    api.addEnvironment(ENV.DOWNLOAD_LINK_SECONDS, String(props.downloadLinkLifetime.toSeconds()));
    // Asynchronous invocation (InvocationType Event) of the unqualified function only: manual exports
    // and one-time export jobs' runs.
    this.runExportFunction.grantInvokeLatestVersion(api);
    // Pre-signed download URLs are signed with the API's role: S3 checks its s3:GetObject when used.
    Grant.addToPrincipal({ grantee: api, actions: ['s3:GetObject'], resourceArns: [manualObjects] });
    this.manualExportObjectUsers = [api, this.runExportFunction];
  }
}
