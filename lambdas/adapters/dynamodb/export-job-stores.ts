/**
 * Named destinations and export jobs in the config table:
 *
 *   ENV#<envId>  DESTINATION#<id>           a destination (its secret sealed), with its `version`
 *   ENV#<envId>  EXPORTJOB#<id>             an export job, with its `version`
 *   ENV#<envId>  JOBRUN#<jobId>#<runId>     one run of a job (run ids sort in run order)
 *   ENV#<envId>  JOBSTATUS#<jobId>          the job's failure sequence, apart from the job so that its
 *                                           versioned writes never touch it; `failingPk` (FAILINGJOB)
 *                                           only while failing, in the sparse `failing` index that the
 *                                           hourly check reads (the automatic export's items use FAILING)
 *
 * Every change is a conditional single-item write on the version it was based on (dynalite has no
 * transactions).
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  paginateQuery,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type {
  DestinationStore,
  ExportJob,
  ExportJobRun,
  ExportJobStore,
  FailingJobRecord,
  FailingJobsStore,
  JobRunFailureOutcome,
  NamedDestination,
} from '../../ports';
import { FAILING_INDEX, queryIndex } from './automatic-export-stores';
import { ignoringConditionFailure } from './expressions';

interface StoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

const DESTINATION_PREFIX = 'DESTINATION#';
const JOB_PREFIX = 'EXPORTJOB#';
const RUN_PREFIX = 'JOBRUN#';
const STATUS_PREFIX = 'JOBSTATUS#';
export const FAILING_JOB_PARTITION = 'FAILINGJOB';
const partition = (environmentId: string) => `ENV#${environmentId}`;

/** Job runs are kept for a little over a year (the table's TTL removes them). */
const RUN_RETENTION_SECONDS = 400 * 24 * 3600;

function withoutKeys<T>(item: Record<string, unknown>, ...extra: string[]): T {
  const copy = { ...item };
  for (const name of ['pk', 'sk', ...extra]) delete copy[name];
  return copy as T;
}

/** Versioned items of one kind (destinations, jobs) under the environment's partition. */
abstract class VersionedItems<T extends { environmentId: string; id: string; version: number }> {
  constructor(
    protected readonly options: StoreOptions,
    private readonly prefix: string,
  ) {}

  key(environmentId: string, id: string) {
    return { pk: partition(environmentId), sk: `${this.prefix}${id}` };
  }

  create(item: T): Promise<boolean> {
    return ignoringConditionFailure(
      this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { ...this.key(item.environmentId, item.id), ...item },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async get(environmentId: string, id: string): Promise<T | undefined> {
    const { Item } = await this.options.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: this.key(environmentId, id), ConsistentRead: true }),
    );
    return Item && withoutKeys<T>(Item);
  }

  async list(environmentId: string): Promise<T[]> {
    const items: T[] = [];
    const pages = paginateQuery(
      { client: this.options.client },
      {
        TableName: this.options.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': partition(environmentId), ':prefix': this.prefix },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []).map((item) => withoutKeys<T>(item)));
    return items;
  }

  put(item: T, expectedVersion: number): Promise<boolean> {
    return ignoringConditionFailure(
      this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { ...this.key(item.environmentId, item.id), ...item },
          ConditionExpression: 'version = :expected',
          ExpressionAttributeValues: { ':expected': expectedVersion },
        }),
      ),
    );
  }

  delete(environmentId: string, id: string, expectedVersion: number): Promise<boolean> {
    return ignoringConditionFailure(
      this.options.client.send(
        new DeleteCommand({
          TableName: this.options.tableName,
          Key: this.key(environmentId, id),
          ConditionExpression: 'version = :expected',
          ExpressionAttributeValues: { ':expected': expectedVersion },
        }),
      ),
    );
  }
}

export class DynamoDbDestinationStore extends VersionedItems<NamedDestination> implements DestinationStore {
  constructor(options: StoreOptions) {
    super(options, DESTINATION_PREFIX);
  }
}

export class DynamoDbExportJobStore extends VersionedItems<ExportJob> implements ExportJobStore, FailingJobsStore {
  constructor(options: StoreOptions) {
    super(options, JOB_PREFIX);
  }

  private statusKey(environmentId: string, jobId: string) {
    return { pk: partition(environmentId), sk: `${STATUS_PREFIX}${jobId}` };
  }

