/**
 * Automatic export settings, runs and status in the config table:
 *
 *   ENV#<envId>  EXPORT#SETTINGS   the settings (secret sealed), with the `version` every change
 *                                  raises; `unreconciledPk` from a change until the schedule matches
 *                                  it, which puts the item in the sparse `unreconciled` index
 *   ENV#<envId>  EXPORT#STATUS     last run, failure sequence; `failingPk` only while failing, which
 *                                  puts the item in the sparse `failing` index the hourly check reads;
 *                                  `transientPk` and `transientSince` only while runs fail transiently
 *                                  (the sparse `transient` index, for the alarm past 24 h)
 *   ENV#<envId>  RUN#<snapshotAt>  one item per snapshot instant (13-digit ms, so they sort by time)
 *
 * Every state change is a conditional single-item write (dynalite has no transactions).
 */
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  paginateQuery,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type {
  AutomaticExportSettings,
  AutomaticExportSettingsStore,
  ExportRun,
  ExportRunStore,
  ExportStatusRecord,
  FailingExportsStore,
  RunOutcome,
} from '../../ports';
import { ignoringConditionFailure, setFields } from './expressions';

export const FAILING_INDEX = 'failing';
export const FAILING_PARTITION = 'FAILING';
export const UNRECONCILED_INDEX = 'unreconciled';
export const TRANSIENT_INDEX = 'transient';
const TRANSIENT_PARTITION = 'TRANSIENT';
const UNRECONCILED_PARTITION = 'UNRECONCILED';
const ENV_PREFIX = 'ENV#';

const settingsKey = (environmentId: string) => ({ pk: `${ENV_PREFIX}${environmentId}`, sk: 'EXPORT#SETTINGS' });
export const statusKey = (environmentId: string) => ({ pk: `ENV#${environmentId}`, sk: 'EXPORT#STATUS' });
const RUN_PREFIX = 'RUN#';
const runKey = (environmentId: string, snapshotAt: number) => ({
  pk: `ENV#${environmentId}`,
  sk: `${RUN_PREFIX}${String(snapshotAt).padStart(13, '0')}`,
});

/** Run records are kept for a little over a year (the table's TTL removes them). */
const RUN_RETENTION_SECONDS = 400 * 24 * 3600;

interface StoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

/** Every item of one partition of a sparse index, page after page. */
export async function* queryIndex(
  options: StoreOptions,
  indexName: string,
  keyCondition: string,
  values: Record<string, unknown>,
): AsyncIterable<Record<string, unknown>> {
  const pages = paginateQuery(
    { client: options.client },
    {
      TableName: options.tableName,
      IndexName: indexName,
      KeyConditionExpression: keyCondition,
      ExpressionAttributeValues: values,
    },
  );
  for await (const page of pages) yield* page.Items ?? [];
}

const environmentIdOf = (item: Record<string, unknown>): string => (item.pk as string).slice(ENV_PREFIX.length);

function withoutKeys<T>(item: Record<string, unknown>, ...extra: string[]): T {
  const copy = { ...item };
  for (const name of ['pk', 'sk', ...extra]) delete copy[name];
  return copy as T;
}

/** The condition that the stored settings are still at `version` (0: none, or saved before versions existed). */
function versionIs(version: number): {
  ConditionExpression: string;
  ExpressionAttributeValues?: Record<string, unknown>;
} {
  return version === 0
    ? { ConditionExpression: 'attribute_not_exists(version)' }
    : { ConditionExpression: 'version = :expected', ExpressionAttributeValues: { ':expected': version } };
}

export class DynamoDbAutomaticExportSettingsStore implements AutomaticExportSettingsStore {
  constructor(private readonly options: StoreOptions) {}

  async get(environmentId: string): Promise<AutomaticExportSettings | undefined> {
    const { Item } = await this.options.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: settingsKey(environmentId), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const settings = withoutKeys<AutomaticExportSettings>(Item, 'unreconciledPk');
    return { ...settings, version: settings.version ?? 0 };
  }

