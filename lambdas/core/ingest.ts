/**
 * Tracking ingest, compatible with Bucket's tracking API: users, companies, events, feedback and
 * aliases are appended to the raw event log, and become the compact usage history the exports read,
 * the users' profiles and the event catalog. Every item of a request is checked before the first
 * write, so a rejected request writes nothing.
 */
import { randomUUID } from 'node:crypto';
import { UnauthorizedError, ValidationError, type FieldIssue } from './errors';
import type { AttributeValue, Environment, FeatureDefinition } from './model';
import { hashIngestKey } from './ingest-keys';
import type { EventCatalogRecorder } from './event-catalog';
import { isLogged, profileUpdatesOf, rawRecordOf, receivedEventsOf } from './ingest-log';
import type { JsonValue } from './raw-log';
import type { Clock, ProfileStore, RawEventLog, TenantStore, UsageStore } from '../ports';

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
}

/** Company attributes in the usage history are scalars: nested JSON is kept as its JSON text. */
function scalarAttributes(attributes: Record<string, JsonValue> | undefined): Record<string, AttributeValue> | undefined {
  if (!attributes) return undefined;
  return Object.fromEntries(
    Object.entries(attributes).map(([key, value]) => [key, value !== null && typeof value === 'object' ? JSON.stringify(value) : value]),
  );
}

export class IngestService {
  constructor(private readonly deps: IngestDependencies) {}

  async authenticate(ingestKey: string | undefined): Promise<Environment> {
    if (!ingestKey) {
      throw new UnauthorizedError('Missing ingest key. Send Authorization: Bearer <ingestKey> or ?publishableKey=<ingestKey>.');
    }
    const owner = await this.deps.tenants.findIngestKey(hashIngestKey(ingestKey));
    if (!owner) throw new UnauthorizedError('Unknown ingest key. Use the ingestKey returned when the environment was created or its key rotated.');
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
  async ingest(environment: Environment, items: IngestItem[], receivedAt = this.deps.clock.now()): Promise<IngestResult> {
    const feedbackKeys = await this.resolveFeedbackKeys(environment, items);
    // The log first: when it cannot take the items, nothing else is written and the client retries.
    const requestId = randomUUID();
    const records = items.flatMap((item, index) =>
      isLogged(item) ? [rawRecordOf(environment.id, item, receivedAt, `${requestId}-${index}`, feedbackKeys.get(index))] : [],
    );
    await this.deps.rawLog.append(records);
    const [result] = await Promise.all([
      this.recordUsage(environment, items, feedbackKeys),
      Promise.all(profileUpdatesOf(items, receivedAt).map((update) => this.deps.profiles.recordProfile(environment.id, update))),
      this.deps.catalog.record(environment.id, receivedEventsOf(items), receivedAt),
    ]);
    return result;
  }

  private async recordUsage(environment: Environment, items: IngestItem[], feedbackKeys: Map<number, string>): Promise<IngestResult> {
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
    const queue = [...lanes.values()];
    const worker = async () => {
      for (let lane = queue.shift(); lane; lane = queue.shift()) {
        for (const index of lane) {
          const item = items[index];
          if (await this.write(environment.id, item, feedbackKeys.get(index))) result.recorded++;
          else if (item.type === 'event' || item.type === 'feedback') result.unattributed++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_LANES, queue.length) }, worker));
    return result;
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
      else issues.push({ path: items.length > 1 ? `[${index}].featureId` : 'featureId', message: `no feature with id "${item.featureId}" in this environment` });
    });
    if (issues.length > 0) {
      throw new ValidationError(`Unknown feature: ${issues[0].message}; send the feature's key or an existing featureId.`, issues);
    }
    return keys;
  }

  private async write(environmentId: string, item: IngestItem, feedbackKey: string | undefined): Promise<boolean> {
    const usage = this.deps.usage;
    switch (item.type) {
      case 'user':
        await usage.recordUser(environmentId, { userId: item.userId, at: item.at });
        return true;
      case 'company':
        await usage.recordCompany(environmentId, { companyId: item.companyId, at: item.at, attributes: scalarAttributes(item.attributes) });
        if (item.userId) await usage.recordUser(environmentId, { userId: item.userId, at: item.at, companyId: item.companyId });
        return true;
      case 'event': {
        const companyId = item.companyId ?? (await usage.findUserCompany(environmentId, item.userId));
        if (!companyId) return false;
        await usage.recordEvent(environmentId, { companyId, eventKey: item.event, at: item.at });
        return true;
      }
      case 'feedback':
        return this.writeFeedback(environmentId, item, feedbackKey!);
      case 'alias':
      case 'ignored':
        return false;
    }
  }

  private async writeFeedback(environmentId: string, item: FeedbackItem, eventKey: string): Promise<boolean> {
    const companyId =
      item.companyId ?? (item.userId ? await this.deps.usage.findUserCompany(environmentId, item.userId) : undefined);
    if (!companyId) return false;
    await this.deps.usage.recordFeedback(environmentId, { companyId, eventKey, at: item.at, score: item.score });
    return true;
  }
}