  async recordRunOutcome(environmentId: string, jobId: string, outcome: JobRunFailureOutcome): Promise<void> {
    // Transient and internal failures neither start nor end a customer's failure sequence.
    if (outcome.status === 'failed' && outcome.failureClass !== 'customer') return;
    const values: Record<string, unknown> = {
      ':environmentId': environmentId,
      ':jobId': jobId,
      ':runId': outcome.runId,
    };
    let update = 'SET environmentId = :environmentId, jobId = :jobId, lastOutcomeRunId = :runId';
    if (outcome.status === 'successful') {
      update += ' REMOVE failingSince, failingErrorCode, failingPk, emailsSent';
    } else {
      Object.assign(values, {
        ':failingSince': outcome.finishedAt,
        ':code': outcome.errorCode,
        ':failing': FAILING_JOB_PARTITION,
      });
      update +=
        ', failingSince = if_not_exists(failingSince, :failingSince), failingErrorCode = :code, failingPk = :failing';
    }
    // A slow run finishing after a later one must not undo the later outcome.
    await ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.statusKey(environmentId, jobId),
          UpdateExpression: update,
          ConditionExpression: 'attribute_not_exists(lastOutcomeRunId) OR lastOutcomeRunId <= :runId',
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async *listFailingJobs(): AsyncIterable<FailingJobRecord> {
    for await (const item of queryIndex(this.options, FAILING_INDEX, 'failingPk = :failing', {
      ':failing': FAILING_JOB_PARTITION,
    })) {
      yield {
        environmentId: item.environmentId as string,
        jobId: item.jobId as string,
        failingSince: item.failingSince as number,
        failingErrorCode: item.failingErrorCode as string,
        emailsSent: [...((item.emailsSent as Set<number> | undefined) ?? [])].sort((a, b) => a - b),
      };
    }
  }

  claimJobEmail(environmentId: string, jobId: string, failingSince: number, emailNumber: number): Promise<boolean> {
    return ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.statusKey(environmentId, jobId),
          UpdateExpression: 'ADD emailsSent :email',
          ConditionExpression:
            'failingSince = :failingSince AND attribute_exists(failingPk) AND (attribute_not_exists(emailsSent) OR NOT contains(emailsSent, :number))',
          ExpressionAttributeValues: {
            ':email': new Set([emailNumber]),
            ':number': emailNumber,
            ':failingSince': failingSince,
          },
        }),
      ),
    );
  }

  async releaseJobEmail(
    environmentId: string,
    jobId: string,
    failingSince: number,
    emailNumber: number,
  ): Promise<void> {
    await ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.statusKey(environmentId, jobId),
          UpdateExpression: 'DELETE emailsSent :email',
          ConditionExpression: 'failingSince = :failingSince',
          ExpressionAttributeValues: { ':email': new Set([emailNumber]), ':failingSince': failingSince },
        }),
      ),
    );
  }

  async endJobSequence(environmentId: string, jobId: string, failingSince: number): Promise<void> {
    await ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.statusKey(environmentId, jobId),
          UpdateExpression: 'REMOVE failingSince, failingErrorCode, failingPk, emailsSent',
          ConditionExpression: 'failingSince = :failingSince',
          ExpressionAttributeValues: { ':failingSince': failingSince },
        }),
      ),
    );
  }

  async recordRun(environmentId: string, jobId: string, run: ExportJobRun): Promise<void> {
    await this.options.client.send(
      new PutCommand({
        TableName: this.options.tableName,
        Item: {
          pk: partition(environmentId),
          sk: `${RUN_PREFIX}${jobId}#${run.runId}`,
          ...run,
          expiresAt: Math.floor(run.startedAt / 1000) + RUN_RETENTION_SECONDS,
        },
      }),
    );
    // Only ever raised, and not a change of the job's settings: its version stays.
    await ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(environmentId, jobId),
          UpdateExpression: 'SET lastRunAt = :startedAt',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(lastRunAt) OR lastRunAt < :startedAt)',
          ExpressionAttributeValues: { ':startedAt': run.startedAt },
        }),
      ),
    );
  }

  async listRuns(environmentId: string, jobId: string, limit: number): Promise<ExportJobRun[]> {
    const { Items = [] } = await this.options.client.send(
      new QueryCommand({
        TableName: this.options.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': partition(environmentId), ':prefix': `${RUN_PREFIX}${jobId}#` },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return Items.map((item) => withoutKeys<ExportJobRun>(item, 'expiresAt'));
  }
}
