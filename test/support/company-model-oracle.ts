/**
 * An independent reading of the company data model (DESIGN.md, "Company data model"), to check the
 * exports against: written from the definitions, directly and slowly (day by day, no shared code with
 * lambdas/core), so a mistake in the production model cannot hide in the expected values too.
 *
 * What "as of T" means for the compact history the store keeps (per UTC day, only its latest time,
 * plus the exact first times): a day's data is before T when its latest time is, or when the exact
 * first time lies on it before T; the other times of T's own day are not kept, so that day otherwise
 * does not count. Windows end with Date(T), the last day whose data T includes (the day of T - 1 ms).
 *
 * Feedback is counted from the raw records as sent (the caller's, not the store's tallies). The store
 * keeps feedback per UTC day, so a record counts as of T once its day is over by T: for a midnight T
 * (every data point but a snapshot's), exactly the records before T.
 */

const DAY = 86_400_000;
const dayOf = (ms: number) => Math.floor(ms / DAY);
const isoDate = (day: number) => new Date(day * DAY).toISOString().slice(0, 10);

export const COMPANY_MODEL_COLUMNS = [
  'Company ID',
  'Company Name',
  'Feature Name',
  'Feature ID',
  'Date',
  'First Seen',
  'Last Seen',
  'First Used',
  'Last Used',
  'STARS State Label',
  'STARS State',
  'Frequency Label',
  'Frequency',
  'Satisfaction Label',
  'Satisfaction',
  'Feedback Count',
  'Segment Names',
  'Segment IDs',
] as const;

/*
 * The oracle's inputs, declared here rather than imported, so it shares nothing with lambdas/core; the
 * production types fit them.
 */
type DayHistory = ReadonlyMap<number, number>;

export interface ModelCompany {
  company: {
    companyId: string;
    name: string | null;
    attributes: Readonly<Record<string, unknown>>;
    firstSeen: number;
    seenDays: DayHistory;
  };
  usage: readonly { eventKey: string; firstUsed: number | null; usedDays: DayHistory }[];
}

export interface ModelFeature {
  id: string;
  key: string;
  name: string;
  adoption?: { minActiveDays: number; windowDays: number };
}

export interface ModelSegment {
  id: string;
  name: string;
  conditions: readonly object[];
}

/** One feedback record as sent to the ingest API. */
export interface ModelFeedback {
  eventKey: string;
  at: number;
  /** 1-5, or null for feedback without a score. */
  score: number | null;
}

/** A row as the warehouse reads it: times in epoch ms, empty cells as null. */
export type ModelRow = Record<(typeof COMPANY_MODEL_COLUMNS)[number], string | number | null>;

export interface ModelPoint {
  instant: number;
  /** Date(T), YYYY-MM-DD. */
  date: string;
}

/** The data points of an aggregation requested at `now`. */
export function modelDataPoints(aggregation: string, now: number): ModelPoint[] {
  const point = (instant: number) => ({ instant, date: isoDate(dayOf(instant - 1)) });
  const today = dayOf(now);
  if (aggregation === 'snapshot') return [point(now)];
  if (aggregation === '30d-daily') return Array.from({ length: 30 }, (_, i) => point((today - 29 + i) * DAY));
  const weeks = { '3m-weekly': 13, '6m-weekly': 26 }[aggregation];
  if (weeks === undefined) throw new Error(`unknown aggregation ${aggregation}`);
  // Epoch day 0 was a Thursday: Monday is (day + 3) % 7 === 0. T is the Monday after each complete week.
  const thisMonday = today - ((today + 3) % 7);
  return Array.from({ length: weeks }, (_, i) => point((thisMonday - 7 * (weeks - 1 - i)) * DAY));
}

/** The days of a history with data before T, and the latest time before T. */
function asOf(days: ReadonlyMap<number, number>, first: number | null, instant: number) {
  const counted = new Set<number>();
  let latest: number | null = first !== null && first < instant ? first : null;
  for (const [day, last] of days) {
    if (last < instant) {
      counted.add(day);
      if (latest === null || last > latest) latest = last;
    }
  }
  if (first !== null && first < instant) counted.add(dayOf(first));
  return { counted, latest };
}

const activeIn = (active: Set<number>, lastDay: number, length: number) => {
  let count = 0;
  for (let day = lastDay - length + 1; day <= lastDay; day++) if (active.has(day)) count++;
  return count;
};

