/**
 * The raw revisions export in the config table:
 *
 *   ENV#<envId>  RAWEXPORT#SETTINGS       {enabled, destinationId, notifyEmails}, with its `version`
 *   ENV#<envId>  RAWEXPORT#PROGRESS       the high-water mark (exportedRevisions, lastObjectKey), the
 *                                         run lease (leaseId, leaseUntil), the last run, and while
 *                                         failing `failingPk` = RAWEXPORT_FAILING (the `failing` index
 *                                         the hourly check reads, beside the automatic exports')
 *   ENV#<envId>  RAWREVISION#<n, 10 digits>  one exported revision (index.csv's lines)
 *
 * Every change is a conditional single-item write: the mark moves from n - 1 to n only under the
 * run's lease, so two runs never number the same revision.
 */
import {
  GetCommand,
  PutCommand,
  UpdateCommand,
  paginateQuery,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type {
  ExportedRevision,
  RawExportProgress,
  RawExportSettings,
  RawExportStore,
  RawRunOutcome,
} from '../../ports';
import { DynamoDbFailingExportsStore } from './automatic-export-stores';
import { ignoringConditionFailure } from './expressions';

interface StoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

const SETTINGS_SK = 'RAWEXPORT#SETTINGS';
export const RAW_EXPORT_PROGRESS_SK = 'RAWEXPORT#PROGRESS';
export const RAW_EXPORT_FAILING_PARTITION = 'RAWEXPORT_FAILING';
const REVISION_PREFIX = 'RAWREVISION#';
const partition = (environmentId: string) => `ENV#${environmentId}`;
const settingsKey = (environmentId: string) => ({ pk: partition(environmentId), sk: SETTINGS_SK });
const progressKey = (environmentId: string) => ({ pk: partition(environmentId), sk: RAW_EXPORT_PROGRESS_SK });
/** Zero-padded so the revisions sort by number. */
const revisionKey = (environmentId: string, n: number) => ({
  pk: partition(environmentId),
  sk: `${REVISION_PREFIX}${String(n).padStart(10, '0')}`,
});

function withoutKeys<T>(item: Record<string, unknown>, ...extra: string[]): T {
  const copy = { ...item };
  for (const name of ['pk', 'sk', ...extra]) delete copy[name];
  return copy as T;
}

/** The raw export's failure sequences, read and advanced like the automatic export's. */
export const rawExportFailingStore = (options: StoreOptions): DynamoDbFailingExportsStore =>
  new DynamoDbFailingExportsStore(options, {
    sortKey: RAW_EXPORT_PROGRESS_SK,
    failingPartition: RAW_EXPORT_FAILING_PARTITION,
  });

export class DynamoDbRawExportStore implements RawExportStore {
  constructor(private readonly options: StoreOptions) {}

  async getSettings(environmentId: string): Promise<RawExportSettings | undefined> {
    const { Item } = await this.options.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: settingsKey(environmentId), ConsistentRead: true }),
    );
    return Item && withoutKeys<RawExportSettings>(Item);
  }

  putSettings(settings: RawExportSettings, expectedVersion: number): Promise<boolean> {
    return ignoringConditionFailure(
      this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { ...settingsKey(settings.environmentId), ...settings },
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'version = :expected',
                ExpressionAttributeValues: { ':expected': expectedVersion },
              }),
        }),
      ),
    );
  }

  stop(environmentId: string, expectedVersion: number, stoppedAt: number, reason: string): Promise<boolean> {
    return ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: settingsKey(environmentId),
          UpdateExpression: 'SET enabled = :false, stoppedAt = :stoppedAt, stoppedReason = :reason, version = :next',
          ConditionExpression: 'version = :expected',
          ExpressionAttributeValues: {
            ':false': false,
            ':stoppedAt': stoppedAt,
            ':reason': reason,
            ':next': expectedVersion + 1,
            ':expected': expectedVersion,
          },
        }),
      ),
    );
  }

  async getProgress(environmentId: string): Promise<RawExportProgress | undefined> {
    const { Item } = await this.options.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: progressKey(environmentId), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const progress = withoutKeys<RawExportProgress & { emailsSent?: Set<number> }>(
      Item,
      'leaseId',
      'leaseUntil',
      'failingPk',
      'lastErrorCode',
    );
    return {
      ...progress,
      exportedRevisions: progress.exportedRevisions ?? 0,
      emailsSent: progress.emailsSent && [...progress.emailsSent].sort(),
    };
  }

  claimRun(environmentId: string, claim: { claimId: string; at: number; until: number }): Promise<boolean> {
    return ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: progressKey(environmentId),
          UpdateExpression:
            'SET environmentId = :environmentId, exportedRevisions = if_not_exists(exportedRevisions, :zero), leaseId = :claimId, leaseUntil = :until',
          ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil <= :at OR leaseId = :claimId',
          ExpressionAttributeValues: {
            ':environmentId': environmentId,
            ':zero': 0,
            ':claimId': claim.claimId,
            ':until': claim.until,
            ':at': claim.at,
          },
        }),
      ),
    );
  }

  async recordRevision(
    environmentId: string,
    claimId: string,
    revision: ExportedRevision,
    maxExportedTimestamp: number | undefined,
  ): Promise<boolean> {
    // The revision first: a mark never points past a revision index.csv does not know. A run that
    // lost its lease can only write the same revision again (the same object under the same number).
    await this.options.client.send(
      new PutCommand({
        TableName: this.options.tableName,
        Item: { ...revisionKey(environmentId, revision.n), ...revision },
      }),
    );
    return ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: progressKey(environmentId),
          UpdateExpression: `SET exportedRevisions = :n, lastObjectKey = :objectKey${maxExportedTimestamp === undefined ? '' : ', maxExportedTimestamp = :max'}`,
          ConditionExpression: 'leaseId = :claimId AND exportedRevisions = :previous',
          ExpressionAttributeValues: {
            ':n': revision.n,
            ':previous': revision.n - 1,
            ':objectKey': revision.objectKey,
            ':claimId': claimId,
            ...(maxExportedTimestamp === undefined ? {} : { ':max': maxExportedTimestamp }),
          },
        }),
      ),
    );
  }

  async *listRevisions(environmentId: string): AsyncIterable<ExportedRevision> {
    const pages = paginateQuery(
      { client: this.options.client },
      {
        TableName: this.options.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': partition(environmentId), ':prefix': REVISION_PREFIX },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) yield withoutKeys<ExportedRevision>(item);
    }
  }

  async finishRun(environmentId: string, claimId: string, outcome: RawRunOutcome): Promise<void> {
    const values: Record<string, unknown> = {
      ':claimId': claimId,
      ':startedAt': outcome.startedAt,
      ':status': outcome.status,
    };
    const sets = ['lastRunAt = :startedAt', 'lastStatus = :status'];
    const removes = ['leaseId', 'leaseUntil'];
    if (outcome.totalRevisions !== undefined) {
      sets.push('totalRevisions = :total');
      values[':total'] = outcome.totalRevisions;
    }
    if (outcome.status === 'successful') {
      removes.push('lastError', 'lastErrorCode', 'failingSince', 'failingErrorCode', 'failingPk', 'emailsSent');
    } else {
      sets.push('lastError = :error', 'lastErrorCode = :code');
      Object.assign(values, { ':error': outcome.error, ':code': outcome.errorCode });
      if (outcome.failureClass === 'customer') {
        // The sequence starts at the first customer-side failure and goes on through later ones.
        sets.push(
          'failingSince = if_not_exists(failingSince, :failingSince)',
          'failingErrorCode = :code',
          'failingPk = :failing',
        );
        Object.assign(values, { ':failingSince': outcome.finishedAt, ':failing': RAW_EXPORT_FAILING_PARTITION });
      }
    }
    await ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: progressKey(environmentId),
          UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`,
          ConditionExpression: 'leaseId = :claimId',
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async clearFailure(environmentId: string): Promise<void> {
    await ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: progressKey(environmentId),
          UpdateExpression: 'REMOVE failingSince, failingErrorCode, failingPk, emailsSent',
          ConditionExpression: 'attribute_exists(pk)',
        }),
      ),
    );
  }
}
