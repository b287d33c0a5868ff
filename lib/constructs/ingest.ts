import { Duration } from 'aws-cdk-lib';
import { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ENV } from '../../contracts/function-environment';
import { RawEventLog } from './raw-event-log';
import { ServiceFunction } from './service-function';
import { ServiceFunctionFactory, tableItems } from './service-functions';

export interface IngestProps {
  readonly newFunction: ServiceFunctionFactory;
  /** Read: environments and their ingest keys. */
  readonly configTable: Table;
  /** Written: companies, users, usage, the event catalog. */
  readonly usageTable: Table;
  /** Written (one UpdateItem per user item): the latest attributes per user. */
  readonly profilesTable: Table;
  /** Appended to: every accepted item. */
  readonly rawEventLog: RawEventLog;
}

/** Tracking ingest (`/ingest/...`): the function and what it may write. */
export class Ingest extends Construct {
  public readonly ingestFunction: ServiceFunction;

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);
    // A 1,000-item bulk is a few thousand conditional writes.
    this.ingestFunction = props.newFunction(this, 'IngestFunction', {
      entryFile: 'ingest.ts',
      description: 'Tracking data ingest (Bucket-compatible HTTP API)',
      timeout: Duration.seconds(29),
      environment: {
        [ENV.RAW_EVENTS_STREAM]: props.rawEventLog.streamName,
        [ENV.PROFILES_TABLE]: props.profilesTable.tableName,
      },
    });
    tableItems(props.configTable).readData(this.ingestFunction);
    tableItems(props.usageTable).readWriteData(this.ingestFunction);
    props.rawEventLog.grantPutRecords(this.ingestFunction);
    // Ingest updates profiles and nothing else of that table.
    Grant.addToPrincipal({
      grantee: this.ingestFunction,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [props.profilesTable.tableArn],
    });
  }
}
