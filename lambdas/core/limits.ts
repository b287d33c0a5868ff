/**
 * The input limits (DESIGN "Input limits"): every API and ingest input is bounded by these before
 * anything is written. The "Limits" table of docs/api.md and the OpenAPI document are built from, or
 * checked against, these names. Pure functions here; the HTTP layer turns them into zod schemas.
 */
import { DAY_MS, type AttributeValue } from './model';

/** Request bodies; larger ones answer 413. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Company, user, feature, segment ids and event names: bytes of UTF-8. */
export const MAX_ID_BYTES = 256;
export const MIN_INGEST_KEY_CHARS = 16;
export const MAX_INGEST_KEY_CHARS = 128;
export const MAX_ATTRIBUTES = 100;
export const MAX_ATTRIBUTE_KEY_CHARS = 128;
/** One attribute value: a string's UTF-8 bytes, or the JSON text of a nested value. */
export const MAX_ATTRIBUTE_VALUE_BYTES = 8 * 1024;
/**
 * All attributes of one item together (keys and values). Added to the design's starting values:
 * 100 values of 8 KB would pass DynamoDB's 400 KB item limit in a single request.
 */
export const MAX_ATTRIBUTES_BYTES = 64 * 1024;
/** Levels of objects and arrays inside an attribute value (`{"a": {"b": 1}}` is 2). */
export const MAX_NESTING_DEPTH = 8;
/** Numbers beyond this lose precision in JavaScript and are refused by the DynamoDB marshaller. */
export const MAX_NUMBER_MAGNITUDE = Number.MAX_SAFE_INTEGER;
/** DynamoDB's smallest non-zero magnitude: anything smaller is refused as an underflow. */
export const MIN_NONZERO_NUMBER_MAGNITUDE = 1e-130;
/** 2000-01-01T00:00:00Z: earlier timestamps are a unit or clock error (and cannot be stored as days). */
export const EARLIEST_TIMESTAMP_MS = Date.UTC(2000, 0, 1);
/** How far past the receiving clock a timestamp may be (client clocks drift, time zones confuse). */
export const MAX_FUTURE_MS = DAY_MS;
export const MAX_BULK_ITEMS = 1000;
export const MAX_SEGMENT_CONDITIONS = 50;
/** Values of one `anyOf` segment condition. */
export const MAX_SEGMENT_VALUES = 100;
/** A feedback comment or question: bytes of UTF-8. */
export const MAX_FEEDBACK_TEXT_BYTES = 10_000;
export const MAX_KEY_PREFIX_BYTES = 512;

const encoder = new TextEncoder();
export const utf8Bytes = (text: string): number => encoder.encode(text).byteLength;

/** Under the `u` flag a surrogate range matches only surrogates that do not form a pair. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
export const hasLoneSurrogate = (text: string): boolean => LONE_SURROGATE.test(text);
export const LONE_SURROGATE_PROBLEM = 'must be valid UTF-8 text (it contains a lone surrogate)';

/** C0 controls, DEL and C1 controls. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** Why an id or event name is refused, or undefined when it is fine. */
export function idProblem(id: string): string | undefined {
  if (id.length === 0) return 'must not be empty';
  if (hasLoneSurrogate(id)) return LONE_SURROGATE_PROBLEM;
  if (utf8Bytes(id) > MAX_ID_BYTES)
    return `must be at most ${MAX_ID_BYTES} bytes of UTF-8 (it has ${utf8Bytes(id)}); shorten it`;
  return undefined;
}

/** Why a number cannot be stored as it is, or undefined when it can. */
export function numberProblem(value: number): string | undefined {
  if (!Number.isFinite(value)) return 'must be a finite number';
  const magnitude = Math.abs(value);
  if (magnitude > MAX_NUMBER_MAGNITUDE) {
    return `must be between -${MAX_NUMBER_MAGNITUDE} and ${MAX_NUMBER_MAGNITUDE} (±(2^53-1)); send larger numbers as a string`;
  }
  if (magnitude !== 0 && magnitude < MIN_NONZERO_NUMBER_MAGNITUDE) {
    return `must be 0 or at least ${MIN_NONZERO_NUMBER_MAGNITUDE} in magnitude; send it as a string`;
  }
  return undefined;
}

/**
 * Whether objects and arrays nest deeper than `maxDepth` inside `value` (a scalar is depth 0). Walks
 * with an explicit stack, never recursion, so a value nested 100,000 levels deep is measured, not a
 * stack overflow; it stops at the first level too deep.
 */
export function nestingDeeperThan(value: unknown, maxDepth: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > maxDepth) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

