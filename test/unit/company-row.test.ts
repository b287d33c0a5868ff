import { COMPANY_COLUMNS, companyRows, type CompanyRowCells } from '../../lambdas/core/company-row';
import {
  DAY_MS,
  DEFAULT_ADOPTION,
  feedbackTally,
  toEpochDay,
  type CompanyUsage,
  type FeatureDefinition,
  type SegmentDefinition,
} from '../../lambdas/core/model';
import { dataPoints } from '../../lambdas/core/periods';
import { COMPANY_MODEL_COLUMNS } from '../support/company-model-oracle';

const ms = (iso: string): number => Date.parse(iso);
const dayNumber = (date: string): number => toEpochDay(ms(`${date}T00:00:00Z`));
/** `count` dates from `first`, one a day. */
const dates = (first: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => new Date(ms(`${first}T00:00:00Z`) + i * DAY_MS).toISOString().slice(0, 10));

const exportCsv: FeatureDefinition = {
  id: 'feat-export',
  key: 'export-csv',
  name: 'CSV export',
  adoption: DEFAULT_ADOPTION,
};
const dashboards: FeatureDefinition = {
  id: 'feat-dash',
  key: 'dashboard-view',
  name: 'Dashboards',
  adoption: { minActiveDays: 1, windowDays: 7 },
};
const segments: SegmentDefinition[] = [
  { id: 'seg-ent', name: 'Enterprise', conditions: [{ attribute: 'plan', operator: 'equals', value: 'enterprise' }] },
  { id: 'seg-all', name: 'All companies', conditions: [] },
  { id: 'seg-free', name: 'Free', conditions: [{ attribute: 'plan', operator: 'equals', value: 'free' }] },
  {
    id: 'seg-new',
    name: 'New',
    conditions: [{ field: 'firstSeen', operator: 'lessThanDaysAgo', days: 3 }],
  },
];

/** Seen daily Jan 10 .. Jan 20 2024 (last at 17:00); CSV export used Jan 12 .. Jan 16, with feedback. */
const acme: CompanyUsage = {
  company: {
    companyId: 'acme',
    name: 'Acme Inc',
    attributes: { plan: 'enterprise' },
    firstSeen: ms('2024-01-10T08:30:00Z'),
    seenDays: new Map(dates('2024-01-10', 11).map((d) => [dayNumber(d), ms(`${d}T17:00:00Z`)])),
  },
  usage: [
    {
      eventKey: 'export-csv',
      firstUsed: ms('2024-01-12T09:00:00Z'),
      usedDays: new Map(dates('2024-01-12', 5).map((d) => [dayNumber(d), ms(`${d}T15:00:00Z`)])),
      feedback: [
        { at: ms('2024-01-13T10:00:00Z'), score: 4 },
        { at: ms('2024-01-14T10:00:00Z'), score: null },
        { at: ms('2024-01-15T10:00:00Z'), score: 5 },
      ].map(feedbackTally),
    },
    // Usage of an event no feature is keyed on: ignored.
    {
      eventKey: 'feat-dash',
      firstUsed: ms('2024-01-10T09:00:00Z'),
      usedDays: new Map([[dayNumber('2024-01-10'), 0]]),
      feedback: [],
    },
  ],
};

const rowsOf = (companyUsage: CompanyUsage, features: FeatureDefinition[], now: number): CompanyRowCells[] =>
  companyRows(companyUsage, features, segments, dataPoints('30d-daily', now));
const asRecord = (row: CompanyRowCells) => Object.fromEntries(COMPANY_COLUMNS.map((column, i) => [column, row[i]]));

describe('COMPANY_COLUMNS', () => {
  it('are the 18 headers of the company data model, in order', () => {
    expect(COMPANY_COLUMNS).toEqual(COMPANY_MODEL_COLUMNS);
  });
});

