/**
 * Tracking ingest, compatible with Bucket's tracking API: users, companies, events, feedback and
 * aliases are appended to the raw event log, and become the compact usage history the exports read,
 * the users' profiles and the event catalog. Every item of a request is checked before the first
 * write, so a rejected request writes nothing. Every write is idempotent (feedback on the
 * item's identity, ingestItemId), so a request retried after a failure stores what one success would.
 */
import { createHash } from 'node:crypto';
import { mergeCompanyAttributes, type StoredAttributes } from './company-attributes';
import { UnauthorizedError, ValidationError, type FieldIssue } from './errors';
import { isTrackableTime, type AttributeValue, type Environment, type FeatureDefinition } from './model';
import { hashIngestKey } from './ingest-keys';
import type { EventCatalogRecorder } from './event-catalog';
import { isLogged, profileUpdatesOf, rawRecordOf, receivedEventsOf } from './ingest-log';
import type { JsonValue } from './raw-log';
import {
  OPERATIONAL_METRICS,
  uncountedMetrics,
  type Clock,
  type OperationalMetrics,
  type ProfileStore,
  type RawEventLog,
  type TenantStore,
  type UsageStore,
} from '../ports';

/** What an item carries into the raw event log as sent: event properties, user or company attributes, feedback fields, context. */
interface Carried {
  attributes?: Record<string, JsonValue>;
  context?: JsonValue;
}

export type IngestItem =
  | ({ type: 'user'; userId: string; at: number } & Carried)
  | ({ type: 'company'; companyId: string; userId?: string; at: number } & Carried)
  | ({ type: 'event'; event: string; userId: string; companyId?: string; at: number } & Carried)
  | ({
      type: 'feedback';
      userId?: string;
      companyId?: string;
      featureId?: string;
      featureKey?: string;
      score: number | null;
      at: number;
    } & Carried)
  /** Two identities of one person: kept in the raw event log. */
  | { type: 'alias'; userId: string; alias: string; at: number }
  /** Accepted for compatibility with the official SDKs (e.g. feature-flag events), not exported. */
  | { type: 'ignored' };

type FeedbackItem = Extract<IngestItem, { type: 'feedback' }>;

/** Attributes in key order (a retry may send them in another order, as JSON objects allow). */
const sortedEntries = (attributes: Record<string, JsonValue> | undefined) =>
  Object.entries(attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** What makes an item this item: every field it was sent with (attributes, context: two events differing only there are two events). */
function itemContent(item: IngestItem): unknown[] {
  switch (item.type) {
    case 'user':
      return [item.type, item.userId, sortedEntries(item.attributes), item.context ?? null, item.at];
    case 'company':
      return [
        item.type,
        item.companyId,
        item.userId ?? null,
        sortedEntries(item.attributes),
        item.context ?? null,
        item.at,
      ];
    case 'event':
      return [
        item.type,
        item.event,
        item.userId,
        item.companyId ?? null,
        sortedEntries(item.attributes),
        item.context ?? null,
        item.at,
      ];
    case 'feedback':
      return [
        item.type,
        item.userId ?? null,
        item.companyId ?? null,
        item.featureId ?? null,
        item.featureKey ?? null,
        item.score,
        sortedEntries(item.attributes),
        item.at,
      ];
    case 'alias':
      return [item.type, item.userId, item.alias, item.at];
    case 'ignored':
      return [item.type];
  }
}

/**
 * An ingest item's identity, the same whenever the same request is sent again: a hash (128 bits,
 * base64url, 22 characters) of the environment, the item's content (type, ids, event or feature,
 * score, attributes, timestamp) and `ordinal`, how many items of the same request before it have the
 * same content (0 for the first), so identical items of one request stay distinct. An item sent
 * without a timestamp gets the receive time, hence a new identity on each retry.
 */
export function ingestItemId(environmentId: string, item: IngestItem, ordinal: number): string {
  return createHash('sha256')
    .update(JSON.stringify([environmentId, ...itemContent(item), ordinal]))
    .digest('base64url')
    .slice(0, 22);
}

/** The identity of each item of a request, in request order (see ingestItemId). */
export function ingestItemIds(environmentId: string, items: readonly IngestItem[]): string[] {
  const seen = new Map<string, number>();
  return items.map((item) => {
    const content = JSON.stringify(itemContent(item));
    const ordinal = seen.get(content) ?? 0;
    seen.set(content, ordinal + 1);
    return ingestItemId(environmentId, item, ordinal);
  });
}

/** Runs `task` for every value, at most `limit` at a time. */
async function inParallel<T>(values: readonly T[], limit: number, task: (value: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < values.length) await task(values[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, values.length) }, worker));
}

