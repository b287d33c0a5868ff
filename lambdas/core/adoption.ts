/**
 * The company adoption model: the state of one company x feature as of an instant T.
 *
 * "As of T" means only data strictly before T counts. The usage store keeps, per day, only that day's
 * latest timestamp, so a day is counted as of T when:
 * - it is before T's UTC day: all its data is before T;
 * - it is T's UTC day (T not at midnight, e.g. a snapshot taken now): its latest timestamp is before T,
 *   or the exact first timestamp (firstSeen / firstUsed) falls on it before T. Otherwise the day is
 *   left out, since its earlier timestamps are not kept; Last Seen / Last Used then fall back to the
 *   previous day. For a midnight T (every roll-up and scheduled export) this is exact.
 *
 * All windows end with Date(T), the last UTC day the point includes (the day of T - 1 ms).
 *
 * An export evaluates millions of (pair, T) combinations, so each history is prepared once (sorted
 * days, sorted feedback tallies with prefix sums) and each T is answered with binary searches.
 */
import { InternalFailureError, type FieldIssue } from './errors';
import type { AdoptionThresholds, CompanyRecord, DayLastSeen, FeatureUsageRecord, FeedbackTally } from './model';
import { toEpochDay } from './model';
import { daysInOrder } from './fast-paths/days-in-order';
import { lastIncludedDay } from './periods';

export type StarsState = 1 | 2 | 3 | 4;
export type StarsLabel = 'never' | 'tried' | 'retained' | 'churned';
export const STARS_LABELS: Readonly<Record<StarsState, StarsLabel>> = {
  1: 'never',
  2: 'tried',
  3: 'retained',
  4: 'churned',
};

export type Frequency = 0 | 1 | 2 | 3;
export type FrequencyLabel = 'Never' | 'Rarely' | 'Monthly' | 'Weekly' | 'Daily';

export type Satisfaction = 1 | 2 | 3 | 4 | 5;
export type SatisfactionLabel = 'Very dissatisfied' | 'Dissatisfied' | 'Neutral' | 'Satisfied' | 'Very satisfied';
export const SATISFACTION_LABELS: Readonly<Record<Satisfaction, SatisfactionLabel>> = {
  1: 'Very dissatisfied',
  2: 'Dissatisfied',
  3: 'Neutral',
  4: 'Satisfied',
  5: 'Very satisfied',
};

/** Frequency thresholds: Daily, Weekly and Monthly as defined for the export. */
const DAILY_WINDOW_DAYS = 14;
const DAILY_MIN_ACTIVE_DAYS = 8;
const WEEK_DAYS = 7;
const WEEKS_CONSIDERED = 4;
const MIN_ACTIVE_WEEKS = 3;
const MONTH_DAYS = 28;
const MONTHS_CONSIDERED = 3;
const MIN_ACTIVE_MONTHS = 2;

/** The company's seen history as of T; absent when the company had not been seen before T. */
export interface SeenAsOf {
  firstSeen: number;
  lastSeen: number;
}

/** One company x feature's usage as of T. */
export interface UsageAsOf {
  firstUsed: number | null;
  lastUsed: number | null;
  stars: StarsState;
  starsLabel: StarsLabel;
  frequency: Frequency;
  frequencyLabel: FrequencyLabel;
  satisfaction: Satisfaction | null;
  satisfactionLabel: SatisfactionLabel | null;
  /** Feedback entries before T, with or without a score. */
  feedbackCount: number;
}

/** What makes thresholds impossible to evaluate; none for thresholds the model can use. */
export function adoptionThresholdIssues({ minActiveDays, windowDays }: AdoptionThresholds): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!Number.isInteger(minActiveDays) || minActiveDays < 1) {
    issues.push({ path: 'adoption.minActiveDays', message: 'must be a whole number of at least 1' });
  }
  if (!Number.isInteger(windowDays) || windowDays < minActiveDays) {
    issues.push({ path: 'adoption.windowDays', message: 'must be a whole number of at least minActiveDays' });
  }
  return issues;
}

