/**
 * The compact usage history in the usage table (string keys `pk`, `sk`):
 *
 *   ENV#<envId>           C#<hex(companyId)>               company: companyId, firstSeen, seenLog, seen {day: ms}, attrs {..}, attrsAt {key: ms}, attrsVersion
 *   ENV#<envId>           C#<hex(companyId)>#U#<eventKey>  usage: eventKey, firstUsed?, usedLog, used {day: ms}, fbLog, fbRecent {id: {at, score}}, fbVersion
 *   ENV#<envId>#USERS     U#<userId>                       user: userId, companyId?, companyAt?
 *   ENV#<envId>#FEEDBACK  F#<feedback id>                  feedback counted in the log of its usage item: companyId, eventKey, at, score
 *
 * A day history (`seen`, `used`: each day's latest timestamp) is a packed Binary log (day-log.ts) plus a
 * small map of the days recorded since the log was last compacted. Ingest writes the map; once it holds
 * COMPACT_AT_DAYS days, the writer that added a day folds them into the log, conditionally on the log's
 * version and on the folded values, so a concurrent write is never lost. Exports read the log and the
 * map: a few attributes per item instead of one Number per active day.
 *
 * Feedback works the same way, with identities: a record goes into `fbRecent` under its id (setting
 * it twice changes nothing); once FOLD_FEEDBACK_AT are there, a writer folds the oldest into `fbLog`,
 * one tally per day (count, scored count, score sum: exact for every midnight data point), first
 * putting a marker item per folded id, then updating the usage item on `fbVersion`. A record is added
 * only after finding no marker for its id, on the `fbVersion` read before that check: a fold in
 * between refuses the write. So every id is counted once, in `fbRecent` or in `fbLog`, whatever the
 * retries, concurrent duplicates or failures between two writes. The usage item stays O(days).
 *
 * Hex digits sort after '#', so each company's usage items directly follow its company item and never
 * interleave with another company's (even when one id is a prefix of another): an export reads the
 * whole environment with one paginated Query, one item per company x event key.
 *
 * Writes are single-item updates that commute (per-day max, first-time min, per-id set, per-key
 * latest attribute value, merged on a version), so concurrent and out-of-order ingest loses nothing. Nested map paths need
 * their map to exist: items are created with all their maps, on first write.
 */