describe('companyRows', () => {
  const now = ms('2024-01-25T06:00:00Z'); // 30 days: Dec 26 .. Jan 24
  // Built in each test, not when the file is collected: mutation runs switch a mutant on only for tests.
  let rows: CompanyRowCells[];
  beforeEach(() => {
    rows = rowsOf(acme, [exportCsv, dashboards], now);
  });

  it('has one row per feature and data point since first seen, by feature then date', () => {
    // Seen from Jan 10: the points dated Jan 10 .. Jan 24, for each feature.
    expect(rows).toHaveLength(2 * 15);
    expect(rows.map((r) => `${r[3]} ${r[4]}`)).toEqual([
      ...dates('2024-01-10', 15).map((d) => `feat-export ${d}`),
      ...dates('2024-01-10', 15).map((d) => `feat-dash ${d}`),
    ]);
    expect(rows.every((row) => row.length === COMPANY_COLUMNS.length)).toBe(true);
  });

  it('fills every cell of a row as of its data point', () => {
    const row = rows.find((r) => r[3] === 'feat-export' && r[4] === '2024-01-16')!;
    expect(asRecord(row)).toEqual({
      'Company ID': 'acme',
      'Company Name': 'Acme Inc',
      'Feature Name': 'CSV export',
      'Feature ID': 'feat-export',
      Date: '2024-01-16',
      'First Seen': '2024-01-10T08:30:00.000Z',
      'Last Seen': '2024-01-16T17:00:00.000Z',
      'First Used': '2024-01-12T09:00:00.000Z',
      'Last Used': '2024-01-16T15:00:00.000Z',
      'STARS State Label': 'retained',
      'STARS State': 3,
      'Frequency Label': 'Rarely', // 5 days, all in the last week
      Frequency: 0,
      'Satisfaction Label': 'Very satisfied',
      Satisfaction: 5, // (4 + 5) / 2 = 4.5, rounded half up
      'Feedback Count': 3,
      'Segment Names': 'All companies,Enterprise',
      'Segment IDs': 'seg-all,seg-ent',
    });
  });

  it('reflects the state at each point: before first use, tried, then adopted', () => {
    const exportRows = rows.filter((r) => r[3] === 'feat-export').map(asRecord);
    const on = (date: string) => exportRows.find((r) => r.Date === date)!;
    expect(on('2024-01-11')).toMatchObject({
      'First Used': null,
      'Last Used': null,
      'STARS State Label': 'never',
      'Frequency Label': 'Never',
      Frequency: 0,
      'Satisfaction Label': null,
      Satisfaction: null,
      'Feedback Count': 0,
    });
    expect(on('2024-01-13')).toMatchObject({ 'STARS State Label': 'tried', 'Feedback Count': 1, Satisfaction: 4 });
    expect(on('2024-01-14')).toMatchObject({ 'Feedback Count': 2, Satisfaction: 4 });
    expect(on('2024-01-24')).toMatchObject({
      'Last Seen': '2024-01-20T17:00:00.000Z',
      'Last Used': '2024-01-16T15:00:00.000Z',
      'STARS State Label': 'retained',
    });
  });

  it('evaluates the seen conditions of segments at each point', () => {
    const exportRows = rows.filter((r) => r[3] === 'feat-export').map(asRecord);
    const segmentsOn = (date: string) => exportRows.find((r) => r.Date === date)!['Segment IDs'];
    expect(segmentsOn('2024-01-12')).toBe('seg-all,seg-ent,seg-new'); // first seen 2 days 15.5 h before
    expect(segmentsOn('2024-01-13')).toBe('seg-all,seg-ent');
    expect(exportRows.find((r) => r.Date === '2024-01-12')!['Segment Names']).toBe('All companies,Enterprise,New');
  });

  it('follows a change of segments between points even when the company is in as many as before, and leaves the cells empty in none', () => {
    const byAge: SegmentDefinition[] = [
      { id: 'seg-new', name: 'New', conditions: [{ field: 'firstSeen', operator: 'lessThanDaysAgo', days: 3 }] },
      {
        id: 'seg-old',
        name: 'Established',
        conditions: [{ field: 'firstSeen', operator: 'moreThanDaysAgo', days: 3 }],
      },
    ];
    const cells = companyRows(acme, [exportCsv], byAge, dataPoints('30d-daily', now))
      .map(asRecord)
      .map((row) => `${row.Date} ${row['Segment Names']} ${row['Segment IDs']}`);
    // First seen Jan 10 08:30: new at the points of Jan 10 .. 12, established from Jan 14 (the end of Jan 13 is 3 days and 15.5 hours).
    expect(cells.slice(0, 5)).toEqual([
      '2024-01-10 New seg-new',
      '2024-01-11 New seg-new',
      '2024-01-12 New seg-new',
      '2024-01-13 Established seg-old',
      '2024-01-14 Established seg-old',
    ]);
    const [row] = companyRows(acme, [exportCsv], [], dataPoints('snapshot', now));
    expect(asRecord(row)).toMatchObject({ 'Segment Names': '', 'Segment IDs': '' });
  });

  it('follows a move between two sets of segments that share one', () => {
    const byAgeAndPlan: SegmentDefinition[] = [
      segments[0], // Enterprise: at every point
      { id: 'seg-new', name: 'New', conditions: [{ field: 'firstSeen', operator: 'lessThanDaysAgo', days: 3 }] },
      { id: 'seg-old', name: 'Old', conditions: [{ field: 'firstSeen', operator: 'moreThanDaysAgo', days: 3 }] },
    ];
    const cells = companyRows(acme, [exportCsv], byAgeAndPlan, dataPoints('30d-daily', now))
      .map(asRecord)
      .map((row) => `${row.Date} ${row['Segment Names']} ${row['Segment IDs']}`);
    expect(cells.slice(2, 4)).toEqual([
      '2024-01-12 Enterprise,New seg-ent,seg-new',
      '2024-01-13 Enterprise,Old seg-ent,seg-old',
    ]);
  });

  it('gives each data point the state as of its own instant, whatever the order of the points', () => {
    // Newest first: First and Last Used go from set to empty, where an export's points only fill them.
    const newestFirst = companyRows(acme, [exportCsv], segments, dataPoints('30d-daily', now).reverse());
    expect(newestFirst).toEqual(rows.filter((r) => r[3] === 'feat-export').reverse());
    expect(asRecord(newestFirst.at(-1)!)).toMatchObject({ Date: '2024-01-10', 'First Used': null, 'Last Used': null });
  });

  it('looks usage up by the feature key: a feature without usage gets never / Never rows', () => {
    const dashboardRows = rows.filter((r) => r[3] === 'feat-dash').map(asRecord);
    expect(dashboardRows).toHaveLength(15);
    for (const row of dashboardRows) {
      expect(row).toMatchObject({
        'Feature Name': 'Dashboards',
        'First Used': null,
        'Last Used': null,
        'STARS State Label': 'never',
        'STARS State': 1,
        'Frequency Label': 'Never',
        Frequency: 0,
        'Feedback Count': 0,
      });
    }
  });

  it('has no rows for points before the company was first seen', () => {
    expect(rowsOf(acme, [exportCsv], ms('2024-01-10T00:00:00Z'))).toEqual([]);
    // First seen Jan 10 08:30: the snapshot at 08:30 excludes it, one millisecond later includes it.
    const snapshotAt = (instant: number) => companyRows(acme, [exportCsv], segments, dataPoints('snapshot', instant));
    expect(snapshotAt(ms('2024-01-10T08:30:00Z'))).toEqual([]);
    const [row] = snapshotAt(ms('2024-01-10T08:30:00.001Z'));
    expect(asRecord(row)).toMatchObject({ Date: '2024-01-10', 'Last Seen': '2024-01-10T08:30:00.000Z' });
  });

  it('leaves cells as they are: null name, text that looks like a formula', () => {
    const unnamed: CompanyUsage = {
      company: { ...acme.company, companyId: '=HYPERLINK("x")', name: null, attributes: {} },
      usage: [],
    };
    const [row] = rowsOf(unnamed, [{ ...exportCsv, name: '+cmd' }], now);
    expect(asRecord(row)).toMatchObject({
      'Company ID': '=HYPERLINK("x")',
      'Company Name': null,
      'Feature Name': '+cmd',
      Date: '2024-01-10',
      'Segment Names': 'All companies,New',
      'Segment IDs': 'seg-all,seg-new',
    });
  });

  it('is empty without features or data points', () => {
    expect(rowsOf(acme, [], now)).toEqual([]);
    expect(companyRows(acme, [exportCsv], segments, [])).toEqual([]);
  });
});