/**
 * Why a nested attribute value (an object or array) cannot be stored as it is, or undefined when it can:
 * nested deeper than `maxDepth`, a number out of range, or an empty key. Profiles keep nested values as
 * maps, where numbers have the store's range and keys must not be empty. Walks with an explicit stack,
 * never recursion, like nestingDeeperThan.
 */
export function nestedValueProblem(value: object, maxDepth: number): string | undefined {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current === 'number') {
      const problem = numberProblem(current);
      if (problem !== undefined) return `holds the number ${current}, which ${problem}`;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > maxDepth) return `nests objects and arrays more than ${maxDepth} levels deep; flatten it`;
    if (!Array.isArray(current) && Object.hasOwn(current, ''))
      return 'holds an object with an empty key; name every key';
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return undefined;
}

/**
 * Why a key prefix (a folder inside a bucket) is refused, or undefined when it is fine. Segments
 * between `/` must not be empty, `.` or `..`; one trailing `/` is allowed (it names the same folder).
 */
export function keyPrefixProblem(prefix: string): string | undefined {
  if (utf8Bytes(prefix) > MAX_KEY_PREFIX_BYTES)
    return `must be at most ${MAX_KEY_PREFIX_BYTES} bytes of UTF-8 (it has ${utf8Bytes(prefix)})`;
  if (hasLoneSurrogate(prefix)) return LONE_SURROGATE_PROBLEM;
  if (CONTROL_CHARACTER.test(prefix)) return 'must not contain control characters (tab, newline, NUL, ...)';
  if (prefix === '') return undefined;
  if (prefix.startsWith('/')) return 'must not start with "/": write the folder as e.g. exports/daily';
  const segments = (prefix.endsWith('/') ? prefix.slice(0, -1) : prefix).split('/');
  if (segments.some((segment) => segment === '')) return 'must not contain empty segments ("//")';
  if (segments.some((segment) => segment === '.' || segment === '..')) return 'must not contain "." or ".." segments';
  return undefined;
}

/** The limits as the "Limits" table of docs/api.md and the OpenAPI document state them (a test keeps the guide in step). */
export const LIMITS_TABLE: readonly { input: string; limit: string; refusal: string }[] = [
  {
    input: 'request body',
    limit: `${MAX_BODY_BYTES} bytes (1 MB) of valid UTF-8`,
    refusal: '413 (400 when not UTF-8)',
  },
  {
    input: 'company, user, feature, segment id, event name',
    limit: `1-${MAX_ID_BYTES} bytes of UTF-8, no lone surrogates`,
    refusal: '400',
  },
  {
    input: 'ids in API paths (envId, featureId, segmentId, ...)',
    limit: '1-64 letters, digits, ".", "_" or "-"',
    refusal: '400',
  },
  {
    input: 'ingest key',
    limit: `${MIN_INGEST_KEY_CHARS}-${MAX_INGEST_KEY_CHARS} characters`,
    refusal: '401, before any lookup',
  },
  {
    input: 'attributes of one item',
    limit: `at most ${MAX_ATTRIBUTES}; names 1-${MAX_ATTRIBUTE_KEY_CHARS} characters; values up to ${MAX_ATTRIBUTE_VALUE_BYTES} bytes (nested values as JSON text), nested at most ${MAX_NESTING_DEPTH} levels, with no empty keys; ${MAX_ATTRIBUTES_BYTES} bytes in all`,
    refusal: '400',
  },
  {
    input: 'numbers',
    limit: `finite, within ±${MAX_NUMBER_MAGNITUDE} (2^53-1), 0 or at least ${MIN_NONZERO_NUMBER_MAGNITUDE} in magnitude, also inside nested values`,
    refusal: '400 (send larger ones as strings)',
  },
  { input: 'timestamps', limit: `${new Date(EARLIEST_TIMESTAMP_MS).toISOString()} to now + 1 day`, refusal: '400' },
  { input: 'bulk ingest', limit: `at most ${MAX_BULK_ITEMS} items`, refusal: '400' },
  {
    input: 'key prefix (settings key, key part of an AWS bucketUrl)',
    limit: `at most ${MAX_KEY_PREFIX_BYTES} bytes; "/"-separated segments not empty, "." or ".."; no leading "/" (one trailing "/" is ignored); no control characters`,
    refusal: '400',
  },
  {
    input: 'segments',
    limit: `at most ${MAX_SEGMENT_CONDITIONS} conditions, ${MAX_SEGMENT_VALUES} values per anyOf`,
    refusal: '400',
  },
  { input: 'feedback comment, question', limit: `at most ${MAX_FEEDBACK_TEXT_BYTES} bytes`, refusal: '400' },
];

/** An attribute value as the usage history stores it: scalars as they are, nested JSON as its JSON text. */
export function storedAttributeValue(value: unknown): AttributeValue {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? value
    : JSON.stringify(value);
}
