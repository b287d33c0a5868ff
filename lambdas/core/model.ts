/**
 * The domain's data: tenancy, definitions and the compact usage history the exports are computed from.
 * Pure types; timestamps are epoch milliseconds (UTC), days are epoch days (floor(ms / 86_400_000)).
 */

export type Plan = 'free' | 'pro' | 'enterprise';
export const PLANS: readonly Plan[] = ['free', 'pro', 'enterprise'];

export interface Organization {
  id: string;
  name: string;
  plan: Plan;
  createdAt: number;
}

export interface Environment {
  id: string;
  organizationId: string;
  name: string;
  /** SHA-256 of the current ingest key (core/ingest-keys.ts); the key itself is never stored. */
  ingestKeyHash: string;
  /** The current key's first characters, shown masked. */
  ingestKeyPrefix: string;
  createdAt: number;
}

/** An environment with the ingest key just issued for it: answered once, never stored. */
export type EnvironmentWithIngestKey = Environment & { ingestKey: string };

export interface AdoptionThresholds {
  /** Active days needed inside the window to count as retained. */
  minActiveDays: number;
  /** Window length in days, ending with the data point's Date. */
  windowDays: number;
}

export const DEFAULT_ADOPTION: AdoptionThresholds = { minActiveDays: 5, windowDays: 28 };

export interface FeatureDefinition {
  id: string;
  /** Events whose name equals this key count as use of the feature. */
  key: string;
  name: string;
  adoption: AdoptionThresholds;
}

export type AttributeValue = string | number | boolean | null;

export type SegmentCondition =
  | { attribute: string; operator: 'equals' | 'notEquals'; value: AttributeValue }
  | { attribute: string; operator: 'contains'; value: string }
  | { attribute: string; operator: 'anyOf'; values: AttributeValue[] }
  | { attribute: string; operator: 'greaterThan' | 'lessThan'; value: number }
  | { attribute: string; operator: 'isSet' | 'isNotSet' }
  | {
      field: 'firstSeen' | 'lastSeen';
      operator: 'moreThanDaysAgo' | 'lessThanDaysAgo';
      days: number;
    };

export interface SegmentDefinition {
  id: string;
  name: string;
  /** All conditions must hold (AND). */
  conditions: SegmentCondition[];
}

/** Per-day last timestamp: epoch day -> the latest epoch ms seen that day. Its keys are the active days. */
export type DayLastSeen = ReadonlyMap<number, number>;

/**
 * A day history held as two arrays in day order, as stores decode it: the adoption model reads the
 * arrays directly, without a Map to build, sort and look up for each of the millions of (pair, T)
 * questions of an export. A read-only Map for everything else.
 */
export class SortedDayHistory implements DayLastSeen {
  /**
   * @param days epoch days, strictly ascending
   * @param latest each day's latest epoch ms
   */
  constructor(
    readonly days: readonly number[],
    readonly latest: readonly number[],
  ) {
    if (days.length !== latest.length) throw new RangeError('A day history needs one latest time per day.');
  }

  get size(): number {
    return this.days.length;
  }

  get(day: number): number | undefined {
    const index = this.indexOf(day);
    return index === -1 ? undefined : this.latest[index];
  }

  has(day: number): boolean {
    return this.indexOf(day) !== -1;
  }

  forEach(callback: (latest: number, day: number, map: ReadonlyMap<number, number>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.days.length; i++) callback.call(thisArg, this.latest[i], this.days[i], this);
  }

  *entries(): MapIterator<[number, number]> {
    for (let i = 0; i < this.days.length; i++) yield [this.days[i], this.latest[i]];
  }

  *keys(): MapIterator<number> {
    yield* this.days;
  }

  *values(): MapIterator<number> {
    yield* this.latest;
  }

  [Symbol.iterator](): MapIterator<[number, number]> {
    return this.entries();
  }

  private indexOf(day: number): number {
    let lo = 0;
    let hi = this.days.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.days[mid] === day) return mid;
      if (this.days[mid] < day) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

export interface CompanyRecord {
  companyId: string;
  name: string | null;
  /** Current attributes as last sent through tracking. */
  attributes: Readonly<Record<string, AttributeValue>>;
  /** First time any data about the company arrived. */
  firstSeen: number;
  /** Every day data about the company arrived, with that day's latest timestamp. */
  seenDays: DayLastSeen;
}

/** One feedback record. */
export interface FeedbackEntry {
  at: number;
  /** 1-5, or null for feedback without a score. */
  score: number | null;
}

/**
 * Feedback records counted together: one record (`at` its time), or the records of one UTC day folded
 * together (`at` the day's last millisecond; the store keeps older feedback that way, so an item stays
 * small however much arrives). As of T a tally counts when `at < T`: exact for every midnight T (each
 * roll-up, each scheduled export); a folded day counts for a T inside it once the day is over.
 */
export interface FeedbackTally {
  at: number;
  count: number;
  /** Records with a score, and the sum of their scores. */
  scoreCount: number;
  scoreSum: number;
}

export const feedbackTally = ({ at, score }: FeedbackEntry): FeedbackTally => ({
  at,
  count: 1,
  scoreCount: score === null ? 0 : 1,
  scoreSum: score ?? 0,
});

/** Tallies folded into one per UTC day, in day order, each at its day's last millisecond. */
export function tallyByDay(tallies: Iterable<FeedbackTally>): FeedbackTally[] {
  const byDay = new Map<number, FeedbackTally>();
  for (const { at, count, scoreCount, scoreSum } of tallies) {
    const day = toEpochDay(at);
    const folded = byDay.get(day) ?? { at: (day + 1) * DAY_MS - 1, count: 0, scoreCount: 0, scoreSum: 0 };
    byDay.set(day, {
      at: folded.at,
      count: folded.count + count,
      scoreCount: folded.scoreCount + scoreCount,
      scoreSum: folded.scoreSum + scoreSum,
    });
  }
  return [...byDay].sort(([a], [b]) => a - b).map(([, tally]) => tally);
}

/** The compact history of one company x event key: O(1) items whatever the event volume. */
export interface FeatureUsageRecord {
  eventKey: string;
  /** First use ever (exact), null if only feedback exists. */
  firstUsed: number | null;
  /** Days with at least one use, with that day's latest use. */
  usedDays: DayLastSeen;
  /** Every feedback record for the feature, as single records and daily tallies, in any order. */
  feedback: readonly FeedbackTally[];
}

/** A company with all its usage histories, as the usage store streams them to the exports. */
export interface CompanyUsage {
  company: CompanyRecord;
  usage: readonly FeatureUsageRecord[];
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const toEpochDay = (ms: number): number => Math.floor(ms / DAY_MS);

/**
 * The span of timestamps the usage history keeps: from 2000-01-01 (DESIGN's input limit) to the last
 * instant a JavaScript date can hold. Anything else is a client's mistake, refused before a write.
 */
export const EARLIEST_TRACKED_AT = Date.UTC(2000, 0, 1);
export const LATEST_TRACKED_AT = 8.64e15;
export const isTrackableTime = (at: number): boolean =>
  Number.isSafeInteger(at) && at >= EARLIEST_TRACKED_AT && at <= LATEST_TRACKED_AT;

/** An automatic export run: running until it is recorded successful or failed. */
export type RunStatus = 'running' | 'successful' | 'failed';
