/**
 * Historical aggregations and schedule instants. A data point is the state "as of" an instant T: only
 * data strictly before T counts, and its Date is the last UTC day whose data it includes.
 */
import { DAY_MS, toEpochDay } from './model';

export const AGGREGATIONS = ['snapshot', '30d-daily', '3m-weekly', '6m-weekly'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

export const isAggregation = (value: unknown): value is Aggregation =>
  (AGGREGATIONS as readonly unknown[]).includes(value);

export interface DataPoint {
  /** T, epoch ms: the state includes data strictly before it. */
  instant: number;
  /** `YYYY-MM-DD`: the last UTC day whose data the point includes, i.e. `dateOf(instant)`. */
  date: string;
}

export type Cadence = 'daily' | 'weekly';

const DAILY_POINTS = 30;
const WEEKS_BY_AGGREGATION = { '3m-weekly': 13, '6m-weekly': 26 } as const;

/** `YYYY-MM-DD` of an epoch day. */
export const epochDayToDate = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

/**
 * The last UTC day whose data an instant includes: the day containing `instant - 1 ms`. For a midnight
 * (a roll-up's T) that is the previous day; for a snapshot taken during the day it is that day.
 */
export const lastIncludedDay = (instant: number): number => toEpochDay(instant - 1);

/** The Date column of the data point at `instant`. */
export const dateOf = (instant: number): string => epochDayToDate(lastIncludedDay(instant));

/** The Monday on or before an epoch day (epoch day 0, 1970-01-01, was a Thursday). */
export const mondayOnOrBefore = (day: number): number => day - ((((day + 3) % 7) + 7) % 7);

const pointAt = (instant: number): DataPoint => ({ instant, date: dateOf(instant) });

/** The data points of an aggregation as of `now`, oldest first. */
export function dataPoints(aggregation: Aggregation, now: number): DataPoint[] {
  switch (aggregation) {
    case 'snapshot':
      return [pointAt(now)];
    case '30d-daily': {
      // The complete days ending yesterday; each one's T is the midnight that ends it.
      const today = toEpochDay(now);
      return Array.from({ length: DAILY_POINTS }, (_, i) => pointAt((today - DAILY_POINTS + 1 + i) * DAY_MS));
    }
    case '3m-weekly':
    case '6m-weekly': {
      // This week's Monday ends the most recent complete week, also when now is that Monday.
      const weeks = WEEKS_BY_AGGREGATION[aggregation];
      const thisMonday = mondayOnOrBefore(toEpochDay(now));
      return Array.from({ length: weeks }, (_, i) => pointAt((thisMonday - 7 * (weeks - 1 - i)) * DAY_MS));
    }
  }
}

/**
 * The instant a scheduled export's snapshot is taken, from the schedule's own time (never the
 * Lambda's clock, so a late or retried run exports the same data): 00:00 UTC of the scheduled day for
 * daily, 00:00 UTC of the Monday on or before it for weekly.
 */
export function scheduledSnapshotInstant(cadence: Cadence, scheduledTime: number): number {
  const day = toEpochDay(scheduledTime);
  return (cadence === 'daily' ? day : mondayOnOrBefore(day)) * DAY_MS;
}

/** The next scheduled run strictly after `after`: the next 00:00 UTC (daily) or Monday 00:00 UTC (weekly). */
export function nextRunAt(cadence: Cadence, after: number): number {
  const day = toEpochDay(after);
  return (cadence === 'daily' ? day + 1 : mondayOnOrBefore(day) + 7) * DAY_MS;
}
