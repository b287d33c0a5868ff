/**
 * The input limits (core/limits.ts) as zod schemas, shared by the ingest and management routes. Each
 * schema carries the limit in its JSON Schema too (maxLength, maximum, a description), so the OpenAPI
 * document states what the validation enforces.
 */
import { z } from 'zod';
import {
  EARLIEST_TIMESTAMP_MS,
  MAX_ATTRIBUTE_KEY_CHARS,
  MAX_ATTRIBUTE_VALUE_BYTES,
  MAX_ATTRIBUTES,
  MAX_ATTRIBUTES_BYTES,
  MAX_ID_BYTES,
  MAX_KEY_PREFIX_BYTES,
  MAX_NESTING_DEPTH,
  MAX_NUMBER_MAGNITUDE,
  hasLoneSurrogate,
  LONE_SURROGATE_PROBLEM,
  idProblem,
  keyPrefixProblem,
  nestedValueProblem,
  nestingDeeperThan,
  numberProblem,
  storedAttributeValue,
  utf8Bytes,
} from '../core/limits';
import type { JsonValue } from '../core/raw-log';

/** Adds `problem(value)` as an issue when it names one. */
const checkedBy =
  <T>(problem: (value: T) => string | undefined) =>
  (value: T, context: z.RefinementCtx) => {
    const message = problem(value);
    if (message !== undefined) context.addIssue({ code: 'custom', message });
  };

/** A company, user, feature or segment id, or an event name: 1-256 bytes of valid UTF-8. */
export const idText = z
  .string()
  .min(1, { message: 'must not be empty', abort: true })
  // Never fewer bytes than characters: the character bound is what JSON Schema can state.
  .max(MAX_ID_BYTES, { message: `must be at most ${MAX_ID_BYTES} bytes of UTF-8; shorten it`, abort: true })
  .superRefine(checkedBy(idProblem))
  .meta({ description: `1-${MAX_ID_BYTES} bytes of valid UTF-8` });

/** A number DynamoDB stores exactly: finite, within ±(2^53-1). */
export const storableNumber = z
  .number()
  .min(-MAX_NUMBER_MAGNITUDE, `must be at least -${MAX_NUMBER_MAGNITUDE} (-(2^53-1)); send larger numbers as a string`)
  .max(MAX_NUMBER_MAGNITUDE, `must be at most ${MAX_NUMBER_MAGNITUDE} (2^53-1); send larger numbers as a string`)
  .superRefine(checkedBy(numberProblem));

/** Any text the service stores: without lone surrogates, which UTF-8 cannot encode. */
export const wellFormedText = z.string().refine((text) => !hasLoneSurrogate(text), LONE_SURROGATE_PROBLEM);

/** Text without lone surrogates, at most `maxBytes` bytes of UTF-8. */
export const boundedText = (maxBytes: number) =>
  z
    .string()
    .max(maxBytes, { message: `must be at most ${maxBytes} bytes of UTF-8`, abort: true })
    .superRefine(
      checkedBy((text: string) => {
        if (hasLoneSurrogate(text)) return LONE_SURROGATE_PROBLEM;
        const bytes = utf8Bytes(text);
        return bytes > maxBytes
          ? `must be at most ${maxBytes} bytes of UTF-8 (it has ${bytes}); shorten it`
          : undefined;
      }),
    );

/** Why one attribute value cannot be kept, or undefined when it can. */
function attributeValueProblem(value: unknown): string | undefined {
  if (typeof value === 'number') return numberProblem(value);
  if (value !== null && typeof value === 'object') {
    const problem = nestedValueProblem(value, MAX_NESTING_DEPTH);
    if (problem !== undefined) return problem;
  }
  const stored = storedAttributeValue(value);
  if (typeof stored !== 'string') return undefined;
  if (hasLoneSurrogate(stored)) return LONE_SURROGATE_PROBLEM;
  const bytes = utf8Bytes(stored);
  return bytes > MAX_ATTRIBUTE_VALUE_BYTES
    ? `is ${bytes} bytes; an attribute value is at most ${MAX_ATTRIBUTE_VALUE_BYTES} bytes (nested values as JSON text)`
    : undefined;
}

