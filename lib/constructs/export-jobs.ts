import { Duration } from 'aws-cdk-lib';
import { Table } from 'aws-cdk-lib/aws-dynamodb';
import { ArnPrincipal, CompositePrincipal, Grant, Role } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ENV } from '../../contracts/function-environment';
import { RawEventLog } from './raw-event-log';
import { ServiceFunction } from './service-function';
import { grantQueryIndexes, keepLogicalId } from './service-functions';

export interface ExportJobsProps {
  /** Manages destinations and jobs; probes bucket-policy destinations on save. */
  readonly api: ServiceFunction;
  /** Runs the jobs' runs (one-time: dispatched by the API; recurring: fired by their schedules). */
  readonly runExport: ServiceFunction;
  /** Read by event jobs' runs. */
  readonly rawEventLog: RawEventLog;
  /** Read by profile jobs' runs: every profile, or those changed since the last run (by index). */
  readonly profilesTable: Table;
  /** The profiles table's index by time of change. */
  readonly profilesUpdatedIndexName: string;
}

/**
 * Export jobs (events and profiles into customers' buckets): what run-export reads for their runs, and
 * the service's export role that bucket-policy destinations grant writes to. Job records, destinations
 * and their secrets, and the jobs' schedules are the config table's, the key's and
 * {@link ExportSchedules}' (granted with the other exports).
 */
export class ExportJobs extends Construct {
  /**
   * The role customers' bucket policies grant s3:PutObject (bucket-policy destinations). Its own policy
   * grants nothing: what it may write is what each customer's bucket policy allows.
   */
  public readonly exportRole: Role;
  /** Functions that read the raw event log: run-export. */
  public readonly rawEventLogReaders: ServiceFunction[];

  constructor(scope: Construct, id: string, props: ExportJobsProps) {
    super(scope, id);
    const { api, runExport } = props;
    // One role for the customers' bucket policies to name, whichever function writes: the API assumes
    // it for the zero-byte probe write that validates a destination on save, run-export for the runs.
    // (Naming run-export's own role would leave the API unable to probe, and would grant the customer's
    // bucket to a role that also holds the service's data.) It is trusted by those two roles only.
    this.exportRole = new Role(this, 'ExportRole', {
      description: 'Writes into customer buckets whose bucket policy grants it s3:PutObject; no permissions of its own',
      assumedBy: new CompositePrincipal(new ArnPrincipal(api.role!.roleArn), new ArnPrincipal(runExport.role!.roleArn)),
      maxSessionDuration: Duration.hours(1),
    });
    // Customers' bucket policies name this role's ARN: a replaced role would lose every one of them.
    keepLogicalId(this.exportRole, 'ExportRoleB9ACA3CD');
    for (const fn of [api, runExport]) {
      Grant.addToPrincipal({ grantee: fn, actions: ['sts:AssumeRole'], resourceArns: [this.exportRole.roleArn] });
      fn.addEnvironment(ENV.EXPORT_ROLE_ARN, this.exportRole.roleArn);
    }

    // Event jobs and the raw revisions export read the raw event log: its objects under raw/, listed by
    // hour prefix. The API only lists it: the raw export's status counts the revisions.
    runExport.addEnvironment(ENV.RAW_EVENTS_BUCKET, props.rawEventLog.bucket.bucketName);
    props.rawEventLog.grantReadLog(runExport);
    this.rawEventLogReaders = [runExport];
    api.addEnvironment(ENV.RAW_EVENTS_BUCKET, props.rawEventLog.bucket.bucketName);
    props.rawEventLog.grantListLog(api);
    // Profile jobs query the profiles by shard (every profile) or by time of change (the index): Query only.
    runExport.addEnvironment(ENV.PROFILES_TABLE, props.profilesTable.tableName);
    Grant.addToPrincipal({
      grantee: runExport,
      actions: ['dynamodb:Query'],
      resourceArns: [props.profilesTable.tableArn],
    });
    grantQueryIndexes(runExport, props.profilesTable, [props.profilesUpdatedIndexName]);
  }
}
