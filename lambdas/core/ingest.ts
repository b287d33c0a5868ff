/**
 * Tracking ingest, compatible with Bucket's tracking API: users, companies, events and feedback
 * become the compact usage history the exports read. Every item of a request is checked before the
 * first write, so a rejected request writes nothing.
 */
import { UnauthorizedError, ValidationError, type FieldIssue } from './errors';
import type { AttributeValue, Environment, FeatureDefinition } from './model';
import { hashIngestKey } from './ingest-keys';
import type { Clock, TenantStore, UsageStore } from '../ports';

export type IngestItem =
  | { type: 'user'; userId: string; at: number }
  | { type: 'company'; companyId: string; userId?: string; attributes?: Record<string, AttributeValue>; at: number }
  | { type: 'event'; event: string; userId: string; companyId?: string; at: number }
  | {
      type: 'feedback';
      userId?: string;
      companyId?: string;
      featureId?: string;
      featureKey?: string;
      score: number | null;
      at: number;
    }
  /** Accepted for compatibility with the official SDKs (e.g. feature-flag events), not exported. */
  | { type: 'ignored' };

type FeedbackItem = Extract<IngestItem, { type: 'feedback' }>;

/** Lanes written at the same time: enough to hide DynamoDB's latency, few enough not to throttle. */
const PARALLEL_LANES = 16;

/** Items that depend on each other's order share a lane: those naming the same user, else the same company. */
function laneOf(item: IngestItem): string {
  switch (item.type) {
    case 'user':
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

export class IngestService {
  constructor(private readonly deps: { tenants: TenantStore; usage: UsageStore; clock: Clock }) {}

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

  async ingest(environment: Environment, items: IngestItem[]): Promise<IngestResult> {
    const feedbackKeys = await this.resolveFeedbackKeys(environment, items);
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
        await usage.recordCompany(environmentId, { companyId: item.companyId, at: item.at, attributes: item.attributes });
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