function attributeKeyProblem(key: string): string | undefined {
  if (key.length === 0 || key.length > MAX_ATTRIBUTE_KEY_CHARS)
    return `attribute names are 1-${MAX_ATTRIBUTE_KEY_CHARS} characters`;
  if (hasLoneSurrogate(key)) return 'attribute names must be valid UTF-8 text (this one contains a lone surrogate)';
  return undefined;
}

/**
 * Tracking attributes: at most 100 per item, names 1-128 characters, values up to 8 KB and nested at
 * most 8 levels (each counted as the usage history stores it: nested JSON as its JSON text), 64 KB in all.
 */
export const attributes = z
  .record(z.string(), z.unknown())
  .superRefine((record, context) => {
    const entries = Object.entries(record).filter(([, value]) => value !== undefined);
    if (entries.length > MAX_ATTRIBUTES) {
      context.addIssue({
        code: 'custom',
        message: `has ${entries.length} attributes; send at most ${MAX_ATTRIBUTES} per item`,
      });
      return;
    }
    let total = 0;
    for (const [key, value] of entries) {
      const problem = attributeKeyProblem(key) ?? attributeValueProblem(value);
      if (problem !== undefined) context.addIssue({ code: 'custom', path: [key], message: problem });
      else total += utf8Bytes(key) + utf8Bytes(String(storedAttributeValue(value)));
    }
    if (total > MAX_ATTRIBUTES_BYTES) {
      context.addIssue({
        code: 'custom',
        message: `are ${total} bytes in all; one item's attributes are at most ${MAX_ATTRIBUTES_BYTES} bytes`,
      });
    }
  })
  // Kept as sent (the raw event log); the usage history stores nested values as their JSON text.
  .transform(
    (record) =>
      Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as Record<
        string,
        JsonValue
      >,
  )
  .meta({
    description: `At most ${MAX_ATTRIBUTES} attributes, names 1-${MAX_ATTRIBUTE_KEY_CHARS} characters, values up to ${MAX_ATTRIBUTE_VALUE_BYTES} bytes nested at most ${MAX_NESTING_DEPTH} levels, ${MAX_ATTRIBUTES_BYTES} bytes in all; numbers within ±(2^53-1)`,
  });

/** Any JSON the service keeps as it came (e.g. an SDK's context): bounded in depth only. */
export const shallowJson = z
  .unknown()
  .superRefine(
    checkedBy((value: unknown) =>
      nestingDeeperThan(value, MAX_NESTING_DEPTH)
        ? `nests objects and arrays more than ${MAX_NESTING_DEPTH} levels deep`
        : undefined,
    ),
  );

const EARLIEST = new Date(EARLIEST_TIMESTAMP_MS).toISOString();

/** Epoch milliseconds or ISO-8601, on or after 2000-01-01 (the upper bound depends on the clock: see the ingest routes). */
export const timestamp = z
  .union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }), z.iso.date()], {
    error: 'must be epoch milliseconds or an ISO-8601 date-time, e.g. 2026-11-23T10:00:00Z',
  })
  .transform((value) => (typeof value === 'number' ? value : Date.parse(value)))
  .refine((ms) => ms >= EARLIEST_TIMESTAMP_MS, {
    message: `must be on or after ${EARLIEST} (epoch milliseconds, not seconds, or an ISO-8601 date-time)`,
  });

/** A folder inside a bucket: at most 512 bytes, `/`-separated segments that are not empty, `.` or `..`. */
export const keyPrefix = z
  .string()
  .max(MAX_KEY_PREFIX_BYTES, { message: `must be at most ${MAX_KEY_PREFIX_BYTES} bytes of UTF-8`, abort: true })
  .superRefine(checkedBy(keyPrefixProblem))
  .meta({
    description: `A folder in the bucket: at most ${MAX_KEY_PREFIX_BYTES} bytes, "/"-separated segments that are not empty, "." or ".."; no leading "/", no control characters`,
  });