import {
  ConditionalCheckFailedException,
  type AttributeValue as StoredValue,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  GetCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { changesNothing, mergeCompanyAttributes, type StoredAttributes } from '../../core/company-attributes';
import { ValidationError } from '../../core/errors';
import {
  feedbackTally,
  isTrackableTime,
  toEpochDay,
  type AttributeValue,
  type CompanyRecord,
  type CompanyUsage,
  type FeatureUsageRecord,
  type FeedbackEntry,
  type FeedbackTally,
} from '../../core/model';
import type { CompanyUpdate, FeedbackRecord, UsageEvent, UsageStore, UserUpdate } from '../../ports';
import { dayHistory, feedbackLog, isPackable, packDayLog, packFeedbackLog } from './day-log';
import { queryStoredItems } from './document-client';
import { ignoringConditionFailure } from './expressions';

type Item = Record<string, unknown>;
/** An item as DynamoDB sends it, before any conversion. */
type StoredItem = Record<string, StoredValue>;
type Key = { pk: string; sk: string };

const COMPANY_PREFIX = 'C#';
const USAGE_INFIX = '#U#';
const BATCH_SIZE = 25;
/** Days in an item's recent-days map that make its writer fold them into the log. */
export const COMPACT_AT_DAYS = 8;
/** Most days (feedback records) one compaction (fold) takes: its condition names each, within DynamoDB's 4 KB expressions. */
const MAX_FOLDED = 64;
/** Feedback records in an item's recent map that make its writer fold them into the feedback log. */
export const FOLD_FEEDBACK_AT = 32;
const BATCH_ATTEMPTS = 8;
/** Optimistic writes (attributes on their version, feedback on the fold version) retried this often under contention. */
const VERSIONED_ATTEMPTS = 30;

const companiesPk = (environmentId: string) => `ENV#${environmentId}`;
const companySk = (companyId: string) => COMPANY_PREFIX + Buffer.from(companyId, 'utf8').toString('hex');
const companyKey = (environmentId: string, companyId: string): Key => ({
  pk: companiesPk(environmentId),
  sk: companySk(companyId),
});
const usageKey = (environmentId: string, companyId: string, eventKey: string): Key => ({
  pk: companiesPk(environmentId),
  sk: companySk(companyId) + USAGE_INFIX + eventKey,
});
const userKey = (environmentId: string, userId: string): Key => ({
  pk: `ENV#${environmentId}#USERS`,
  sk: `U#${userId}`,
});
const feedbackMarkerKey = (environmentId: string, feedbackId: string): Key => ({
  pk: `ENV#${environmentId}#FEEDBACK`,
  sk: `F#${feedbackId}`,
});

/** The attributes every company item is created with. */
const companyContainers = (companyId: string): Item => ({ companyId, seen: {}, attrs: {} });
/** The attributes every usage item is created with; firstUsed stays absent until the first use. */
const usageContainers = (eventKey: string): Item => ({ eventKey, used: {}, fbRecent: {} });

/** Refuses a time the history cannot hold, before anything is written (the HTTP layer refuses them first). */
function assertTrackable(at: number): void {
  if (isTrackableTime(at)) return;
  throw new ValidationError('Invalid timestamp: must be epoch milliseconds from 2000-01-01T00:00:00Z on.', [
    { path: 'timestamp', message: `${at} is not a time from 2000-01-01 on` },
  ]);
}

/** A timestamp to fold into an item's day history and its first-time attribute. */
interface Stamp {
  /** The map of recent days and the log they are compacted into. */
  days: 'seen' | 'used';
  log: 'seenLog' | 'usedLog';
  first: 'firstSeen' | 'firstUsed';
  at: number;
}

const LOG_VERSION = 'logVersion';

export class DynamoDbUsageStore implements UsageStore {
  /**
   * Items streamCompanyUsage has read, for the benchmark's items-per-pair figure (the cost of an export):
   * the adapter's own figure, not part of the port.
   */
  itemsStreamed = 0;
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string }) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  /**
   * Marks the company seen, then merges the attributes on the version read with them (retried when
   * another update came in between). Over the bound, refused before anything is written.
   */
  async recordCompany(environmentId: string, update: CompanyUpdate): Promise<void> {
    const { companyId, attributes = {} } = update;
    assertTrackable(update.at);
    if (Object.keys(attributes).length === 0) return this.markSeen(environmentId, companyId, update.at);
    const key = companyKey(environmentId, companyId);
    let stored = await this.storedAttributes(key);
    let merged = mergeCompanyAttributes(companyId, stored, attributes, update.at);
    await this.markSeen(environmentId, companyId, update.at);
    for (let attempt = 1; !changesNothing(stored, merged); attempt++) {
      const written = await ignoringConditionFailure(
        this.send({
          Key: key,
          UpdateExpression: 'SET #attrs = :attrs, #attrsAt = :attrsAt, #version = :next',
          ConditionExpression: stored.version === undefined ? 'attribute_not_exists(#version)' : '#version = :version',
          ExpressionAttributeNames: { '#attrs': 'attrs', '#attrsAt': 'attrsAt', '#version': 'attrsVersion' },
          ExpressionAttributeValues: {
            ':attrs': merged.values,
            ':attrsAt': merged.times,
            ':next': (stored.version ?? 0) + 1,
            ...(stored.version === undefined ? {} : { ':version': stored.version }),
          },
        }),
      );
      if (written) return;
      if (attempt === VERSIONED_ATTEMPTS)
        throw new Error(`Company attributes changed ${attempt} times while being merged.`);
      await contentionPause(attempt);
      stored = await this.storedAttributes(key);
      merged = mergeCompanyAttributes(companyId, stored, attributes, update.at);
    }
  }

  async companyAttributes(environmentId: string, companyId: string): Promise<StoredAttributes> {
    const { values, times } = await this.storedAttributes(companyKey(environmentId, companyId));
    return { values, times };
  }

  private async storedAttributes(key: Key): Promise<StoredAttributes & { version?: number }> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: key,
        ConsistentRead: true,
        ProjectionExpression: '#attrs, #attrsAt, #version',
        ExpressionAttributeNames: { '#attrs': 'attrs', '#attrsAt': 'attrsAt', '#version': 'attrsVersion' },
      }),
    );
    return {
      values: (Item?.attrs ?? {}) as Record<string, AttributeValue>,
      times: (Item?.attrsAt ?? {}) as Record<string, number>,
      version: Item?.attrsVersion as number | undefined,
    };
  }

  /** The user's company is the one of its latest update by timestamp, whatever the arrival order. */
  async recordUser(environmentId: string, update: UserUpdate): Promise<void> {
    const key = userKey(environmentId, update.userId);
    if (update.companyId === undefined) {
      await this.send({
        Key: key,
        UpdateExpression: 'SET #userId = :userId',
        ExpressionAttributeNames: { '#userId': 'userId' },
        ExpressionAttributeValues: { ':userId': update.userId },
      });
      return;
    }
    await ignoringConditionFailure(
      this.send({
        Key: key,
        UpdateExpression: 'SET #userId = :userId, #companyId = :companyId, #companyAt = :at',
        ConditionExpression: 'attribute_not_exists(#companyAt) OR #companyAt <= :at',
        ExpressionAttributeNames: { '#userId': 'userId', '#companyId': 'companyId', '#companyAt': 'companyAt' },
        ExpressionAttributeValues: { ':userId': update.userId, ':companyId': update.companyId, ':at': update.at },
      }),
    );
  }

  async findUserCompany(environmentId: string, userId: string): Promise<string | undefined> {
    // Consistent: a bulk request may link a user to a company and send its events right after.
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: userKey(environmentId, userId),
        ProjectionExpression: '#companyId',
        ExpressionAttributeNames: { '#companyId': 'companyId' },
        ConsistentRead: true,
      }),
    );
    return Item?.companyId as string | undefined;
  }

  async recordEvent(environmentId: string, event: UsageEvent): Promise<void> {
    assertTrackable(event.at);
    await Promise.all([
      this.stamp(usageKey(environmentId, event.companyId, event.eventKey), usageContainers(event.eventKey), {
        days: 'used',
        log: 'usedLog',
        first: 'firstUsed',
        at: event.at,
      }),
      this.markSeen(environmentId, event.companyId, event.at),
    ]);
  }

  async recordFeedback(environmentId: string, feedback: FeedbackRecord): Promise<void> {
    assertTrackable(feedback.at);
    await Promise.all([
      this.addFeedback(environmentId, feedback),
      this.markSeen(environmentId, feedback.companyId, feedback.at),
    ]);
  }

  /** Adds the record to the usage item's recent map unless its id is already counted (see the header). */
  private async addFeedback(environmentId: string, feedback: FeedbackRecord): Promise<void> {
    const key = usageKey(environmentId, feedback.companyId, feedback.eventKey);
    const entry: FeedbackEntry = { at: feedback.at, score: feedback.score };
    for (let attempt = 1; ; attempt++) {
      // The version first: a fold that counted this id put its marker before raising the version.
      const { Item: item } = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: key,
          ConsistentRead: true,
          ProjectionExpression: '#version, #recent',
          ExpressionAttributeNames: { '#version': 'fbVersion', '#recent': 'fbRecent' },
        }),
      );
      const recent = (item?.fbRecent ?? {}) as Record<string, FeedbackEntry>;
      if (recent[feedback.id] !== undefined || (await this.feedbackFolded(environmentId, feedback.id))) return;
      const version = item?.fbVersion as number | undefined;
      const added = await ignoringConditionFailure(
        this.sendCreatingItem(
          {
            Key: key,
            UpdateExpression: 'SET #recent.#id = :entry',
            ConditionExpression: version === undefined ? 'attribute_not_exists(#version)' : '#version = :version',
            ExpressionAttributeNames: { '#recent': 'fbRecent', '#id': feedback.id, '#version': 'fbVersion' },
            ExpressionAttributeValues: { ':entry': entry, ...(version === undefined ? {} : { ':version': version }) },
          },
          usageContainers(feedback.eventKey),
        ),
      );
      if (added) {
        if (Object.keys(recent).length + 1 >= FOLD_FEEDBACK_AT) await this.foldFeedback(environmentId, feedback);
        return;
      }
      if (attempt === VERSIONED_ATTEMPTS) throw new Error(`Feedback was folded ${attempt} times while being recorded.`);
      await contentionPause(attempt);
    }
  }

  private async feedbackFolded(environmentId: string, feedbackId: string): Promise<boolean> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: feedbackMarkerKey(environmentId, feedbackId),
        ConsistentRead: true,
        ProjectionExpression: 'sk',
      }),
    );
    return Item !== undefined;
  }

  /**
   * Folds the oldest recent records (at most MAX_FOLDED) into the feedback log: their markers first,
   * then the log, conditionally on the version read and on each record still being recent. When
   * refused, the markers stand for records still counted in the recent map, and a later write folds.
   */
  private async foldFeedback(environmentId: string, { companyId, eventKey }: FeedbackRecord): Promise<void> {
    const key = usageKey(environmentId, companyId, eventKey);
    const { Item: item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: key,
        ConsistentRead: true,
        ProjectionExpression: '#version, #recent, #log',
        ExpressionAttributeNames: { '#version': 'fbVersion', '#recent': 'fbRecent', '#log': 'fbLog' },
      }),
    );
    const recent = Object.entries((item?.fbRecent ?? {}) as Record<string, FeedbackEntry>);
    if (recent.length < FOLD_FEEDBACK_AT) return;
    const folded = recent.sort(([, a], [, b]) => a.at - b.at).slice(0, MAX_FOLDED);
    const markers = folded.map(([id, entry]) => ({
      ...feedbackMarkerKey(environmentId, id),
      companyId,
      eventKey,
      ...entry,
    }));
    for (let start = 0; start < markers.length; start += BATCH_SIZE)
      await this.batchPut(markers.slice(start, start + BATCH_SIZE));
    const version = item?.fbVersion as number | undefined;
    const log = packFeedbackLog([
      ...feedbackLog(item?.fbLog as Uint8Array | undefined),
      ...folded.map(([, entry]) => feedbackTally(entry)),
    ]);
    await ignoringConditionFailure(
      this.send({
        Key: key,
        UpdateExpression: `SET #log = :log, #version = :next REMOVE ${folded.map((_, i) => `#recent.#i${i}`).join(', ')}`,
        ConditionExpression: [
          version === undefined ? 'attribute_not_exists(#version)' : '#version = :version',
          ...folded.map((_, i) => `attribute_exists(#recent.#i${i})`),
        ].join(' AND '),
        ExpressionAttributeNames: {
          '#log': 'fbLog',
          '#version': 'fbVersion',
          '#recent': 'fbRecent',
          ...Object.fromEntries(folded.map(([id], i) => [`#i${i}`, id])),
        },
        ExpressionAttributeValues: {
          ':log': log,
          ':next': (version ?? 0) + 1,
          ...(version === undefined ? {} : { ':version': version }),
        },
      }),
    );
  }

  /** Replaces the company item and the usage items of the given event keys; other keys stay as they are. */
  async putCompanyUsage(environmentId: string, { company, usage }: CompanyUsage): Promise<void> {
    const attrs = company.name === null ? { ...company.attributes } : { ...company.attributes, name: company.name };
    const items: Item[] = [
      {
        ...companyKey(environmentId, company.companyId),
        companyId: company.companyId,
        firstSeen: company.firstSeen,
        seenLog: packDayLog(company.seenDays),
        seen: {},
        attrs,
      },
      ...usage.map((record) => ({
        ...usageKey(environmentId, company.companyId, record.eventKey),
        eventKey: record.eventKey,
        // Absent rather than NULL: the first-used conditions compare it as a number.
        ...(record.firstUsed === null ? {} : { firstUsed: record.firstUsed }),
        usedLog: packDayLog(record.usedDays),
        used: {},
        fbLog: packFeedbackLog(record.feedback),
        fbRecent: {},
      })),
    ];
    for (let start = 0; start < items.length; start += BATCH_SIZE) {
      await this.batchPut(items.slice(start, start + BATCH_SIZE));
    }
  }

  async *streamCompanyUsage(environmentId: string): AsyncIterable<CompanyUsage> {
    let current: { sk: string; company: CompanyRecord; usage: FeatureUsageRecord[] } | undefined;
    for await (const items of this.readAheadPages({
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': { S: companiesPk(environmentId) }, ':prefix': { S: COMPANY_PREFIX } },
    })) {
      for (const item of items) {
        const sk = item.sk.S!;
        const infix = sk.indexOf(USAGE_INFIX, COMPANY_PREFIX.length);
        if (infix === -1) {
          if (current) yield { company: current.company, usage: current.usage };
          current = { sk, company: toCompanyRecord(item), usage: [] };
          this.itemsStreamed++;
        } else if (current?.sk === sk.slice(0, infix)) {
          current.usage.push(toFeatureUsageRecord(item));
          this.itemsStreamed++;
        }
        // Otherwise usage whose company item is being created concurrently: the next export has both.
      }
    }
    if (current) yield { company: current.company, usage: current.usage };
  }

  /**
   * The pages of one Query, the next one requested as soon as the current one is taken: the table
   * serves page n+1 while the export turns page n into rows. At most one page (<= 1 MB) is held ahead.
   */
  private async *readAheadPages(input: QueryCommandInput): AsyncGenerator<StoredItem[]> {
    // A page read ahead may fail while the export is still busy with the previous one (or never be
    // awaited, when the export stops early). Holding its outcome instead of a rejecting promise means
    // no rejection ever goes unhandled (Lambda's runtime ends the process on one): the error is thrown
    // here, when the page is due.
    type PageOutcome = { page: QueryCommandOutput } | { error: unknown };
    const request = (exclusiveStartKey?: StoredItem): Promise<PageOutcome> =>
      queryStoredItems(
        this.client,
        exclusiveStartKey ? { ...input, ExclusiveStartKey: exclusiveStartKey } : input,
      ).then(
        (page) => ({ page }),
        (error: unknown) => ({ error }),
      );
    let next: Promise<PageOutcome> | undefined = request();
    while (next) {
      const outcome: PageOutcome = await next;
      if ('error' in outcome) throw outcome.error;
      const page: QueryCommandOutput = outcome.page;
      next = page.LastEvaluatedKey ? request(page.LastEvaluatedKey) : undefined;
      yield page.Items ?? [];
    }
  }

  private markSeen(environmentId: string, companyId: string, at: number): Promise<void> {
    return this.stamp(companyKey(environmentId, companyId), companyContainers(companyId), {
      days: 'seen',
      log: 'seenLog',
      first: 'firstSeen',
      at,
    });
  }

  /**
   * Folds `at` into the day history (keep the day's latest) and the first-time attribute (keep the
   * earliest). In-order arrival on an existing item is one update; when a later day value or an earlier
   * first time is already stored, that combined update is refused and each part is retried on its own
   * condition. A write that adds a day to the recent-days map may compact the map into the log.
   */
  private async stamp(key: Key, containers: Item, stamp: Stamp): Promise<void> {
    const day = String(toEpochDay(stamp.at));
    const names = { '#days': stamp.days, '#day': day, '#first': stamp.first };
    const values = { ':at': stamp.at };
    /** UPDATED_OLD carries the day's previous value: none means this write added the day. */
    const addedDay = (old: Item | undefined) => (old?.[stamp.days] as Item | undefined)?.[day] === undefined;
    let dayAdded: boolean;
    try {
      const old = await this.sendCreatingItem(
        {
          Key: key,
          UpdateExpression: 'SET #days.#day = :at, #first = if_not_exists(#first, :at)',
          ConditionExpression:
            '(attribute_not_exists(#days.#day) OR #days.#day <= :at) AND (attribute_not_exists(#first) OR #first <= :at)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_OLD',
        },
        containers,
      );
      dayAdded = addedDay(old);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Refused, so the item exists, with its maps.
      dayAdded = await this.stampEachPart(key, names, values, addedDay);
    }
    if (dayAdded) await this.compactIfDue(key, stamp);
  }

  /** The parts of a refused stamp, each on its own condition; true when the day was added. */
  private async stampEachPart(
    key: Key,
    names: Record<string, string>,
    values: Record<string, unknown>,
    addedDay: (old: Item | undefined) => boolean,
  ): Promise<boolean> {
    const dayLatest = this.send({
      Key: key,
      UpdateExpression: 'SET #days.#day = :at',
      ConditionExpression: 'attribute_not_exists(#days.#day) OR #days.#day < :at',
      ExpressionAttributeNames: { '#days': names['#days'], '#day': names['#day'] },
      ExpressionAttributeValues: values,
      ReturnValues: 'UPDATED_OLD',
    });
    const firstEarliest = this.send({
      Key: key,
      UpdateExpression: 'SET #first = :at',
      ConditionExpression: 'attribute_not_exists(#first) OR #first > :at',
      ExpressionAttributeNames: { '#first': names['#first'] },
      ExpressionAttributeValues: values,
    });
    // A refused condition means a later (or earlier) value is already stored: nothing to do.
    const [dayWritten] = await Promise.all([
      ignoringConditionFailure(dayLatest),
      ignoringConditionFailure(firstEarliest),
    ]);
    return dayWritten && addedDay(await dayLatest);
  }

  /**
   * Once the recent-days map holds COMPACT_AT_DAYS days, folds them (at most MAX_FOLDED, the oldest)
   * into the log. Conditional on the log's version (no other compaction in between) and on each folded
   * day's value (no later time written since): when refused, the item stays as it is, correct, and a
   * later write compacts it. A day the log cannot hold (stored before times were checked, e.g. before
   * 1970) is left in the map and never blocks a compaction.
   */
  private async compactIfDue(key: Key, stamp: Stamp): Promise<void> {
    const { Item: item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: key,
        ConsistentRead: true,
        ProjectionExpression: '#days, #log, #version',
        ExpressionAttributeNames: { '#days': stamp.days, '#log': stamp.log, '#version': LOG_VERSION },
      }),
    );
    const stored = (item?.[stamp.days] ?? {}) as Record<string, number>;
    const packable = Object.keys(stored).filter((day) => isPackable(Number(day), stored[day]));
    if (packable.length < COMPACT_AT_DAYS) return;
    // Integer-like keys come in ascending order: the oldest first.
    const recentDays = packable.slice(0, MAX_FOLDED);
    const recent = Object.fromEntries(recentDays.map((day) => [day, stored[day]]));
    const version = item?.[LOG_VERSION] as number | undefined;
    const log = packDayLog(dayHistory(item?.[stamp.log] as Uint8Array | undefined, recent));
    await ignoringConditionFailure(
      this.send({
        Key: key,
        UpdateExpression: `SET #log = :log, #version = :next REMOVE ${recentDays.map((_, i) => `#days.#d${i}`).join(', ')}`,
        ConditionExpression: [
          version === undefined ? 'attribute_not_exists(#version)' : '#version = :version',
          ...recentDays.map((_, i) => `#days.#d${i} = :d${i}`),
        ].join(' AND '),
        ExpressionAttributeNames: {
          '#log': stamp.log,
          '#version': LOG_VERSION,
          '#days': stamp.days,
          ...Object.fromEntries(recentDays.map((day, i) => [`#d${i}`, day])),
        },
        ExpressionAttributeValues: {
          ':log': log,
          ':next': (version ?? 0) + 1,
          ...(version === undefined ? {} : { ':version': version }),
          ...Object.fromEntries(recentDays.map((day, i) => [`:d${i}`, recent[day]])),
        },
      }),
    );
  }

  /**
   * Sends an update with nested map paths; when the item (hence its maps) does not exist yet, creates
   * it with its containers (idempotent, safe against a concurrent creation) and sends the update again.
   * Resolves to what the update's ReturnValues asks for.
   */
  private async sendCreatingItem(
    input: Omit<UpdateCommandInput, 'TableName'>,
    containers: Item,
  ): Promise<Item | undefined> {
    try {
      return await this.send(input);
    } catch (error) {
      if (!isMissingDocumentPath(error)) throw error;
      await this.createContainers(input.Key as Key, containers);
      return await this.send(input);
    }
  }

  private async createContainers(key: Key, containers: Item): Promise<void> {
    const entries = Object.entries(containers);
    await this.send({
      Key: key,
      UpdateExpression: `SET ${entries.map((_, i) => `#c${i} = if_not_exists(#c${i}, :c${i})`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(entries.map(([name], i) => [`#c${i}`, name])),
      ExpressionAttributeValues: Object.fromEntries(entries.map(([, value], i) => [`:c${i}`, value])),
    });
  }

  /** One UpdateItem; resolves to the attributes its ReturnValues asks for. */
  private async send(input: Omit<UpdateCommandInput, 'TableName'>): Promise<Item | undefined> {
    const { Attributes } = await this.client.send(new UpdateCommand({ TableName: this.tableName, ...input }));
    return Attributes;
  }

  /** One BatchWriteItem of at most 25 puts, resending what DynamoDB leaves unprocessed, with backoff. */
  private async batchPut(items: Item[]): Promise<void> {
    let requests = items.map((item) => ({ PutRequest: { Item: item } }));
    for (let attempt = 0; attempt < BATCH_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(Math.min(50 * 2 ** attempt, 2000));
      const { UnprocessedItems } = await this.client.send(
        new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
      );
      requests = (UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      if (requests.length === 0) return;
    }
    throw new Error(`DynamoDB left ${requests.length} items unprocessed after ${BATCH_ATTEMPTS} attempts.`);
  }
}