/** Where an item's field is reported: `[3].timestamp` in a bulk, `timestamp` alone. */
const fieldPath = (items: readonly IngestItem[], index: number, field: string) =>
  items.length > 1 ? `[${index}].${field}` : field;

/** Lanes written at the same time: enough to hide DynamoDB's latency, few enough not to throttle. */
const PARALLEL_LANES = 16;

/** Items that depend on each other's order share a lane: those naming the same user, else the same company. */
function laneOf(item: IngestItem): string {
  switch (item.type) {
    case 'user':
    case 'alias':
      return `user:${item.userId}`;
    case 'company':
      return item.userId ? `user:${item.userId}` : `company:${item.companyId}`;
    case 'event':
      return item.companyId ? `company:${item.companyId}` : `user:${item.userId}`;
    case 'feedback':
      return item.companyId ? `company:${item.companyId}` : `user:${item.userId}`;
    case 'ignored':
      return 'ignored';
  }
}

export interface IngestResult {
  /** Items written to the usage history. */
  recorded: number;
  /** Events and feedback dropped because neither they nor their user named a company. */
  unattributed: number;
}

export interface IngestDependencies {
  tenants: TenantStore;
  usage: UsageStore;
  clock: Clock;
  rawLog: RawEventLog;
  profiles: ProfileStore;
  catalog: EventCatalogRecorder;
  /** @default uncounted (local mode) */
  metrics?: OperationalMetrics;
}

/** Company attributes in the usage history are scalars: nested JSON is kept as its JSON text. */
function scalarAttributes(
  attributes: Record<string, JsonValue> | undefined,
): Record<string, AttributeValue> | undefined {
  if (!attributes) return undefined;
  return Object.fromEntries(
    Object.entries(attributes).map(([key, value]) => [
      key,
      value !== null && typeof value === 'object' ? JSON.stringify(value) : value,
    ]),
  );
}

export class IngestService {
  constructor(private readonly deps: IngestDependencies) {}

  async authenticate(ingestKey: string | undefined): Promise<Environment> {
    if (!ingestKey) {
      throw new UnauthorizedError(
        'Missing ingest key. Send Authorization: Bearer <ingestKey> or ?publishableKey=<ingestKey>.',
      );
    }
    const owner = await this.deps.tenants.findIngestKey(hashIngestKey(ingestKey));
    if (!owner)
      throw new UnauthorizedError(
        'Unknown ingest key. Use the ingestKey returned when the environment was created or its key rotated.',
      );
    // Checked here, not left to the table's TTL: TTL deletes late, and dynalite not at all.
    if (owner.validUntil !== undefined && owner.validUntil <= this.deps.clock.now()) {
      throw new UnauthorizedError(
        `This ingest key was replaced and stopped working at ${new Date(owner.validUntil).toISOString()}. Use the environment's current key.`,
      );
    }
    return owner.environment;
  }

  async features(environment: Environment): Promise<FeatureDefinition[]> {
    return this.deps.tenants.listFeatures(environment.id);
  }

  /** @param receivedAt when the service accepted the items (the raw log's time) */
  async ingest(
    environment: Environment,
    items: IngestItem[],
    receivedAt = this.deps.clock.now(),
  ): Promise<IngestResult> {
    checkTimestamps(items);
    const feedbackKeys = await this.resolveFeedbackKeys(environment, items);
    await this.checkCompanyAttributes(environment, items);
    const ids = ingestItemIds(environment.id, items);
    // The log first: when it cannot take the items, nothing else is written and the client retries.
    const records = items.flatMap((item, index) =>
      isLogged(item) ? [rawRecordOf(environment.id, item, receivedAt, ids[index], feedbackKeys.get(index))] : [],
    );
    await this.deps.rawLog.append(records);
    const metrics = this.deps.metrics ?? uncountedMetrics;
    metrics.count(OPERATIONAL_METRICS.rawLogRecordsWritten, records.length);
    const [result] = await Promise.all([
      this.recordUsage(environment, items, ids, feedbackKeys),
      Promise.all(
        profileUpdatesOf(items, receivedAt).map((update) => this.deps.profiles.recordProfile(environment.id, update)),
      ),
      this.deps.catalog.record(environment.id, receivedEventsOf(items), receivedAt),
    ]);
    metrics.count(OPERATIONAL_METRICS.ingestItemsAccepted, items.length);
    return result;
  }

