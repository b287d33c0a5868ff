/** The company data model as an export source: one batch of rows per company, streamed from the store. */
import { companyRows, type CompanyRowCells } from '../company-row';
import type { FeatureDefinition, SegmentDefinition } from '../model';
import type { DataPoint } from '../periods';
import type { CompanyUsage } from '../model';

export interface SourceStats {
  companies: number;
  /** Company x feature pairs exported. */
  pairs: number;
}

export async function* companyRowBatches(
  companies: AsyncIterable<CompanyUsage>,
  features: readonly FeatureDefinition[],
  segments: readonly SegmentDefinition[],
  points: readonly DataPoint[],
  stats: SourceStats = { companies: 0, pairs: 0 },
): AsyncGenerator<CompanyRowCells[]> {
  for await (const company of companies) {
    stats.companies++;
    stats.pairs += features.length;
    const rows = companyRows(company, features, segments, points);
    if (rows.length > 0) yield rows;
  }
}
