/**
 * `/ingest/*`: Bucket's tracking HTTP API, so its official SDKs work unchanged when pointed at
 * `<base>/ingest`. Answers `{success: true}` or `{success: false, error}`.
 */
import { z } from 'zod';
import {
  MAX_BULK_ITEMS,
  MAX_FEEDBACK_TEXT_BYTES,
  MAX_FUTURE_MS,
  MAX_INGEST_KEY_CHARS,
  MIN_INGEST_KEY_CHARS,
} from '../core/limits';
import type { IngestItem, IngestService } from '../core/ingest';
import type { JsonValue } from '../core/raw-log';
import { OPERATIONAL_METRICS, uncountedMetrics, type Clock, type OperationalMetrics } from '../ports';
import { UnauthorizedError, ValidationError } from '../core/errors';
import { errorResponse } from './errors';
import { Router } from './router';
import type { HttpRequest, HttpResponse } from './types';
import { attributes, boundedText, idText, shallowJson, timestamp } from './limited-schemas';
import { validateBody } from './validation';

/** Ids may come as numbers (some SDKs send numeric ids): kept as their text, with the text's limits. */
const id = z
  .union([z.string(), z.number()], { error: 'must be a non-empty string or a number' })
  .transform(String)
  .pipe(idText);
const optionalTimestamp = timestamp.optional();
const optionalAttributes = attributes.optional();
const context = shallowJson.optional().transform((value) => value as JsonValue | undefined);

const userSchema = z.object({ userId: id, attributes: optionalAttributes, context, timestamp: optionalTimestamp });
const companySchema = z.object({
  companyId: id,
  userId: id.optional(),
  attributes: optionalAttributes,
  context,
  timestamp: optionalTimestamp,
});
const eventSchema = z.object({
  event: idText,
  userId: id,
  companyId: id.optional(),
  attributes: optionalAttributes,
  context,
  timestamp: optionalTimestamp,
});
const feedbackSchema = z
  .object({
    userId: id.optional(),
    companyId: id.optional(),
    featureId: idText.optional(),
    key: idText.optional(),
    score: z.number().int().min(1).max(5).nullable().optional(),
    comment: boundedText(MAX_FEEDBACK_TEXT_BYTES).optional(),
    question: boundedText(MAX_FEEDBACK_TEXT_BYTES).optional(),
    promptId: idText.optional(),
    source: idText.optional(),
    timestamp: optionalTimestamp,
  })
  .refine((value) => value.featureId !== undefined || value.key !== undefined, {
    message: 'feedback needs the feature: send key (the feature key) or featureId',
    path: ['key'],
  })
  .refine((value) => value.userId !== undefined || value.companyId !== undefined, {
    message: 'feedback needs companyId (or a userId linked to a company)',
    path: ['companyId'],
  });

/** Two identities of one person (ours, beyond Bucket's API). */
const aliasSchema = z.object({ userId: id, alias: id, timestamp: optionalTimestamp });

const bulkItem = z.discriminatedUnion(
  'type',
  [
    userSchema.extend({ type: z.literal('user') }),
    companySchema.extend({ type: z.literal('company') }),
    eventSchema.extend({ type: z.literal('event') }),
    feedbackSchema.safeExtend({ type: z.literal('feedback') }),
    aliasSchema.extend({ type: z.literal('alias') }),
    z.object({ type: z.literal('feature-flag-event') }).loose(),
  ],
  { error: 'type must be one of user, company, event, feedback, alias, feature-flag-event' },
);
const bulkSchema = z
  .array(bulkItem)
  .min(1, 'send at least one item')
  .max(MAX_BULK_ITEMS, `send at most ${MAX_BULK_ITEMS} items per request`);

type BulkItem = z.infer<typeof bulkItem>;

function toItem(item: BulkItem, now: number): IngestItem {
  const at = 'timestamp' in item && typeof item.timestamp === 'number' ? item.timestamp : now;
  switch (item.type) {
    case 'user':
      return { type: 'user', userId: item.userId, attributes: item.attributes, context: item.context, at };
    case 'company':
      return {
        type: 'company',
        companyId: item.companyId,
        userId: item.userId,
        attributes: item.attributes,
        context: item.context,
        at,
      };
    case 'event':
      return {
        type: 'event',
        event: item.event,
        userId: item.userId,
        companyId: item.companyId,
        attributes: item.attributes,
        context: item.context,
        at,
      };
    case 'feedback':
      return {
        type: 'feedback',
        userId: item.userId,
        companyId: item.companyId,
        featureId: item.featureId,
        featureKey: item.key,
        score: item.score ?? null,
        attributes: feedbackText(item),
        at,
      };
    case 'alias':
      return { type: 'alias', userId: item.userId, alias: item.alias, at };
    case 'feature-flag-event':
      return { type: 'ignored' };
  }
}

