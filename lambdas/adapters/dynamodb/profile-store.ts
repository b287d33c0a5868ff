/**
 * User profiles in their own table (string keys `pk`, `sk`):
 *
 *   ENV#<envId>#<shard>   U#<userId>   userId, firstSeen, updatedAt, one `a#<key>` attribute per user attribute
 *
 * A profile update is one UpdateItem: each attribute its own top-level attribute, so a new key needs no
 * map to exist first and concurrent updates of different keys never overwrite each other. The
 * environment's profiles are spread over PROFILE_SHARDS partition keys (by a hash of the user id), so
 * a large tenant's writes do not all hit one partition. The GSI `updated` (pk, updatedAt)
 * answers "changed since T" with one Query per shard that reads only the changed profiles.
 */
import { createHash } from 'node:crypto';
import {
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { JsonValue } from '../../core/raw-log';
import type { ProfileStore, ProfileUpdate, UserProfile } from '../../ports';

export const PROFILE_SHARDS = 16;
/** The table's index of profiles by shard and updatedAt. */
export const PROFILES_UPDATED_INDEX = 'updated';
const ATTRIBUTE_PREFIX = 'a#';

const shardOf = (userId: string) => createHash('md5').update(userId, 'utf8').digest().readUInt16BE(0) % PROFILE_SHARDS;
const shardPk = (environmentId: string, shard: number) => `ENV#${environmentId}#${shard}`;

function toProfile(item: Record<string, unknown>): UserProfile {
  const attributes: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith(ATTRIBUTE_PREFIX)) attributes[name.slice(ATTRIBUTE_PREFIX.length)] = value as JsonValue;
  }
  return {
    userId: item.userId as string,
    attributes,
    firstSeen: item.firstSeen as number,
    updatedAt: item.updatedAt as number,
  };
}

export class DynamoDbProfileStore implements ProfileStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string }) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async recordProfile(environmentId: string, update: ProfileUpdate): Promise<void> {
    const entries = Object.entries(update.attributes);
    const names: Record<string, string> = { '#userId': 'userId', '#firstSeen': 'firstSeen', '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = {
      ':userId': update.userId,
      ':at': update.at,
      ':receivedAt': update.receivedAt,
    };
    const clauses = ['#userId = :userId', '#firstSeen = if_not_exists(#firstSeen, :at)', '#updatedAt = :receivedAt'];
    entries.forEach(([key, value], index) => {
      names[`#a${index}`] = ATTRIBUTE_PREFIX + key;
      values[`:a${index}`] = value;
      clauses.push(`#a${index} = :a${index}`);
    });
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: shardPk(environmentId, shardOf(update.userId)), sk: `U#${update.userId}` },
        UpdateExpression: `SET ${clauses.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async *listProfiles(environmentId: string): AsyncIterable<UserProfile> {
    for (let shard = 0; shard < PROFILE_SHARDS; shard++) {
      yield* this.query({
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': shardPk(environmentId, shard) },
      });
    }
  }

  async *listProfilesChangedSince(environmentId: string, since: number): AsyncIterable<UserProfile> {
    for (let shard = 0; shard < PROFILE_SHARDS; shard++) {
      yield* this.query({
        IndexName: PROFILES_UPDATED_INDEX,
        KeyConditionExpression: 'pk = :pk AND updatedAt >= :since',
        ExpressionAttributeValues: { ':pk': shardPk(environmentId, shard), ':since': since },
      });
    }
  }

  private async *query(input: Omit<QueryCommandInput, 'TableName'>): AsyncIterable<UserProfile> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey: startKey }),
      );
      for (const item of page.Items ?? []) yield toProfile(item);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
}
