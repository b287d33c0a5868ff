/**
 * The company adoption export as every style writes it (manual and automatic): its rows, its encoder
 * and its file name. The styles differ only in their data points, where the file goes and what they
 * record.
 */
import { COMPANY_COLUMN_GROUPS, COMPANY_COLUMNS } from '../company-row';
import type { FeatureDefinition, SegmentDefinition } from '../model';
import type { DataPoint } from '../periods';
import type { CompanyUsage } from '../model';
import { companyRowBatches } from './company-source';
import { csvEncoder } from './csv';
import { exportFileName } from './naming';
import type { RunExportOptions } from './pipeline';

export interface CompanyExportInput {
  environmentName: string;
  /** The aggregation (manual) or cadence (automatic) the file name shows. */
  period: string;
  /** The `YYYY-MM-DD` the file name shows. */
  date: string;
  companies: AsyncIterable<CompanyUsage>;
  features: readonly FeatureDefinition[];
  segments: readonly SegmentDefinition[];
  points: readonly DataPoint[];
}

export interface CompanyExport extends Pick<RunExportOptions, 'rows' | 'encoder'> {
  fileName: string;
}

export function companyExport(input: CompanyExportInput): CompanyExport {
  const encoder = csvEncoder(COMPANY_COLUMNS, COMPANY_COLUMN_GROUPS);
  return {
    rows: companyRowBatches(input.companies, input.features, input.segments, input.points),
    encoder,
    fileName: exportFileName(input.environmentName, input.period, input.date, encoder.extension),
  };
}
