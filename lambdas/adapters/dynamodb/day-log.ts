/**
 * A day history (epoch day -> that day's latest timestamp) packed into one Binary attribute: per day,
 * the epoch day and the milliseconds into that day as two little-endian uint32, in day order.
 * 8 bytes a day instead of a Number attribute each: items half the size, and a few attributes to
 * decode instead of one per active day.
 */
import { DAY_MS } from '../../core/model';

const BYTES_PER_DAY = 8;

export class DayLogError extends Error {
  override name = 'DayLogError';
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
export function dayHistory(log: Uint8Array | undefined, recent: Record<string, number> | undefined): Map<number, number> {
  const days = new Map<number, number>();
  let lastDay = -1;
  if (log && log.byteLength > 0) {
    if (log.byteLength % BYTES_PER_DAY !== 0) throw new DayLogError(`A day log of ${log.byteLength} bytes is not whole days.`);
    const view = new DataView(log.buffer, log.byteOffset, log.byteLength);
    for (let offset = 0; offset < log.byteLength; offset += BYTES_PER_DAY) {
      lastDay = view.getUint32(offset, true);
      days.set(lastDay, lastDay * DAY_MS + view.getUint32(offset + 4, true));
    }
  }
  let ordered = true;
  // Integer-like keys iterate in ascending order.
  for (const key in recent) {
    const day = Number(key);
    const ms = recent[key];
    const logged = days.get(day);
    if (logged === undefined) {
      if (day < lastDay) ordered = false;
      days.set(day, ms);
      lastDay = Math.max(lastDay, day);
    } else if (ms > logged) {
      days.set(day, ms);
    }
  }
  return ordered ? days : new Map([...days].sort(([a], [b]) => a - b));
}
