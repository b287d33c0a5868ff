/**
 * Fast path: `new Date(ms).toISOString()` without a Date per call.
 *
 * Why: formatting timestamps was most of a company row's cost (First/Last Seen and Used on every row).
 * An export's timestamps fall on few distinct days, so each day's `YYYY-MM-DDT` is formatted once and
 * the time of day is joined from digit tables.
 * Measured gain (2 million timestamps over 200 days, this machine, 2026-12-07): 0.41-0.58 s against
 * 3.55-4.23 s for toISOString, about 8 times faster. The same text as toISOString for every instant
 * (test/unit/fast-paths.test.ts, a property test); outside 1970-9999 and for fractional milliseconds
 * it is toISOString itself.
 */
import { DAY_MS } from '../model';

const TWO_DIGITS = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));
/** 10000-01-01T00:00:00Z, where ISO-8601 switches to six-digit years. */
const YEAR_10000_MS = 253_402_300_800_000;
const MAX_CACHED_DAYS = 4096;
/** `YYYY-MM-DDT` by epoch day. */
const dayPrefixes = new Map<number, string>();

/** `new Date(ms).toISOString()`, faster. */
export function isoTimestamp(ms: number): string {
  if (!(ms >= 0 && ms < YEAR_10000_MS && Number.isInteger(ms))) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    if (dayPrefixes.size >= MAX_CACHED_DAYS) dayPrefixes.clear();
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  const msOfDay = ms - day * DAY_MS;
  const seconds = Math.floor(msOfDay / 1000);
  return (
    prefix +
    TWO_DIGITS[Math.floor(seconds / 3600)] +
    ':' +
    TWO_DIGITS[Math.floor(seconds / 60) % 60] +
    ':' +
    TWO_DIGITS[seconds % 60] +
    '.' +
    THREE_DIGITS[msOfDay % 1000] +
    'Z'
  );
}
