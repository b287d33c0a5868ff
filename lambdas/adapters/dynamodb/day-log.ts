/**
 * A day history (epoch day -> that day's latest timestamp) packed into one Binary attribute: per day,
 * the epoch day and the milliseconds into that day as two little-endian uint32, in day order.
 * 8 bytes a day instead of a Number attribute each: items half the size, and a few attributes to
 * decode instead of one per active day.
 */
import { DAY_MS, SortedDayHistory, tallyByDay, toEpochDay, type FeedbackTally } from '../../core/model';

const BYTES_PER_DAY = 8;

export class DayLogError extends Error {
  override name = 'DayLogError';
}

/** Whether a log can hold `ms` as the latest time of epoch `day` (a uint32 day, ms inside it). */
export function isPackable(day: number, ms: number): boolean {
  const msOfDay = ms - day * DAY_MS;
  return (
    Number.isInteger(ms) && Number.isInteger(day) && day >= 0 && day <= 0xffff_ffff && msOfDay >= 0 && msOfDay < DAY_MS
  );
}

export function packDayLog(days: ReadonlyMap<number, number>): Uint8Array {
  const sorted = [...days].sort(([a], [b]) => a - b);
  const bytes = Buffer.alloc(sorted.length * BYTES_PER_DAY);
  sorted.forEach(([day, ms], i) => {
    if (!isPackable(day, ms)) throw new DayLogError(`Cannot pack ${ms} as the latest time of epoch day ${day}.`);
    bytes.writeUInt32LE(day, i * BYTES_PER_DAY);
    bytes.writeUInt32LE(ms - day * DAY_MS, i * BYTES_PER_DAY + 4);
  });
  return bytes;
}

/**
 * Feedback folded by day: per day, the epoch day, the count of records, of scored records and the sum
 * of their scores, each a little-endian uint32. 16 bytes a day with feedback, however many records it
 * had; each day reads back as a tally at the day's last millisecond (model.ts tallyByDay).
 */
const BYTES_PER_FEEDBACK_DAY = 16;

export function packFeedbackLog(tallies: Iterable<FeedbackTally>): Uint8Array {
  const days = tallyByDay(tallies);
  const bytes = Buffer.alloc(days.length * BYTES_PER_FEEDBACK_DAY);
  days.forEach((tally, i) => {
    const offset = i * BYTES_PER_FEEDBACK_DAY;
    bytes.writeUInt32LE(toEpochDay(tally.at), offset);
    bytes.writeUInt32LE(tally.count, offset + 4);
    bytes.writeUInt32LE(tally.scoreCount, offset + 8);
    bytes.writeUInt32LE(tally.scoreSum, offset + 12);
  });
  return bytes;
}

/** The daily tallies of a packed feedback log, in day order. */
export function feedbackLog(log: Uint8Array | undefined): FeedbackTally[] {
  const length = log?.byteLength ?? 0;
  if (length % BYTES_PER_FEEDBACK_DAY !== 0)
    throw new DayLogError(`A feedback log of ${length} bytes is not whole days.`);
  if (!log) return [];
  const view = new DataView(log.buffer, log.byteOffset, log.byteLength);
  const tallies: FeedbackTally[] = [];
  for (let offset = 0; offset < length; offset += BYTES_PER_FEEDBACK_DAY) {
    tallies.push({
      at: (view.getUint32(offset, true) + 1) * DAY_MS - 1,
      count: view.getUint32(offset + 4, true),
      scoreCount: view.getUint32(offset + 8, true),
      scoreSum: view.getUint32(offset + 12, true),
    });
  }
  return tallies;
}

/**
 * The history of a packed log plus the days recorded since it was packed (`{ "<epoch day>": ms }`):
 * each day's latest time, in day order.
 */
export function dayHistory(log: Uint8Array | undefined, recent: Record<string, number> | undefined): SortedDayHistory {
  const length = log?.byteLength ?? 0;
  if (length % BYTES_PER_DAY !== 0) throw new DayLogError(`A day log of ${length} bytes is not whole days.`);
  const logged = length / BYTES_PER_DAY;
  const days: number[] = [];
  const latest: number[] = [];
  if (log) {
    const view = new DataView(log.buffer, log.byteOffset, log.byteLength);
    for (let offset = 0; offset < length; offset += BYTES_PER_DAY) {
      const day = view.getUint32(offset, true);
      days.push(day);
      latest.push(day * DAY_MS + view.getUint32(offset + 4, true));
    }
  }
  const recentDays = recent === undefined ? [] : Object.keys(recent);
  if (recentDays.length === 0) return new SortedDayHistory(days, latest);
  // Integer-like keys iterate in ascending order: merge the two day-ordered lists, latest time per day.
  const mergedDays: number[] = [];
  const mergedLatest: number[] = [];
  let next = 0;
  const append = (day: number, ms: number) => {
    const last = mergedDays.length - 1;
    if (last >= 0 && mergedDays[last] === day) mergedLatest[last] = Math.max(mergedLatest[last], ms);
    else {
      mergedDays.push(day);
      mergedLatest.push(ms);
    }
  };
  for (const key of recentDays) {
    const day = Number(key);
    while (next < logged && days[next] <= day) append(days[next], latest[next++]);
    append(day, recent![key]);
  }
  while (next < logged) append(days[next], latest[next++]);
  return new SortedDayHistory(mergedDays, mergedLatest);
}