  async put(settings: AutomaticExportSettings, expectedVersion: number): Promise<boolean> {
    return ignoringConditionFailure(
      this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { ...settingsKey(settings.environmentId), ...settings, unreconciledPk: UNRECONCILED_PARTITION },
          ...versionIs(expectedVersion),
        }),
      ),
    );
  }

  async stop(environmentId: string, expectedVersion: number, stoppedAt: number, reason: string): Promise<boolean> {
    const condition = versionIs(expectedVersion);
    return ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: settingsKey(environmentId),
          UpdateExpression:
            'SET enabled = :false, stoppedAt = :stoppedAt, stoppedReason = :reason, version = :next, unreconciledPk = :unreconciled',
          ConditionExpression: `attribute_exists(pk) AND ${condition.ConditionExpression}`,
          ExpressionAttributeValues: {
            ...condition.ExpressionAttributeValues,
            ':false': false,
            ':stoppedAt': stoppedAt,
            ':reason': reason,
            ':next': expectedVersion + 1,
            ':unreconciled': UNRECONCILED_PARTITION,
          },
        }),
      ),
    );
  }

  async *listUnreconciled(): AsyncIterable<string> {
    const items = queryIndex(this.options, UNRECONCILED_INDEX, 'unreconciledPk = :unreconciled', {
      ':unreconciled': UNRECONCILED_PARTITION,
    });
    for await (const item of items) yield environmentIdOf(item);
  }

  async markReconciled(environmentId: string, version: number): Promise<void> {
    const condition = versionIs(version);
    await ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: settingsKey(environmentId),
          UpdateExpression: 'REMOVE unreconciledPk',
          ...condition,
          ConditionExpression: `attribute_exists(pk) AND ${condition.ConditionExpression}`,
        }),
      ),
    );
  }
}

export class DynamoDbExportRunStore implements ExportRunStore {
  constructor(private readonly options: StoreOptions) {}

  async claim(run: ExportRun): Promise<boolean> {
    const claimed = await ignoringConditionFailure(
      this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: {
            ...runKey(run.environmentId, run.snapshotAt),
            ...run,
            expiresAt: Math.floor(run.snapshotAt / 1000) + RUN_RETENTION_SECONDS,
          },
          // A running claim past its deadline was lost (its run records its own failure before then).
          ConditionExpression:
            'attribute_not_exists(pk) OR #status = :failed OR (#status = :running AND deadlineAt < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':failed': 'failed', ':running': 'running', ':now': run.startedAt },
        }),
      ),
    );
    if (claimed) return true;
    // The SDK retries a write whose answer was lost: the retry then fails on this very claim.
    const stored = await this.getRun(run.environmentId, run.snapshotAt);
    return stored?.status === 'running' && stored.claimId === run.claimId;
  }

  async finish(environmentId: string, snapshotAt: number, claimId: string, outcome: RunOutcome): Promise<boolean> {
    const { failureClass: _class, ...fields } = outcome as RunOutcome & { failureClass?: string };
    const update = setFields(fields);
    return ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: runKey(environmentId, snapshotAt),
          ...update,
          ConditionExpression: 'claimId = :claimId',
          ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ':claimId': claimId },
        }),
      ),
    );
  }

  async getRun(environmentId: string, snapshotAt: number): Promise<ExportRun | undefined> {
    const { Item } = await this.options.client.send(
      new GetCommand({
        TableName: this.options.tableName,
        Key: runKey(environmentId, snapshotAt),
        ConsistentRead: true,
      }),
    );
    return Item && withoutKeys<ExportRun>(Item, 'expiresAt');
  }

  async history(environmentId: string, limit: number): Promise<ExportRun[]> {
    const { Items = [] } = await this.options.client.send(
      new QueryCommand({
        TableName: this.options.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': `ENV#${environmentId}`, ':prefix': RUN_PREFIX },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return Items.map((item) => withoutKeys<ExportRun>(item, 'expiresAt'));
  }

  async getStatus(environmentId: string): Promise<ExportStatusRecord | undefined> {
    const { Item } = await this.options.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: statusKey(environmentId), ConsistentRead: true }),
    );
    return Item && toStatusRecord(Item);
  }

  async recordOutcome(environmentId: string, startedAt: number, outcome: RunOutcome): Promise<void> {
    const values: Record<string, unknown> = {
      ':environmentId': environmentId,
      ':startedAt': startedAt,
      ':status': outcome.status,
    };
    const sets = ['environmentId = :environmentId', 'lastRunAt = :startedAt', 'lastStatus = :status'];
    const removes: string[] = [];
    if (outcome.status === 'successful') {
      removes.push(
        'lastError',
        'lastErrorCode',
        'failingSince',
        'failingError',
        'failingErrorCode',
        'failingPk',
        'emailsSent',
      );
    } else {
      Object.assign(values, { ':error': outcome.error, ':code': outcome.errorCode });
      sets.push('lastError = :error', 'lastErrorCode = :code');
      if (outcome.failureClass === 'customer') {
        // The sequence starts at the first customer-side failure and goes on through later ones.
        Object.assign(values, { ':failingSince': outcome.finishedAt, ':failing': FAILING_PARTITION });
        sets.push(
          'failingSince = if_not_exists(failingSince, :failingSince)',
          'failingError = :error',
          'failingErrorCode = :code',
          'failingPk = :failing',
        );
      }
    }
    if (outcome.status === 'failed' && outcome.failureClass === 'transient') {
      // A run of transient failures starts at the first one; anything else ends it.
      Object.assign(values, { ':transientSince': outcome.finishedAt, ':transient': TRANSIENT_PARTITION });
      sets.push('transientSince = if_not_exists(transientSince, :transientSince)', 'transientPk = :transient');
    } else {
      removes.push('transientSince', 'transientPk');
    }
    // A slow run finishing after a newer one must not overwrite the newer outcome.
    await ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: statusKey(environmentId),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_not_exists(lastRunAt) OR lastRunAt <= :startedAt',
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async clearFailure(environmentId: string): Promise<void> {
    await this.options.client.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: statusKey(environmentId),
        UpdateExpression: 'REMOVE failingSince, failingError, failingErrorCode, failingPk, emailsSent',
      }),
    );
  }
}

