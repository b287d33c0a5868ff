/**
 * Named destinations and export jobs in the config table:
 *
 *   ENV#<envId>  DESTINATION#<id>           a destination (its secret sealed), with its `version`
 *   ENV#<envId>  EXPORTJOB#<id>             an export job, with its `version`
 *   ENV#<envId>  JOBRUN#<jobId>#<runId>     one run of a job (run ids sort in run order)
 *
 * Every change is a conditional single-item write on the version it was based on (dynalite has no
 * transactions).
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, paginateQuery, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DestinationStore, ExportJob, ExportJobRun, ExportJobStore, NamedDestination } from '../../ports';
import { ignoringConditionFailure } from './expressions';

interface StoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

const DESTINATION_PREFIX = 'DESTINATION#';
const JOB_PREFIX = 'EXPORTJOB#';
const RUN_PREFIX = 'JOBRUN#';
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

export class DynamoDbExportJobStore extends VersionedItems<ExportJob> implements ExportJobStore {
  constructor(options: StoreOptions) {
    super(options, JOB_PREFIX);
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