/** How many of the `periods` consecutive periods of `length` days ending `lastDay` have an active day. */
const activePeriods = (active: Set<number>, lastDay: number, length: number, periods: number) =>
  Array.from({ length: periods }, (_, p) => activeIn(active, lastDay - p * length, length) > 0).filter(Boolean).length;

const SATISFACTION_LABELS = ['Very dissatisfied', 'Dissatisfied', 'Neutral', 'Satisfied', 'Very satisfied'];
const STARS_LABELS = ['never', 'tried', 'retained', 'churned'];
const FREQUENCY_LABELS = ['Monthly', 'Weekly', 'Daily'];

/** Text cells beginning with a formula character are prefixed with an apostrophe. */
const cellText = (text: string | null): string | null =>
  text === null || text === '' ? null : /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;

function segmentsOf(usage: ModelCompany, segments: readonly ModelSegment[]): ModelSegment[] {
  const matches = (segment: ModelSegment) =>
    segment.conditions.every((entry) => {
      const condition = entry as { attribute?: string; operator?: string; value?: unknown };
      if (condition.attribute === undefined || condition.operator !== 'equals')
        throw new Error('the oracle reads only attribute equality');
      return usage.company.attributes[condition.attribute] === condition.value;
    });
  return segments.filter(matches).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The rows of one company: one per feature and data point at which the company had been seen. Its
 * feedback is `feedback` (the feedback stored in `usage` is not read).
 */
export function modelRows(
  usage: ModelCompany,
  feedback: readonly ModelFeedback[],
  features: readonly ModelFeature[],
  segments: readonly ModelSegment[],
  points: ModelPoint[],
): ModelRow[] {
  const { company } = usage;
  const matching = segmentsOf(usage, segments);
  const rows: ModelRow[] = [];
  for (const point of points) {
    const T = point.instant;
    if (!(company.firstSeen < T)) continue;
    const lastDay = dayOf(T - 1);
    const seen = asOf(company.seenDays, company.firstSeen, T);
    for (const feature of features) {
      const record = usage.usage.find((u) => u.eventKey === feature.key);
      const used = asOf(record?.usedDays ?? new Map(), record?.firstUsed ?? null, T);
      const { minActiveDays, windowDays } = feature.adoption ?? { minActiveDays: 5, windowDays: 28 };
      const everUsed = used.counted.size > 0;
      const retainedEnding = (day: number) => activeIn(used.counted, day, windowDays) >= minActiveDays;
      const retained = retainedEnding(lastDay);
      let adopted = retained;
      for (const day of used.counted)
        for (let end = day; end <= Math.min(day + windowDays - 1, lastDay) && !adopted; end++)
          adopted = retainedEnding(end);
      const stars = !everUsed ? 1 : !adopted ? 2 : retained ? 3 : 4;
      const frequency =
        activeIn(used.counted, lastDay, 14) >= 8
          ? 3
          : activePeriods(used.counted, lastDay, 7, 4) >= 3
            ? 2
            : activePeriods(used.counted, lastDay, 28, 3) >= 2
              ? 1
              : 0;
      const counted = feedback.filter((entry) => entry.eventKey === feature.key && (dayOf(entry.at) + 1) * DAY <= T);
      const scores = counted.map((entry) => entry.score).filter((score): score is number => score !== null);
      const satisfaction =
        scores.length === 0 ? null : Math.floor(scores.reduce((a, b) => a + b, 0) / scores.length + 0.5);
      rows.push({
        'Company ID': cellText(company.companyId),
        'Company Name': cellText(company.name),
        'Feature Name': cellText(feature.name),
        'Feature ID': cellText(feature.id),
        Date: point.date,
        'First Seen': company.firstSeen,
        'Last Seen': seen.latest,
        'First Used': record?.firstUsed != null && record.firstUsed < T ? record.firstUsed : null,
        'Last Used': used.latest,
        'STARS State Label': STARS_LABELS[stars - 1],
        'STARS State': stars,
        'Frequency Label': frequency > 0 ? FREQUENCY_LABELS[frequency - 1] : everUsed ? 'Rarely' : 'Never',
        Frequency: frequency,
        'Satisfaction Label': satisfaction === null ? null : SATISFACTION_LABELS[satisfaction - 1],
        Satisfaction: satisfaction,
        'Feedback Count': counted.length,
        'Segment Names': cellText(matching.map((s) => s.name).join(',')),
        'Segment IDs': cellText(matching.map((s) => s.id).join(',')),
      });
    }
  }
  return rows;
}
