/**
 * The company data model: one row of cells per company x feature x data point. Cells only: encoding
 * (CSV quoting, formula neutralization, ...) belongs to the encoders.
 *
 * This runs for every row of every company export, so whatever depends only on the company or the data
 * point (seen state, Date, segments, timestamp strings) is computed once per company, not per row.
 */
import type { FrequencyLabel, SatisfactionLabel, StarsLabel } from './adoption';
import { seenTimeline, usageTimeline } from './adoption';
import type { CompanyUsage, FeatureDefinition, FeatureUsageRecord, SegmentDefinition } from './model';
import { isoTimestamp } from './fast-paths/iso-timestamp';
import type { DataPoint } from './periods';
import { matchingSegments } from './segments';

/**
 * The columns, in groups whose cells change together from one row to the next (a company x feature's
 * rows follow each other, one per data point): the company and feature; the data point's Date with
 * First Seen and Last Seen (the same on every feature's row of that point); First and Last Used; the
 * usage state; the segments. The grouping is a speed technique only: the CSV encoder joins each group's
 * text once and reuses it while the group's cells repeat (CsvRowEncoder; with the one-piece texts,
 * encoding 12% faster, docs/benchmarks.md). The bytes are the same whatever the groups.
 */
const COMPANY_COLUMNS_GROUPED = [
  ['Company ID', 'Company Name', 'Feature Name', 'Feature ID'],
  ['Date', 'First Seen', 'Last Seen'],
  ['First Used', 'Last Used'],
  [
    'STARS State Label',
    'STARS State',
    'Frequency Label',
    'Frequency',
    'Satisfaction Label',
    'Satisfaction',
    'Feedback Count',
  ],
  ['Segment Names', 'Segment IDs'],
] as const;

export const COMPANY_COLUMNS = COMPANY_COLUMNS_GROUPED.flat();

/** The sizes of the groups of COMPANY_COLUMNS, for the CSV encoder. */
export const COMPANY_COLUMN_GROUPS: readonly number[] = COMPANY_COLUMNS_GROUPED.map((group) => group.length);

/** One row's cells in COMPANY_COLUMNS order; null is an empty cell, timestamps are ISO-8601 UTC. */
export type CompanyRowCells = [
  companyId: string,
  companyName: string | null,
  featureName: string,
  featureId: string,
  date: string,
  firstSeen: string,
  lastSeen: string,
  firstUsed: string | null,
  lastUsed: string | null,
  starsLabel: StarsLabel,
  stars: number,
  frequencyLabel: FrequencyLabel,
  frequency: number,
  satisfactionLabel: SatisfactionLabel | null,
  satisfaction: number | null,
  feedbackCount: number,
  segmentNames: string,
  segmentIds: string,
];

/** What a row takes from its data point alone, for the points at which the company had been seen. */
interface PointCells {
  instant: number;
  date: string;
  lastSeen: string;
  segmentNames: string;
  segmentIds: string;
}

function pointCellsOf(
  companyUsage: CompanyUsage,
  segments: readonly SegmentDefinition[],
  points: readonly DataPoint[],
): PointCells[] {
  const { company } = companyUsage;
  const seenAt = seenTimeline(company);
  const result: PointCells[] = [];
  let previousSegments: SegmentDefinition[] = [];
  let segmentNames = '';
  let segmentIds = '';
  let previousLastSeen: number | null = null;
  let lastSeen = '';
  for (const { instant, date } of points) {
    const seen = seenAt(instant);
    if (seen === null) continue;
    const members = matchingSegments(company, segments, instant, seen);
    // Membership rarely changes from one point to the next: reuse the joined strings when it does not.
    if (members.length !== previousSegments.length || members.some((s, i) => s !== previousSegments[i])) {
      segmentNames = members.map((s) => s.name).join(',');
      segmentIds = members.map((s) => s.id).join(',');
      previousSegments = members;
    }
    if (seen.lastSeen !== previousLastSeen) {
      lastSeen = isoTimestamp(seen.lastSeen);
      previousLastSeen = seen.lastSeen;
    }
    result.push({ instant, date, lastSeen, segmentNames, segmentIds });
  }
  return result;
}

/**
 * The rows of one company: per feature (in the given order), one row per data point at which the
 * company had been seen (firstSeen < T), oldest first. A feature without usage still gets rows.
 */
export function companyRows(
  companyUsage: CompanyUsage,
  features: readonly FeatureDefinition[],
  segments: readonly SegmentDefinition[],
  points: readonly DataPoint[],
): CompanyRowCells[] {
  const { company } = companyUsage;
  const pointCells = pointCellsOf(companyUsage, segments, points);
  const rows: CompanyRowCells[] = [];
  if (pointCells.length === 0) return rows;
  const firstSeen = isoTimestamp(company.firstSeen);
  const usageByKey = new Map<string, FeatureUsageRecord>(companyUsage.usage.map((u) => [u.eventKey, u]));

  for (const feature of features) {
    const usageAt = usageTimeline(usageByKey.get(feature.key), feature.adoption);
    // First Used never changes once set and Last Used often repeats: format each distinct value once.
    let firstUsedMs: number | null = null;
    let firstUsed: string | null = null;
    let lastUsedMs: number | null = null;
    let lastUsed: string | null = null;
    for (const point of pointCells) {
      const usage = usageAt(point.instant);
      if (usage.firstUsed !== firstUsedMs) {
        firstUsedMs = usage.firstUsed;
        firstUsed = usage.firstUsed === null ? null : isoTimestamp(usage.firstUsed);
      }
      if (usage.lastUsed !== lastUsedMs) {
        lastUsedMs = usage.lastUsed;
        lastUsed = usage.lastUsed === null ? null : isoTimestamp(usage.lastUsed);
      }
      rows.push([
        company.companyId,
        company.name,
        feature.name,
        feature.id,
        point.date,
        firstSeen,
        point.lastSeen,
        firstUsed,
        lastUsed,
        usage.starsLabel,
        usage.stars,
        usage.frequencyLabel,
        usage.frequency,
        usage.satisfactionLabel,
        usage.satisfaction,
        usage.feedbackCount,
        point.segmentNames,
        point.segmentIds,
      ]);
    }
  }
  return rows;
}
