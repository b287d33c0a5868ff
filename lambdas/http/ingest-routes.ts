/**
 * `/ingest/*`: Bucket's tracking HTTP API, so its official SDKs work unchanged when pointed at
 * `<base>/ingest`. Answers `{success: true}` or `{success: false, error}`.
 */
import { z } from 'zod';
import type { IngestItem, IngestService } from '../core/ingest';
import type { JsonValue } from '../core/raw-log';
import type { Clock } from '../ports';
import { ValidationError } from '../core/errors';
import { errorResponse } from './errors';
import { Router } from './router';
import type { HttpRequest, HttpResponse } from './types';
import { validateBody } from './validation';

/** Future timestamps beyond this are a client clock or unit error (seconds vs milliseconds). */
const MAX_FUTURE_MS = 60 * 60 * 1000;
export const MAX_BULK_ITEMS = 1000;

const id = z.union([z.string().min(1).max(256), z.number()], { error: 'must be a non-empty string or a number' }).transform(String);

const timestamp = z
  .union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }), z.iso.date()], {
    error: 'must be epoch milliseconds or an ISO-8601 date-time, e.g. 2026-11-23T10:00:00Z',
  })
  .transform((value) => (typeof value === 'number' ? value : Date.parse(value)))
  .optional();

/** Attributes as sent (JSON values); the usage history keeps nested ones as their JSON text. */
const attributes = z
  .record(z.string().min(1).max(256), z.unknown())
  .transform((record) => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as Record<string, JsonValue>)
  .optional();

const context = z.unknown().optional().transform((value) => value as JsonValue | undefined);

const userSchema = z.object({ userId: id, attributes, context, timestamp });
const companySchema = z.object({ companyId: id, userId: id.optional(), attributes, context, timestamp });
const eventSchema = z.object({
  event: z.string().min(1, 'must name the event').max(256),
  userId: id,
  companyId: id.optional(),
  attributes,
  context,
  timestamp,
});
const feedbackSchema = z
  .object({
    userId: id.optional(),
    companyId: id.optional(),
    featureId: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    score: z.number().int().min(1).max(5).nullable().optional(),
    comment: z.string().max(10_000).optional(),
    question: z.string().optional(),
    promptId: z.string().optional(),
    source: z.string().optional(),
    timestamp,
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
const aliasSchema = z.object({ userId: id, alias: id, timestamp });

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
const bulkSchema = z.array(bulkItem).min(1, 'send at least one item').max(MAX_BULK_ITEMS, `send at most ${MAX_BULK_ITEMS} items per request`);

type BulkItem = z.infer<typeof bulkItem>;

function toItem(item: BulkItem, now: number): IngestItem {
  const at = 'timestamp' in item && typeof item.timestamp === 'number' ? item.timestamp : now;
  switch (item.type) {
    case 'user':
      return { type: 'user', userId: item.userId, attributes: item.attributes, context: item.context, at };
    case 'company':
      return { type: 'company', companyId: item.companyId, userId: item.userId, attributes: item.attributes, context: item.context, at };
    case 'event':
      return { type: 'event', event: item.event, userId: item.userId, companyId: item.companyId, attributes: item.attributes, context: item.context, at };
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
  const text = Object.fromEntries(Object.entries({ comment, question, promptId, source }).filter(([, value]) => value !== undefined));
  return Object.keys(text).length > 0 ? (text as Record<string, JsonValue>) : undefined;
}

function ingestKeyOf(request: HttpRequest): string | undefined {
  const header = request.headers.authorization;
  const bearer = header?.match(/^Bearer\s+(.+)$/i)?.[1];
  return bearer ?? request.query.publishableKey;
}

/** Ingest answers in Bucket's shape: `{success: false, error}` instead of the management API's envelope. */
function ingestError(error: unknown): HttpResponse {
  const mapped = errorResponse(error);
  const body = mapped.body as { error: unknown };
  return { ...mapped, body: { success: false, error: body.error } };
}

export function ingestRouter(service: IngestService, clock: Clock): Router {
  const post = (schema: z.ZodType<unknown>, type: Exclude<BulkItem['type'], 'feature-flag-event'> | 'bulk') =>
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

  return new Router(ingestError)
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
          features: features.map((feature) => ({ key: feature.key, name: feature.name, targeting: { version: 1, rules: [] } })),
        },
      };
    });
}

function rejectFutureTimestamps(items: IngestItem[], now: number): void {
  const index = items.findIndex((item) => item.type !== 'ignored' && item.at > now + MAX_FUTURE_MS);
  if (index >= 0) {
    const path = items.length > 1 ? `[${index}].timestamp` : 'timestamp';
    throw new ValidationError(
      `${path} is in the future; send epoch milliseconds (not seconds) or an ISO-8601 date-time no later than now.`,
      [{ path, message: 'is in the future' }],
    );
  }
}