/**
 * A stored feature definition the model cannot evaluate. Definitions are checked when they are saved
 * (tenancy.putFeature), so this is our fault, not the export's caller's: an internal failure.
 */
export class InvalidAdoptionThresholdsError extends InternalFailureError {
  override readonly name = 'InvalidAdoptionThresholdsError';
  constructor(readonly issues: FieldIssue[]) {
    super(`Stored adoption thresholds cannot be evaluated: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}.`);
  }
}

/** Index of the first element >= value in an ascending array, searched between lo and hi. */
function lowerBound(sorted: ArrayLike<number>, value: number, lo = 0, hi = sorted.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Steps a search takes forward from its previous answer before it searches by halves. */
const MAX_STEPS_FORWARD = 8;

/**
 * lowerBound for one question asked again and again with growing values, as an export asks it (its data
 * points come oldest first): each answer starts from the previous one, usually a step or two away,
 * instead of halving the whole array. Any value, growing or not, gets the right answer.
 */
class GrowingLowerBound {
  private previous = 0;

  constructor(private readonly sorted: ArrayLike<number>) {}

  of(value: number): number {
    const { sorted } = this;
    let index = this.previous;
    if (index > 0 && sorted[index - 1] >= value) {
      index = lowerBound(sorted, value, 0, index);
    } else {
      const stop = Math.min(sorted.length, index + MAX_STEPS_FORWARD);
      while (index < stop && sorted[index] < value) index++;
      if (index === stop && index < sorted.length && sorted[index] < value) index = lowerBound(sorted, value, index);
    }
    this.previous = index;
    return index;
  }
}

/**
 * A day history prepared for "as of T" questions: how many of its days count as of T (a prefix of the
 * sorted days, see the module comment) and the latest timestamp before T.
 */
class DayHistory {
  readonly days: readonly number[];
  /** Each day's latest timestamp. */
  private readonly latest: readonly number[];
  /** The first timestamp: exact when given, else the earliest day's (the best known). */
  readonly first: number | null;
  private readonly dayOfInstant: GrowingLowerBound;

  constructor(lastByDay: DayLastSeen, exactFirst: number | null) {
    ({ days: this.days, latest: this.latest } = daysInOrder(lastByDay));
    this.first = exactFirst ?? (this.days.length > 0 ? this.latest[0] : null);
    this.dayOfInstant = new GrowingLowerBound(this.days);
  }

  /** The number of sorted days that count as of T: they are `days[0 .. n)`. */
  countedBefore(instant: number): number {
    const dayOfInstant = toEpochDay(instant);
    const index = this.dayOfInstant.of(dayOfInstant);
    if (index === this.days.length || this.days[index] !== dayOfInstant) return index;
    const dayCounts =
      this.latest[index] < instant ||
      (this.first !== null && this.first < instant && toEpochDay(this.first) === dayOfInstant);
    return dayCounts ? index + 1 : index;
  }

  /** The latest known timestamp before T, given `counted = countedBefore(instant)`; null if none. */
  latestBefore(instant: number, counted: number): number | null {
    const first = this.first !== null && this.first < instant ? this.first : null;
    if (counted === 0) return first;
    const last = this.latest[counted - 1];
    // A last day whose latest timestamp is not before T counts only through `first`, which lies on it.
    if (last >= instant) return first;
    return first !== null && first > last ? first : last;
  }
}

/** Prepares a company's seen history; the returned function answers "as of T" for any T. */
export function seenTimeline(company: CompanyRecord): (instant: number) => SeenAsOf | null {
  const history = new DayHistory(company.seenDays, company.firstSeen);
  return (instant) => {
    if (!(company.firstSeen < instant)) return null;
    return {
      firstSeen: company.firstSeen,
      // Never null here: firstSeen itself is before T.
      lastSeen: history.latestBefore(instant, history.countedBefore(instant)) ?? company.firstSeen,
    };
  };
}

/** Feedback tallies sorted by time with prefix sums, so any T is one binary search. */
interface FeedbackHistory {
  at: Float64Array;
  /** count[i] / scoreCount[i] / scoreSum[i]: records, scored records and their sum in the first i tallies. */
  count: Float64Array;
  scoreCount: Float64Array;
  scoreSum: Float64Array;
  /** How many tallies come before an instant. */
  countBefore: GrowingLowerBound;
}

function feedbackHistory(feedback: readonly FeedbackTally[]): FeedbackHistory {
  const tallies = feedback.slice().sort((a, b) => a.at - b.at);
  const at = new Float64Array(tallies.length);
  const count = new Float64Array(tallies.length + 1);
  const scoreCount = new Float64Array(tallies.length + 1);
  const scoreSum = new Float64Array(tallies.length + 1);
  tallies.forEach((tally, i) => {
    at[i] = tally.at;
    count[i + 1] = count[i] + tally.count;
    scoreCount[i + 1] = scoreCount[i] + tally.scoreCount;
    scoreSum[i + 1] = scoreSum[i] + tally.scoreSum;
  });
  return { at, count, scoreCount, scoreSum, countBefore: new GrowingLowerBound(at) };
}

/** The mean score rounded half up (2.5 -> 3), in integers so no floating error decides a tie. */
const roundedMean = (sum: number, count: number): number => Math.floor((2 * sum + count) / (2 * count));

const NO_USAGE: FeatureUsageRecord = { eventKey: '', firstUsed: null, usedDays: new Map(), feedback: [] };

/*
 * Window questions as of T. The first `counted` sorted `active` days are the ones that count as of T;
 * they all lie on or before lastDay = Date(T), and the days after them lie on or after lastDay.
 */

/**
 * How many of the consecutive periods of `periodDays` ending with lastDay hold an active day, counted up
 * to `enough`. `from`: the index of the first active day in the earliest of the periods.
 */
function activePeriods(
  active: readonly number[],
  from: number,
  counted: number,
  lastDay: number,
  periodDays: number,
  enough: number,
): number {
  let result = 0;
  let period = -1;
  // Newest day first: each day's period (0 = the one ending with lastDay) grows.
  for (let i = counted - 1; i >= from && result < enough; i--) {
    const dayPeriod = Math.floor((lastDay - active[i]) / periodDays);
    if (dayPeriod !== period) {
      period = dayPeriod;
      result++;
    }
  }
  return result;
}

/** Frequency as of T, each window's first active day found by its own growing search. */
function frequencyOf(
  active: readonly number[],
  windowStarts: { daily: GrowingLowerBound; weekly: GrowingLowerBound; monthly: GrowingLowerBound },
): (counted: number, lastDay: number) => Frequency {
  return (counted, lastDay) => {
    if (counted === 0) return 0;
    // 3 Daily: active on >= 8 of the last 14 days.
    const activeDaysOfLast14 = counted - windowStarts.daily.of(lastDay - DAILY_WINDOW_DAYS + 1);
    if (activeDaysOfLast14 >= DAILY_MIN_ACTIVE_DAYS) return 3;
    // 2 Weekly: active in >= 3 of the last 4 seven-day periods.
    const weeksFrom = windowStarts.weekly.of(lastDay - WEEKS_CONSIDERED * WEEK_DAYS + 1);
    if (activePeriods(active, weeksFrom, counted, lastDay, WEEK_DAYS, MIN_ACTIVE_WEEKS) >= MIN_ACTIVE_WEEKS) return 2;
    // 1 Monthly: active in >= 2 of the last 3 28-day periods.
    const monthsFrom = windowStarts.monthly.of(lastDay - MONTHS_CONSIDERED * MONTH_DAYS + 1);
    if (activePeriods(active, monthsFrom, counted, lastDay, MONTH_DAYS, MIN_ACTIVE_MONTHS) >= MIN_ACTIVE_MONTHS)
      return 1;
    return 0;
  };
}

/**
 * Prepares one company x feature's usage history (`undefined`: no usage record at all); the returned
 * function answers "as of T" for any T.
 */
export function usageTimeline(
  usage: FeatureUsageRecord | undefined,
  thresholds: AdoptionThresholds,
): (instant: number) => UsageAsOf {
  const thresholdIssues = adoptionThresholdIssues(thresholds);
  if (thresholdIssues.length > 0) throw new InvalidAdoptionThresholdsError(thresholdIssues);
  const { minActiveDays, windowDays } = thresholds;
  const { firstUsed: exactFirstUsed, usedDays, feedback } = usage ?? NO_USAGE;
  const history = new DayHistory(usedDays, exactFirstUsed);
  const active = history.days;
  const feedbackAsOf = feedback.length > 0 ? feedbackHistory(feedback) : null;
  const retainedFrom = new GrowingLowerBound(active);
  const frequencyAsOf = frequencyOf(active, {
    daily: new GrowingLowerBound(active),
    weekly: new GrowingLowerBound(active),
    monthly: new GrowingLowerBound(active),
  });

  // Adoption happens on the first active day `active[j]` whose window holds minActiveDays active days,
  // i.e. `active[j - minActiveDays + 1]` lies less than windowDays before it. Adopted as of T exactly
  // when that day counts as of T.
  let adoptionIndex = Infinity;
  for (let j = minActiveDays - 1; j < active.length; j++) {
    if (active[j] - active[j - minActiveDays + 1] < windowDays) {
      adoptionIndex = j;
      break;
    }
  }

  return (instant) => {
    const counted = history.countedBefore(instant);
    const lastDay = lastIncludedDay(instant);
    const firstUsed = history.first !== null && history.first < instant ? history.first : null;
    const used = firstUsed !== null || counted > 0;

    // DESIGN's definitions, as of T (the active days counted are `active[0 .. counted)`):
    // Retained(T): active on >= minActiveDays of the last windowDays days before T.
    const retained = counted - retainedFrom.of(lastDay - windowDays + 1) >= minActiveDays;
    // Adopted(T): retained at some instant <= T (adoption is never lost): its first such day counts.
    const adopted = adoptionIndex < counted;
    // STARS: 1 never (no use), 2 tried (used, not adopted), 3 retained (adopted and retained now),
    // 4 churned (adopted, not retained now).
    const stars: StarsState = !used ? 1 : !adopted ? 2 : retained ? 3 : 4;
    const frequency = frequencyAsOf(counted, lastDay);

    let satisfaction: Satisfaction | null = null;
    let feedbackCount = 0;
    if (feedbackAsOf !== null) {
      const tallies = feedbackAsOf.countBefore.of(instant);
      feedbackCount = feedbackAsOf.count[tallies];
      const scored = feedbackAsOf.scoreCount[tallies];
      if (scored > 0) {
        satisfaction = roundedMean(feedbackAsOf.scoreSum[tallies], scored) as Satisfaction;
      }
    }

    return {
      firstUsed,
      lastUsed: history.latestBefore(instant, counted),
      stars,
      starsLabel: STARS_LABELS[stars],
      frequency,
      frequencyLabel: frequencyLabel(frequency, used),
      satisfaction,
      satisfactionLabel: satisfaction === null ? null : SATISFACTION_LABELS[satisfaction],
      feedbackCount,
    };
  };
}

function frequencyLabel(frequency: Frequency, used: boolean): FrequencyLabel {
  switch (frequency) {
    case 3:
      return 'Daily';
    case 2:
      return 'Weekly';
    case 1:
      return 'Monthly';
    case 0:
      return used ? 'Rarely' : 'Never';
  }
}
