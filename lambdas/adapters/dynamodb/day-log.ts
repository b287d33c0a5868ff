/**
 * A day history (epoch day -> that day's latest timestamp) packed into one Binary attribute: per day,
 * the epoch day and the milliseconds into that day as two little-endian uint32, in day order.
 * 8 bytes a day instead of a Number attribute each: items half the size, and a few attributes to
 * decode instead of one per active day.
 */
import { DAY_MS, SortedDayHistory } from '../../core/model';

const BYTES_PER_DAY = 8;

export class DayLogError extends Error {
  override name = 'DayLogError';
}

/** The last epoch day a log can hold (an unsigned 32-bit day number). */
const LAST_LOGGABLE_DAY = 0xffff_ffff;

/**
 * Refuses a time no day log can hold (before 1970, or not whole milliseconds). Checked before a time
 * is written anywhere: a day stored in the recent-days map that cannot be packed would make every later
 * compaction of the item fail.
 */
export function assertLoggable(ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0 || Math.floor(ms / DAY_MS) > LAST_LOGGABLE_DAY) {
    throw new DayLogError(`Cannot record ${ms} in a day log: times are whole epoch milliseconds from 1970-01-01 on.`);
  }
}

export function packDayLog(days: ReadonlyMap<number, number>): Uint8Array {
  const sorted = [...days].sort(([a], [b]) => a - b);
  const bytes = Buffer.alloc(sorted.length * BYTES_PER_DAY);
  sorted.forEach(([day, ms], i) => {
    const msOfDay = ms - day * DAY_MS;
    if (!Number.isInteger(ms) || day < 0 || msOfDay < 0 || msOfDay >= DAY_MS) {
      throw new DayLogError(`Cannot pack ${ms} as the latest time of epoch day ${day}.`);
    }
    bytes.writeUInt32LE(day, i * BYTES_PER_DAY);
    bytes.writeUInt32LE(msOfDay, i * BYTES_PER_DAY + 4);
  });
  return bytes;
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