  private async recordUsage(
    environment: Environment,
    items: IngestItem[],
    ids: string[],
    feedbackKeys: Map<number, string>,
  ): Promise<IngestResult> {
    const result: IngestResult = { recorded: 0, unattributed: 0 };
    // Items of one user or company are written in order (a company call linking a user lands before
    // that user's later events); different ones in parallel, so a large bulk fits in one request.
    const lanes = new Map<string, number[]>();
    items.forEach((item, index) => {
      const lane = laneOf(item);
      const indexes = lanes.get(lane);
      if (indexes) indexes.push(index);
      else lanes.set(lane, [index]);
    });
    await inParallel([...lanes.values()], PARALLEL_LANES, async (lane) => {
      for (const index of lane) {
        const item = items[index];
        if (await this.write(environment.id, item, ids[index], feedbackKeys.get(index))) result.recorded++;
        else if (item.type === 'event' || item.type === 'feedback') result.unattributed++;
      }
    });
    return result;
  }

  /**
   * Company attributes stay within their bound (core/company-attributes.ts): each company's stored
   * attributes with the request's updates merged in order, refused before anything is written.
   */
  private async checkCompanyAttributes(environment: Environment, items: IngestItem[]): Promise<void> {
    const updates = items.flatMap((item, index) =>
      item.type === 'company' && item.attributes && Object.keys(item.attributes).length > 0
        ? [{ index, companyId: item.companyId, attributes: scalarAttributes(item.attributes)!, at: item.at }]
        : [],
    );
    const stored = new Map<string, StoredAttributes>();
    await inParallel([...new Set(updates.map((u) => u.companyId))], PARALLEL_LANES, async (companyId) => {
      stored.set(companyId, await this.deps.usage.companyAttributes(environment.id, companyId));
    });
    for (const { index, companyId, attributes, at } of updates) {
      stored.set(
        companyId,
        mergeCompanyAttributes(
          companyId,
          stored.get(companyId)!,
          attributes,
          at,
          fieldPath(items, index, 'attributes'),
        ),
      );
    }
  }

  /** Feedback may name its feature by id; every id must resolve before anything is written. */
  private async resolveFeedbackKeys(environment: Environment, items: IngestItem[]): Promise<Map<number, string>> {
    const keys = new Map<number, string>();
    const byId = items.some((item) => item.type === 'feedback' && !item.featureKey)
      ? new Map((await this.deps.tenants.listFeatures(environment.id)).map((f) => [f.id, f.key]))
      : new Map<string, string>();
    const issues: FieldIssue[] = [];
    items.forEach((item, index) => {
      if (item.type !== 'feedback') return;
      const key = item.featureKey ?? byId.get(item.featureId ?? '');
      if (key) keys.set(index, key);
      else
        issues.push({
          path: fieldPath(items, index, 'featureId'),
          message: `no feature with id "${item.featureId}" in this environment`,
        });
    });
    if (issues.length > 0) {
      throw new ValidationError(
        `Unknown feature: ${issues[0].message}; send the feature's key or an existing featureId.`,
        issues,
      );
    }
    return keys;
  }

  private async write(
    environmentId: string,
    item: IngestItem,
    id: string,
    feedbackKey: string | undefined,
  ): Promise<boolean> {
    const usage = this.deps.usage;
    switch (item.type) {
      case 'user':
        await usage.recordUser(environmentId, { userId: item.userId, at: item.at });
        return true;
      case 'company':
        await usage.recordCompany(environmentId, {
          companyId: item.companyId,
          at: item.at,
          attributes: scalarAttributes(item.attributes),
        });
        if (item.userId)
          await usage.recordUser(environmentId, { userId: item.userId, at: item.at, companyId: item.companyId });
        return true;
      case 'event': {
        const companyId = item.companyId ?? (await usage.findUserCompany(environmentId, item.userId));
        if (!companyId) return false;
        await usage.recordEvent(environmentId, { companyId, eventKey: item.event, at: item.at });
        return true;
      }
      case 'feedback':
        return this.writeFeedback(environmentId, item, id, feedbackKey!);
      case 'alias':
      case 'ignored':
        return false;
    }
  }

  private async writeFeedback(
    environmentId: string,
    item: FeedbackItem,
    id: string,
    eventKey: string,
  ): Promise<boolean> {
    const companyId =
      item.companyId ?? (item.userId ? await this.deps.usage.findUserCompany(environmentId, item.userId) : undefined);
    if (!companyId) return false;
    await this.deps.usage.recordFeedback(environmentId, { id, companyId, eventKey, at: item.at, score: item.score });
    return true;
  }
}

/** Times the usage history can hold (from 2000-01-01 on); the HTTP layer refuses others first. */
function checkTimestamps(items: IngestItem[]): void {
  const issues = items.flatMap((item, index) =>
    item.type !== 'ignored' && !isTrackableTime(item.at)
      ? [{ path: fieldPath(items, index, 'timestamp'), message: 'must be a time from 2000-01-01T00:00:00Z on' }]
      : [],
  );
  if (issues.length > 0)
    throw new ValidationError(`Invalid timestamp: ${issues[0].path} ${issues[0].message}.`, issues);
}