/** DynamoDB's answer to an update of a nested path whose parent map (or item) does not exist. */
function isMissingDocumentPath(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'ValidationException' &&
    error.message.includes('document path provided in the update expression is invalid')
  );
}

const storedNumber = (value: StoredValue | undefined): number | undefined =>
  value?.N === undefined ? undefined : Number(value.N);

/** A map of Numbers (the recent days of a day history). */
function storedNumbers(value: StoredValue | undefined): Record<string, number> | undefined {
  if (value?.M === undefined) return undefined;
  const numbers: Record<string, number> = {};
  for (const key in value.M) numbers[key] = Number(value.M[key].N);
  return numbers;
}

/** The records of a usage item's recent-feedback map, each its own tally. */
function recentFeedback(value: StoredValue | undefined): FeedbackTally[] {
  const tallies: FeedbackTally[] = [];
  for (const id in value?.M) {
    const entry = value.M[id].M!;
    tallies.push(feedbackTally({ at: storedNumber(entry.at)!, score: storedNumber(entry.score) ?? null }));
  }
  return tallies;
}

function toCompanyRecord(item: StoredItem): CompanyRecord {
  // Attributes are whatever tracking sent: the SDK's own conversion.
  const attributes = (item.attrs?.M === undefined ? {} : unmarshall(item.attrs.M)) as Record<string, AttributeValue>;
  const name = attributes.name;
  return {
    companyId: item.companyId.S!,
    name: name === undefined || name === null ? null : String(name),
    attributes,
    firstSeen: storedNumber(item.firstSeen)!,
    seenDays: dayHistory(item.seenLog?.B, storedNumbers(item.seen)),
  };
}

function toFeatureUsageRecord(item: StoredItem): FeatureUsageRecord {
  return {
    eventKey: item.eventKey.S!,
    firstUsed: storedNumber(item.firstUsed) ?? null,
    usedDays: dayHistory(item.usedLog?.B, storedNumbers(item.used)),
    feedback: [...feedbackLog(item.fbLog?.B), ...recentFeedback(item.fbRecent)],
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** A random pause before the next optimistic attempt, longer as attempts go, so contenders spread out. */
const contentionPause = (attempt: number) => sleep(Math.random() * Math.min(5 * attempt, 50));