/** The feedback's texts, kept in the raw event log. */
function feedbackText(item: Extract<BulkItem, { type: 'feedback' }>): Record<string, JsonValue> | undefined {
  const { comment, question, promptId, source } = item;
  const text = Object.fromEntries(
    Object.entries({ comment, question, promptId, source }).filter(([, value]) => value !== undefined),
  );
  return Object.keys(text).length > 0 ? (text as Record<string, JsonValue>) : undefined;
}

/** The request's ingest key; one of impossible length is refused before any lookup. */
function ingestKeyOf(request: HttpRequest): string | undefined {
  const header = request.headers.authorization;
  const bearer = header?.match(/^Bearer\s+(.+)$/i)?.[1];
  const key = bearer ?? request.query.publishableKey;
  if (key !== undefined && (key.length < MIN_INGEST_KEY_CHARS || key.length > MAX_INGEST_KEY_CHARS)) {
    throw new UnauthorizedError(
      `Invalid ingest key: ingest keys are ${MIN_INGEST_KEY_CHARS}-${MAX_INGEST_KEY_CHARS} characters and this one has ${key.length}. Use the ingestKey returned when the environment was created.`,
    );
  }
  return key;
}

/** Ingest answers in Bucket's shape: `{success: false, error}` instead of the management API's envelope. */
function ingestError(error: unknown): HttpResponse {
  const mapped = errorResponse(error);
  const body = mapped.body as { error: unknown };
  return { ...mapped, body: { success: false, error: body.error } };
}

/** @param metrics counts the refused requests by reason (the error code answered) */
export function ingestRouter(
  service: IngestService,
  clock: Clock,
  metrics: OperationalMetrics = uncountedMetrics,
): Router {
  const refuse = (error: unknown): HttpResponse => {
    const response = ingestError(error);
    const reason = (response.body as { error?: { code?: unknown } }).error?.code;
    metrics.count(OPERATIONAL_METRICS.ingestRequestsRefused, 1, {
      reason: typeof reason === 'string' ? reason : `http_${response.status}`,
    });
    return response;
  };
  const post =
    (schema: z.ZodType<unknown>, type: Exclude<BulkItem['type'], 'feature-flag-event'> | 'bulk') =>
    async ({ request }: { request: HttpRequest }): Promise<HttpResponse> => {
      const environment = await service.authenticate(ingestKeyOf(request));
      const parsed = validateBody(schema, request.body);
      const now = clock.now();
      const items = (type === 'bulk' ? (parsed as BulkItem[]) : [{ ...(parsed as object), type } as BulkItem]).map(
        (item) => toItem(item, now),
      );
      rejectFutureTimestamps(items, now);
      await service.ingest(environment, items, now);
      return { status: 200, body: { success: true } };
    };

  return new Router(refuse)
    .add('POST', '/ingest/user', post(userSchema, 'user'))
    .add('POST', '/ingest/company', post(companySchema, 'company'))
    .add('POST', '/ingest/event', post(eventSchema, 'event'))
    .add('POST', '/ingest/feedback', post(feedbackSchema, 'feedback'))
    .add('POST', '/ingest/alias', post(aliasSchema, 'alias'))
    .add('POST', '/ingest/bulk', post(bulkSchema, 'bulk'))
    .add('GET', '/ingest/features', async ({ request }) => {
      const environment = await service.authenticate(ingestKeyOf(request));
      const features = await service.features(environment);
      return {
        status: 200,
        body: {
          success: true,
          // Targeting is not this service's concern: no rules, so SDKs see every feature as off.
          features: features.map((feature) => ({
            key: feature.key,
            name: feature.name,
            targeting: { version: 1, rules: [] },
          })),
        },
      };
    });
}

function rejectFutureTimestamps(items: IngestItem[], now: number): void {
  const index = items.findIndex((item) => item.type !== 'ignored' && item.at > now + MAX_FUTURE_MS);
  if (index >= 0) {
    const path = items.length > 1 ? `[${index}].timestamp` : 'timestamp';
    const limit = new Date(now + MAX_FUTURE_MS).toISOString();
    throw new ValidationError(
      `${path} is more than a day in the future; send epoch milliseconds (not seconds) or an ISO-8601 date-time no later than ${limit}.`,
      [{ path, message: `must be no later than ${limit} (now + 1 day)` }],
    );
  }
}
