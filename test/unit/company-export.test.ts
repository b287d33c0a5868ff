/**
 * The company adoption export as both styles write it (lambdas/core/export/company-export.ts): its rows
 * (company-source.ts: one batch per company with rows, and the counts), its CSV encoder and its file name
 * (naming.ts).
 */
import { COMPANY_COLUMNS, companyRows } from '../../lambdas/core/company-row';
import { companyRowBatches, type SourceStats } from '../../lambdas/core/export/company-source';
import { companyExport } from '../../lambdas/core/export/company-export';
import { exportFileName, slug } from '../../lambdas/core/export/naming';
import { DEFAULT_ADOPTION, type CompanyUsage, type FeatureDefinition } from '../../lambdas/core/model';
import { dataPoints } from '../../lambdas/core/periods';

const NOW = Date.parse('2024-01-20T12:00:00Z');
const features: FeatureDefinition[] = [
  { id: 'f1', key: 'export-csv', name: 'CSV export', adoption: DEFAULT_ADOPTION },
  { id: 'f2', key: 'dashboards', name: 'Dashboards', adoption: DEFAULT_ADOPTION },
];

function company(companyId: string, firstSeen: number): CompanyUsage {
  return {
    company: { companyId, name: `${companyId} Inc`, attributes: {}, firstSeen, seenDays: new Map() },
    usage: [],
  };
}

async function* companies(list: CompanyUsage[]): AsyncIterable<CompanyUsage> {
  yield* list;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe('company rows as an export source', () => {
  it('yields one batch per company with rows, and counts every company and company x feature pair', async () => {
    const points = dataPoints('snapshot', NOW);
    // Seen only after the snapshot: no rows, so no batch, but still counted.
    const list = [company('acme', NOW - 86_400_000), company('later', NOW + 86_400_000), company('zeta', 0)];
    const stats: SourceStats = { companies: 0, pairs: 0 };
    const batches = await collect(companyRowBatches(companies(list), features, [], points, stats));
    expect(batches).toEqual([companyRows(list[0], features, [], points), companyRows(list[2], features, [], points)]);
    expect(batches.map((batch) => batch.length)).toEqual([2, 2]);
    expect(stats).toEqual({ companies: 3, pairs: 6 });
  });
});

describe('the company export', () => {
  it('encodes the rows as CSV with the company columns and names the file after environment, period and date', async () => {
    const list = [company('acme', 0), company('beta, "b"', 0)];
    const built = companyExport({
      environmentName: 'Production (EU)',
      period: '30d-daily',
      date: '2024-01-20',
      companies: companies(list),
      features,
      segments: [],
      points: dataPoints('snapshot', NOW),
    });
    expect(built.fileName).toBe('production-eu_30d-daily_2024-01-20.csv');
    expect(built.encoder.extension).toBe('csv');
    expect(built.encoder.contentType).toBe('text/csv; charset=utf-8');

    const stream = built.encoder.createStream();
    const text = (async () => {
      let all = '';
      for await (const chunk of stream) all += String(chunk);
      return all;
    })();
    for await (const batch of built.rows) stream.write(batch);
    stream.end();
    const lines = (await text).split('\n');
    expect(lines[0]).toBe(COMPANY_COLUMNS.join(','));
    expect(lines.slice(1, -1).map((line) => line.split(',')[0])).toEqual(['acme', 'acme', '"beta', '"beta']);
    expect(lines).toHaveLength(6);
  });
});

describe('file names', () => {
  it('keeps lower-case letters, digits and single dashes', () => {
    expect(slug('Production')).toBe('production');
    expect(slug('  Acme, Inc. / EU-West 2  ')).toBe('acme-inc-eu-west-2');
    expect(slug('--staging--')).toBe('staging');
  });

  it('writes accented and compatibility characters as their plain letters', () => {
    expect(slug('Zürich Café')).toBe('zurich-cafe');
    expect(slug('ﬁle Ｔｅｓｔ')).toBe('file-test');
  });

  it('is at most 60 characters, and "environment" when nothing is left', () => {
    expect(slug('a'.repeat(70))).toBe('a'.repeat(60));
    expect(slug('')).toBe('environment');
    expect(slug('日本 !!')).toBe('environment');
  });

  it('joins environment, aggregation and date', () => {
    expect(exportFileName('Production', '6m-weekly', '2026-11-23', 'csv')).toBe('production_6m-weekly_2026-11-23.csv');
  });
});
