/**
 * What ingest keeps besides the usage history: each accepted item as a raw log record, the users'
 * profiles, and the event names and property keys for the catalog.
 */
import type { IngestItem } from './ingest';
import type { ReceivedEvent } from './event-catalog';
import type { JsonValue, RawRecord } from './raw-log';
import type { ProfileUpdate } from '../ports';

type LoggedItem = Exclude<IngestItem, { type: 'ignored' }>;

/** Leaves out absent fields, so they are absent from the line too. */
function present<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}

/**
 * The raw record of an item. `id` identifies the item (a retried request should repeat it);
 * `feedbackKey` is the feature key a feedback item was resolved to.
 */
export function rawRecordOf(
  environmentId: string,
  item: LoggedItem,
  receivedAt: number,
  id: string,
  feedbackKey?: string,
): RawRecord {
  const common = { id, environmentId, receivedAt, type: item.type, timestamp: item.at };
  switch (item.type) {
    case 'user':
      return present({ ...common, userId: item.userId, attributes: item.attributes, context: item.context });
    case 'company':
      return present({
        ...common,
        userId: item.userId,
        companyId: item.companyId,
        attributes: item.attributes,
        context: item.context,
      });
    case 'event':
      return present({
        ...common,
        userId: item.userId,
        companyId: item.companyId,
        event: item.event,
        attributes: item.attributes,
        context: item.context,
      });
    case 'feedback': {
      const attributes = present({ ...item.attributes, score: item.score, featureId: item.featureId }) as Record<
        string,
        JsonValue
      >;
      return present({ ...common, userId: item.userId, companyId: item.companyId, event: feedbackKey, attributes });
    }
    case 'alias':
      return { ...common, userId: item.userId, alias: item.alias };
  }
}

export const isLogged = (item: IngestItem): item is LoggedItem => item.type !== 'ignored';

/** One profile update per user of the request, its user items merged in order (later values win). */
export function profileUpdatesOf(items: readonly IngestItem[], receivedAt: number): ProfileUpdate[] {
  const updates = new Map<string, ProfileUpdate>();
  for (const item of items) {
    if (item.type !== 'user') continue;
    const update = updates.get(item.userId);
    if (update) Object.assign(update.attributes, item.attributes);
    else updates.set(item.userId, { userId: item.userId, attributes: { ...item.attributes }, at: item.at, receivedAt });
  }
  return [...updates.values()];
}

export function receivedEventsOf(items: readonly IngestItem[]): ReceivedEvent[] {
  return items.flatMap((item) =>
    item.type === 'event' ? [{ name: item.event, propertyKeys: Object.keys(item.attributes ?? {}) }] : [],
  );
}