/**
 * Which failure sequences a failing-exports store reads: the automatic export's (its status items, by
 * default) or another export's whose items share the `failing` index under their own partition (the
 * raw revisions export's progress items).
 */
export interface FailureSequenceItems {
  sortKey: string;
  failingPartition: string;
}

const AUTOMATIC_EXPORT_SEQUENCES: FailureSequenceItems = {
  sortKey: statusKey('').sk,
  failingPartition: FAILING_PARTITION,
};

export class DynamoDbFailingExportsStore implements FailingExportsStore {
  constructor(
    private readonly options: StoreOptions,
    private readonly sequences: FailureSequenceItems = AUTOMATIC_EXPORT_SEQUENCES,
  ) {}

  private key(environmentId: string) {
    return { pk: `${ENV_PREFIX}${environmentId}`, sk: this.sequences.sortKey };
  }

  async *listFailing(): AsyncIterable<ExportStatusRecord & { failingSince: number }> {
    const items = queryIndex(this.options, FAILING_INDEX, 'failingPk = :failing', {
      ':failing': this.sequences.failingPartition,
    });
    for await (const item of items) yield toStatusRecord(item) as ExportStatusRecord & { failingSince: number };
  }

  async claimEmail(environmentId: string, failingSince: number, emailNumber: number): Promise<boolean> {
    return ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(environmentId),
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

  async releaseEmail(environmentId: string, failingSince: number, emailNumber: number): Promise<void> {
    await ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(environmentId),
          UpdateExpression: 'DELETE emailsSent :email',
          ConditionExpression: 'failingSince = :failingSince',
          ExpressionAttributeValues: { ':email': new Set([emailNumber]), ':failingSince': failingSince },
        }),
      ),
    );
  }

  async endSequence(environmentId: string, failingSince: number): Promise<void> {
    await ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(environmentId),
          UpdateExpression: 'REMOVE failingPk',
          ConditionExpression: 'failingSince = :failingSince',
          ExpressionAttributeValues: { ':failingSince': failingSince },
        }),
      ),
    );
  }

  async *listFailingTransientlySince(before: number): AsyncIterable<{ environmentId: string; transientSince: number }> {
    const items = queryIndex(this.options, TRANSIENT_INDEX, 'transientPk = :transient AND transientSince <= :before', {
      ':transient': TRANSIENT_PARTITION,
      ':before': before,
    });
    for await (const item of items)
      yield { environmentId: environmentIdOf(item), transientSince: item.transientSince as number };
  }

  async endTransientFailures(environmentId: string, transientSince: number): Promise<void> {
    await ignoringConditionFailure(
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(environmentId),
          UpdateExpression: 'REMOVE transientSince, transientPk',
          ConditionExpression: 'transientSince = :transientSince',
          ExpressionAttributeValues: { ':transientSince': transientSince },
        }),
      ),
    );
  }
}

function toStatusRecord(item: Record<string, unknown>): ExportStatusRecord {
  const record = withoutKeys<ExportStatusRecord & { emailsSent?: Set<number> | number[] }>(
    item,
    'failingPk',
    'transientPk',
  );
  return { ...record, emailsSent: record.emailsSent ? [...record.emailsSent].sort() : undefined };
}
