/**
 * Manual export jobs in the config table: `ENV#<envId>` / `MANUAL#<jobId>`. State changes are
 * conditional single-item writes, so duplicate deliveries of a job cannot run it twice.
 *
 * The environment's export slots are items `ENV#<envId>` / `MANUAL_SLOT#<n>` holding `{jobId,
 * leaseUntil}`: taken by a conditional put (absent, or lease ended), freed by a delete conditional on
 * the holder, so concurrent starts never hold more slots than there are.
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { ManualExportJob, ManualExportOutcome, ManualExportStore } from '../../ports';
import { ignoringConditionFailure, setFields } from './expressions';

const jobKey = (environmentId: string, id: string) => ({ pk: `ENV#${environmentId}`, sk: `MANUAL#${id}` });
const slotKey = (environmentId: string, slot: number) => ({ pk: `ENV#${environmentId}`, sk: `MANUAL_SLOT#${slot}` });

/** Finished jobs are removed by the table's TTL after this long (their files expire before that). */
const JOB_RETENTION_SECONDS = 30 * 24 * 3600;

export class DynamoDbManualExportStore implements ManualExportStore {
  constructor(private readonly options: { client: DynamoDBDocumentClient; tableName: string }) {}

  async create(job: ManualExportJob): Promise<void> {
    await this.options.client.send(
      new PutCommand({
        TableName: this.options.tableName,
        Item: {
          ...jobKey(job.environmentId, job.id),
          ...job,
          expiresAt: Math.floor(job.requestedAt / 1000) + JOB_RETENTION_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(environmentId: string, id: string): Promise<ManualExportJob | undefined> {
    const { Item } = await this.options.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: jobKey(environmentId, id), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const { pk: _pk, sk: _sk, expiresAt: _expiresAt, ...job } = Item;
    return job as ManualExportJob;
  }

  async claim(
    environmentId: string,
    id: string,
    { claimId, at, deadlineAt }: { claimId: string; at: number; deadlineAt: number },
  ): Promise<boolean> {
    const claimed = await ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: jobKey(environmentId, id),
          UpdateExpression: 'SET #status = :running, startedAt = :at, deadlineAt = :deadlineAt, claimId = :claimId',
          // A running claim past its deadline was lost (its worker records its own failure before then).
          ConditionExpression: '#status = :pending OR (#status = :running AND deadlineAt < :at)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':pending': 'pending',
            ':at': at,
            ':deadlineAt': deadlineAt,
            ':claimId': claimId,
          },
        }),
      ),
    );
    if (claimed) return true;
    // The SDK retries a write whose answer was lost: the retry then fails on this very claim.
    const stored = await this.get(environmentId, id);
    return stored?.status === 'running' && stored.claimId === claimId;
  }

  async finish(environmentId: string, id: string, outcome: ManualExportOutcome, claimId?: string): Promise<boolean> {
    const update = setFields(outcome);
    return ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: jobKey(environmentId, id),
          ...update,
          ...(claimId === undefined
            ? { ConditionExpression: 'attribute_exists(pk)' }
            : {
                ConditionExpression: 'claimId = :claimId',
                ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ':claimId': claimId },
              }),
        }),
      ),
    );
  }

  async acquireSlot(
    environmentId: string,
    jobId: string,
    slots: number,
    at: number,
    leaseUntil: number,
  ): Promise<number | undefined> {
    for (let slot = 0; slot < slots; slot++) {
      const taken = await ignoringConditionFailure(
        this.options.client.send(
          new PutCommand({
            TableName: this.options.tableName,
            Item: { ...slotKey(environmentId, slot), jobId, leaseUntil },
            ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil <= :at',
            ExpressionAttributeValues: { ':at': at },
          }),
        ),
      );
      if (taken) return slot;
    }
    return undefined;
  }

  async releaseSlot(environmentId: string, slot: number, jobId: string): Promise<void> {
    await ignoringConditionFailure(
      this.options.client.send(
        new DeleteCommand({
          TableName: this.options.tableName,
          Key: slotKey(environmentId, slot),
          ConditionExpression: 'jobId = :jobId',
          ExpressionAttributeValues: { ':jobId': jobId },
        }),
      ),
    );
  }
}
