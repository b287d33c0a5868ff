/**
 * What the raw revisions export needs on AWS besides run-export and the API themselves: run-export
 * copies the raw event log's objects into revisions (it may list and read under `raw/`), the API counts
 * them for the status (it may only list under `raw/`); both get the bucket's name as `RAW_EVENTS_BUCKET`.
 * Runs are started by one EventBridge Scheduler schedule per environment (`raw-<envId>`, created by the
 * API in the service's schedule group, which its schedule grants already cover).
 */
import { Grant } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { RAW_EVENTS_PREFIX, type RawEventLog } from './raw-event-log';
import type { ServiceFunction } from './service-function';

/** The environment variable naming the raw-data bucket (read by lambdas/adapters/aws-wiring.ts). */
export const RAW_EVENTS_BUCKET_VARIABLE = 'RAW_EVENTS_BUCKET';

export interface RawRevisionsExportProps {
  readonly rawEventLog: RawEventLog;
  /** Read the log's objects: run-export (the runs). */
  readonly readers: readonly ServiceFunction[];
  /** Only list them: the API (the status counts the revisions). */
  readonly listers: readonly ServiceFunction[];
}

export class RawRevisionsExport extends Construct {
  constructor(scope: Construct, id: string, props: RawRevisionsExportProps) {
    super(scope, id);
    const bucket = props.rawEventLog.bucket;
    const objects = bucket.arnForObjects(`${RAW_EVENTS_PREFIX}*`);
    for (const fn of [...props.readers, ...props.listers]) {
      fn.addEnvironment(RAW_EVENTS_BUCKET_VARIABLE, bucket.bucketName);
      Grant.addToPrincipal({
        grantee: fn,
        actions: ['s3:ListBucket'],
        resourceArns: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${RAW_EVENTS_PREFIX}*`] } },
      });
    }
    // Object names are Firehose's, made at delivery: the wildcard is acknowledged in lib/nag-acknowledgements.ts.
    for (const reader of props.readers) {
      Grant.addToPrincipal({ grantee: reader, actions: ['s3:GetObject'], resourceArns: [objects] });
    }
  }
}
