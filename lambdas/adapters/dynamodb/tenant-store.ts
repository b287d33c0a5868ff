/**
 * Organizations, environments and their definitions in the config table (single-table design, string
 * keys `pk` and `sk`):
 *
 *   ORG#<orgId>            META             the organization
 *   ENV#<envId>            META             the environment
 *   ENV#<envId>            FEATURE#<id>     a feature definition
 *   ENV#<envId>            SEGMENT#<id>     a segment definition
 *   INGESTKEY#<sha256>     META             the environment owning the key (a copy: ingest reads it once),
 *                                           with `validUntil` (ms) once the key was replaced
 *
 * Ingest keys are stored by their SHA-256 only (core/ingest-keys.ts). A replaced key's item also gets
 * `expiresAt` (epoch seconds), the table's TTL attribute, so DynamoDB removes it some time after its end;
 * TTL deletes late (and dynalite not at all), so lookups compare `validUntil` themselves.
 *
 * Other adapters share the table (settings, jobs, runs under ENV#<envId>), so reads always narrow `sk`.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  paginateQuery,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../core/errors';
import type { StoredIngestKey } from '../../core/ingest-keys';
import type {
  AdoptionThresholds,
  Environment,
  FeatureDefinition,
  Organization,
  Plan,
  SegmentCondition,
  SegmentDefinition,
} from '../../core/model';
import type { IngestKeyOwner, TenantStore } from '../../ports';
import { ignoringConditionFailure } from './expressions';

type Item = Record<string, unknown>;

const META = 'META';
const orgKey = (id: string) => ({ pk: `ORG#${id}`, sk: META });
const envKey = (id: string) => ({ pk: `ENV#${id}`, sk: META });
const ingestKeyKey = (ingestKeyHash: string) => ({ pk: `INGESTKEY#${ingestKeyHash}`, sk: META });
const FEATURE_PREFIX = 'FEATURE#';
const SEGMENT_PREFIX = 'SEGMENT#';

export class DynamoDbTenantStore implements TenantStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string }) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async createOrganization(org: Organization): Promise<void> {
    const created = await this.putIfAbsent({ ...orgKey(org.id), ...organizationAttributes(org) });
    if (!created) throw new ConflictError(`An organization with id "${org.id}" already exists.`);
  }

  async getOrganization(id: string): Promise<Organization | undefined> {
    const item = await this.get(orgKey(id));
    return item && toOrganization(item);
  }

  async updateOrganizationPlan(id: string, plan: Plan): Promise<Organization | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: orgKey(id),
          UpdateExpression: 'SET #plan = :plan',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#plan': 'plan' },
          ExpressionAttributeValues: { ':plan': plan },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes && toOrganization(Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * No transactions (dynalite has none): the environment first, then its key with its own conditional
   * put, so a key never points at a missing environment. A key collision removes the new environment.
   */
  async createEnvironment(env: Environment): Promise<void> {
    const attributes = environmentAttributes(env);
    if (!(await this.putIfAbsent({ ...envKey(env.id), ...attributes }))) {
      throw new ConflictError(`An environment with id "${env.id}" already exists.`);
    }
    if (!(await this.putIfAbsent({ ...ingestKeyKey(env.ingestKeyHash), ...attributes }))) {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: envKey(env.id) }));
      throw new ConflictError('The ingest key is already in use by another environment.');
    }
  }

  async getEnvironment(id: string): Promise<Environment | undefined> {
    const item = await this.get(envKey(id));
    return item && toEnvironment(item);
  }

  async findIngestKey(ingestKeyHash: string): Promise<IngestKeyOwner | undefined> {
    const item = await this.get(ingestKeyKey(ingestKeyHash));
    if (!item) return undefined;
    const environment = toEnvironment(item);
    return item.validUntil === undefined ? { environment } : { environment, validUntil: item.validUntil as number };
  }

  /**
   * Three single-item writes (no transactions in dynalite), ordered so that no failure leaves a key
   * working forever that should not: the new key's lookup; the old key's end; then the environment
   * switches to the new key only if it still has the old one. A lost race removes its new key. A crash
   * before the switch leaves the old key current but ending: the caller got an error and rotates again.
   */
  async replaceIngestKey(
    environment: Environment,
    next: StoredIngestKey,
    previousValidUntil: number,
  ): Promise<Environment> {
    const rotated: Environment = { ...environment, ingestKeyHash: next.hash, ingestKeyPrefix: next.prefix };
    if (!(await this.putIfAbsent({ ...ingestKeyKey(next.hash), ...environmentAttributes(rotated) }))) {
      throw new ConflictError('The new ingest key collides with an existing one. Please rotate again.');
    }
    await ignoringConditionFailure(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: ingestKeyKey(environment.ingestKeyHash),
          UpdateExpression: 'SET validUntil = :validUntil, expiresAt = :expiresAt',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(validUntil) OR validUntil > :validUntil)',
          ExpressionAttributeValues: {
            ':validUntil': previousValidUntil,
            ':expiresAt': Math.ceil(previousValidUntil / 1000),
          },
        }),
      ),
    );
    const switched = await ignoringConditionFailure(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: envKey(environment.id),
          UpdateExpression: 'SET ingestKeyHash = :next, ingestKeyPrefix = :prefix',
          ConditionExpression: 'ingestKeyHash = :current',
          ExpressionAttributeValues: {
            ':next': next.hash,
            ':prefix': next.prefix,
            ':current': environment.ingestKeyHash,
          },
        }),
      ),
    );
    if (!switched) {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: ingestKeyKey(next.hash) }));
      throw new ConflictError(
        "The environment's ingest key was rotated by another request at the same time. Use the key that request answered, or rotate again.",
      );
    }
    return rotated;
  }

  async putFeature(environmentId: string, feature: FeatureDefinition): Promise<void> {
    await this.put({
      pk: envKey(environmentId).pk,
      sk: FEATURE_PREFIX + feature.id,
      id: feature.id,
      key: feature.key,
      name: feature.name,
      adoption: { minActiveDays: feature.adoption.minActiveDays, windowDays: feature.adoption.windowDays },
    });
  }

  async listFeatures(environmentId: string): Promise<FeatureDefinition[]> {
    const items = await this.queryPrefix(envKey(environmentId).pk, FEATURE_PREFIX);
    return items.map((item) => ({
      id: item.id as string,
      key: item.key as string,
      name: item.name as string,
      adoption: item.adoption as AdoptionThresholds,
    }));
  }

  async putSegment(environmentId: string, segment: SegmentDefinition): Promise<void> {
    await this.put({
      pk: envKey(environmentId).pk,
      sk: SEGMENT_PREFIX + segment.id,
      id: segment.id,
      name: segment.name,
      conditions: segment.conditions,
    });
  }

  async listSegments(environmentId: string): Promise<SegmentDefinition[]> {
    const items = await this.queryPrefix(envKey(environmentId).pk, SEGMENT_PREFIX);
    return items.map((item) => ({
      id: item.id as string,
      name: item.name as string,
      conditions: item.conditions as SegmentCondition[],
    }));
  }

  /** Strongly consistent: the API reads what it has just written (create, then GET). */
  private async get(key: { pk: string; sk: string }): Promise<Item | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return Item;
  }

  private async put(item: Item): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  /** False when an item with the same key exists (it is left untouched). */
  private async putIfAbsent(item: Item): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private async queryPrefix(pk: string, skPrefix: string): Promise<Item[]> {
    const items: Item[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': skPrefix },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
    return items;
  }
}

const organizationAttributes = (org: Organization): Item => ({
  id: org.id,
  name: org.name,
  plan: org.plan,
  createdAt: org.createdAt,
});

const toOrganization = (item: Item): Organization => ({
  id: item.id as string,
  name: item.name as string,
  plan: item.plan as Plan,
  createdAt: item.createdAt as number,
});

const environmentAttributes = (env: Environment): Item => ({
  id: env.id,
  organizationId: env.organizationId,
  name: env.name,
  ingestKeyHash: env.ingestKeyHash,
  ingestKeyPrefix: env.ingestKeyPrefix,
  createdAt: env.createdAt,
});

const toEnvironment = (item: Item): Environment => ({
  id: item.id as string,
  organizationId: item.organizationId as string,
  name: item.name as string,
  ingestKeyHash: item.ingestKeyHash as string,
  ingestKeyPrefix: item.ingestKeyPrefix as string,
  createdAt: item.createdAt as number,
});
