/**
 * Manual export end to end: request over HTTP, the job runs asynchronously into the exports bucket
 * (s3rver), the file is downloaded by its pre-signed URL and loaded into DuckDB, a real warehouse
 * engine, whose parsed values are checked against the model.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  feedbackTally,
  type CompanyUsage,
  type FeatureDefinition,
  type SegmentDefinition,
} from '../../lambdas/core/model';
import { syntheticTenant } from '../../lambdas/local/synthetic';
import { COMPANY_MODEL_COLUMNS, modelDataPoints, modelRows, type ModelFeedback } from '../support/company-model-oracle';
import { startTestService, type TestService } from '../support/local-service';
import { createTenant } from '../support/tenants';

const NOW = Date.parse('2026-11-23T12:00:00Z'); // a Monday
const clock = { now: () => NOW };

let service: TestService;
let duckdb: DuckDBInstance;
let db: DuckDBConnection;
let workDir: string;
let environmentId: string;
let member: string;
let features: FeatureDefinition[];
let segments: SegmentDefinition[];
const companies: CompanyUsage[] = [];
/** Each company's feedback records as sent: the oracle counts from these, the store is loaded with their tallies. */
const feedbackOf = new Map<string, ModelFeedback[]>();

const day = (iso: string) => Math.floor(Date.parse(iso) / 86_400_000);
const at = (iso: string) => Date.parse(iso);

/** Names that break naive CSV writers and spreadsheets. */
const TRICKY: CompanyUsage[] = [
  {
    company: {
      companyId: 'tricky-1',
      name: '=HYPERLINK("http://evil.example","click")',
      attributes: { name: '=HYPERLINK("http://evil.example","click")', plan: 'enterprise' },
      firstSeen: at('2026-11-01T09:00:00Z'),
      seenDays: new Map([
        [day('2026-11-01'), at('2026-11-01T09:00:00Z')],
        [day('2026-11-20'), at('2026-11-20T18:30:00Z')],
      ]),
    },
    usage: [
      {
        eventKey: 'report_run',
        firstUsed: at('2026-11-01T09:00:00Z'),
        usedDays: new Map([
          [day('2026-11-01'), at('2026-11-01T09:00:00Z')],
          [day('2026-11-20'), at('2026-11-20T18:30:00Z')],
        ]),
        feedback: [],
      },
    ],
  },
  {
    company: {
      companyId: 'tricky-2',
      name: 'Smith, "Jones" & Søn\nLtd',
      attributes: { name: 'Smith, "Jones" & Søn\nLtd' },
      firstSeen: at('2026-10-01T00:00:00Z'),
      seenDays: new Map([[day('2026-10-01'), at('2026-10-01T00:00:00Z')]]),
    },
    usage: [],
  },
  {
    company: {
      companyId: 'tricky-3',
      name: null,
      attributes: {},
      firstSeen: at('2026-11-22T23:59:59Z'),
      seenDays: new Map([[day('2026-11-22'), at('2026-11-22T23:59:59Z')]]),
    },
    usage: [],
  },
];

const TRICKY_FEEDBACK: ModelFeedback[] = [
  { eventKey: 'report_run', at: at('2026-11-02T10:00:00Z'), score: 2 },
  { eventKey: 'report_run', at: at('2026-11-03T10:00:00Z'), score: 3 },
  { eventKey: 'report_run', at: at('2026-11-03T11:00:00Z'), score: null },
];

/**
 * Feedback for a synthetic company, replacing the generator's: a few records on its last used days of
 * a feature, two of them on one day, some without a score, varied by `seed`.
 */
function feedbackFor(usage: CompanyUsage, seed: number): ModelFeedback[] {
  return usage.usage.flatMap((record, r) => {
    if ((seed + r) % 3 !== 0) return [];
    const days = [...record.usedDays.values()].sort((a, b) => a - b).slice(-3);
    return days.flatMap((time, d) => {
      const score = (k: number) => ((seed + r + d + k) % 6 === 0 ? null : (seed + r + d + k) % 6);
      const records = [{ eventKey: record.eventKey, at: time, score: score(0) }];
      if (d === 0) records.push({ eventKey: record.eventKey, at: time - 1, score: score(1) });
      return records;
    });
  });
}

/** The company with `feedback` stored, as daily tallies of its records. */
function withFeedback(usage: CompanyUsage, feedback: ModelFeedback[]): CompanyUsage {
  feedbackOf.set(usage.company.companyId, feedback);
  return {
    ...usage,
    usage: usage.usage.map((record) => ({
      ...record,
      feedback: feedback
        .filter((entry) => entry.eventKey === record.eventKey)
        .map(({ at, score }) => feedbackTally({ at, score })),
    })),
  };
}

async function exportFile(aggregation: string): Promise<{ job: any; path: string }> {
  const started = await service.call('POST', `/v1/environments/${environmentId}/exports/manual`, {
    token: member,
    body: { aggregation },
  });
  expect(started.status).toBe(202);
  expect(started.body).toMatchObject({ status: 'pending', aggregation, downloadUrl: null });
  await service.services.dispatcher.idle();
  const job = (
    await service.call('GET', `/v1/environments/${environmentId}/exports/manual/${started.body.id}`, { token: member })
  ).body;
  expect(job.status).toBe('done');
  const download = await fetch(job.downloadUrl);
  expect(download.status).toBe(200);
  const bytes = Buffer.from(await download.arrayBuffer());
  expect(bytes.length).toBe(job.byteCount);
  const path = join(workDir, job.fileName);
  writeFileSync(path, bytes);
  return { job, path };
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS();
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'manual-export-'));
  service = await startTestService({ clock });
  ({ environmentId, token: member } = await createTenant(service, 'pro', 'Pro Co', 'Production EU'));
  for (const [id, key, name] of [
    ['reports', 'report_run', 'Reports'],
    ['alerts', 'alert_created', 'Alerts'],
    ['exports', 'export_done', '+Exports'],
  ]) {
    await service.call('PUT', `/v1/environments/${environmentId}/features/${id}`, {
      token: member,
      body: { key, name },
    });
  }
  await service.call('PUT', `/v1/environments/${environmentId}/segments/enterprise`, {
    token: member,
    body: { name: 'Enterprise', conditions: [{ attribute: 'plan', operator: 'equals', value: 'enterprise' }] },
  });
  features = (await service.call('GET', `/v1/environments/${environmentId}/features`, { token: member })).body.features;
  segments = (await service.call('GET', `/v1/environments/${environmentId}/segments`, { token: member })).body.segments;
  let seed = 0;
  for (const company of syntheticTenant({
    companies: 40,
    featureKeys: ['report_run', 'alert_created', 'export_done'],
    days: 200,
    endAt: NOW,
    seed: 3,
  })) {
    companies.push(withFeedback(company, feedbackFor(company, seed++)));
  }
  companies.push(
    withFeedback(TRICKY[0], TRICKY_FEEDBACK),
    ...TRICKY.slice(1).map((company) => withFeedback(company, [])),
  );
  for (const company of companies) await service.services.usage.putCompanyUsage(environmentId, company);
  duckdb = await DuckDBInstance.create(':memory:');
  db = await duckdb.connect();
});

afterAll(async () => {
  db?.closeSync();
  await service.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('the API', () => {
  it('refuses the free plan with a 403 naming the plans that allow it', async () => {
    const free = await createTenant(service, 'free', 'Free Co', 'P');
    const response = await service.call('POST', `/v1/environments/${free.environmentId}/exports/manual`, {
      token: free.token,
      body: { aggregation: 'snapshot' },
    });
    expect(response.status).toBe(403);
    expect(response.body.error).toEqual({
      code: 'plan_required',
      message: 'Manual export requires the pro or enterprise plan; this organization is on the free plan.',
    });
  });

  it('explains an unknown aggregation', async () => {
    const response = await service.call('POST', `/v1/environments/${environmentId}/exports/manual`, {
      token: member,
      body: { aggregation: 'yearly' },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/aggregation must be one of snapshot, 30d-daily, 3m-weekly, 6m-weekly/);
  });

  it("hides another organization's exports", async () => {
    const { job } = await exportFile('snapshot');
    const stranger = await service.token('org_other');
    const response = await service.call('GET', `/v1/environments/${environmentId}/exports/manual/${job.id}`, {
      token: stranger,
    });
    expect(response.status).toBe(404);
    const unknown = await service.call('GET', `/v1/environments/${environmentId}/exports/manual/exp_nope`, {
      token: member,
    });
    expect(unknown.status).toBe(404);
  });
});

describe.each([
  ['snapshot', 1],
  ['30d-daily', 30],
  ['3m-weekly', 13],
  ['6m-weekly', 26],
])('a %s export loaded into DuckDB', (aggregation, pointCount) => {
  let table: string;
  let job: any;

  beforeAll(async () => {
    const file = await exportFile(aggregation);
    job = file.job;
    table = `export_${aggregation.replace('-', '_')}`;
    await db.run(`CREATE TABLE ${table} AS SELECT * FROM read_csv('${file.path}', header = true)`);
  });

  it('is named after environment, aggregation and date', () => {
    expect(job.fileName).toBe(`production-eu_${aggregation}_2026-11-23.csv`);
  });

  it('has the 18 columns, typed by the warehouse as dates, timestamps and numbers', async () => {
    const columns = await query(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${table}' ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => c.column_name)).toEqual([...COMPANY_MODEL_COLUMNS]);
    const types = Object.fromEntries(columns.map((c) => [c.column_name, c.data_type]));
    expect(types).toMatchObject({
      'Company ID': 'VARCHAR',
      Date: 'DATE',
      'STARS State': 'BIGINT',
      Frequency: 'BIGINT',
      'Feedback Count': 'BIGINT',
    });
    for (const column of ['First Seen', 'Last Seen', 'First Used', 'Last Used'])
      expect(types[column]).toMatch(/^TIMESTAMP/);
    expect(['BIGINT', 'DOUBLE']).toContain(types.Satisfaction);
  });

  it('has one row per company x feature x data point at which the company existed', async () => {
    const points = modelDataPoints(aggregation, NOW);
    const expected = companies.reduce(
      (sum, c) => sum + points.filter((p) => c.company.firstSeen < p.instant).length * features.length,
      0,
    );
    const [{ rows, dates }] = await query(
      `SELECT count(*)::INTEGER AS rows, count(DISTINCT "Date")::INTEGER AS dates FROM ${table}`,
    );
    expect(rows).toBe(expected);
    expect(job.rowCount).toBe(expected);
    expect(dates).toBe(pointCount);
  });

  it('matches the model cell by cell in all 18 columns, nulls as nulls', async () => {
    // Expected values from an independent reading of DESIGN's definitions (test/support/company-model-oracle.ts).
    const expected = companies.flatMap((c) =>
      modelRows(c, feedbackOf.get(c.company.companyId)!, features, segments, modelDataPoints(aggregation, NOW)),
    );
    const time = (column: string) => `epoch_ms("${column}")::DOUBLE AS "${column}"`;
    const actual = await query(`
      SELECT "Company ID", "Company Name", "Feature Name", "Feature ID", strftime("Date", '%Y-%m-%d') AS "Date",
             ${['First Seen', 'Last Seen', 'First Used', 'Last Used'].map(time).join(', ')},
             "STARS State Label", "STARS State"::INTEGER AS "STARS State", "Frequency Label", "Frequency"::INTEGER AS "Frequency",
             "Satisfaction Label", "Satisfaction"::INTEGER AS "Satisfaction", "Feedback Count"::INTEGER AS "Feedback Count",
             "Segment Names", "Segment IDs"
      FROM ${table}`);
    const key = (row: Record<string, unknown>) =>
      [row['Company ID'], row['Feature ID'], row.Date].map(String).join('|');
    const byKey = new Map(actual.map((row) => [key(row), row]));
    expect(byKey.size).toBe(expected.length);
    for (const row of expected) expect(byKey.get(key(row))).toEqual(row);
    // The fixtures reach every state the columns can show.
    const seen = (column: keyof (typeof expected)[number]) => new Set(expected.map((row) => row[column]));
    if (aggregation !== 'snapshot') {
      expect(seen('STARS State')).toEqual(new Set([1, 2, 3, 4]));
      expect(seen('Frequency')).toEqual(new Set([0, 1, 2, 3]));
    }
    expect(seen('Satisfaction').size).toBeGreaterThan(2);
  });

  it('keeps tricky text intact and neutralizes formulas', async () => {
    const rows = await query(
      `SELECT DISTINCT "Company ID" AS id, "Company Name" AS name, "Segment Names" AS segments FROM ${table} WHERE "Company ID" LIKE 'tricky-%' ORDER BY 1`,
    );
    const names = Object.fromEntries(rows.map((r) => [r.id, r.name]));
    expect(names['tricky-1']).toBe(`'=HYPERLINK("http://evil.example","click")`);
    expect(names['tricky-2']).toBe('Smith, "Jones" & Søn\nLtd');
    if (aggregation === 'snapshot') {
      expect(names['tricky-3']).toBeNull();
      expect(rows.find((r) => r.id === 'tricky-1')!.segments).toBe('Enterprise');
    }
    const featureNames = await query(`SELECT DISTINCT "Feature Name" AS name FROM ${table} ORDER BY 1`);
    expect(featureNames.map((r) => r.name)).toContain("'+Exports");
  });
});

describe('the tricky company in the snapshot', () => {
  it('has its satisfaction rounded half up, its feedback counted with and without scores, and its timestamps exact', async () => {
    const [row] = await query(`
      SELECT "Satisfaction"::INTEGER AS satisfaction, "Satisfaction Label" AS label, "Feedback Count"::INTEGER AS feedback,
             strftime("First Seen", '%Y-%m-%dT%H:%M:%S') AS first_seen, strftime("Last Used", '%Y-%m-%dT%H:%M:%S') AS last_used
      FROM export_snapshot WHERE "Company ID" = 'tricky-1' AND "Feature ID" = 'reports'`);
    expect(row).toEqual({
      satisfaction: 3,
      label: 'Neutral',
      feedback: 3,
      first_seen: '2026-11-01T09:00:00',
      last_used: '2026-11-20T18:30:00',
    });
  });

  it('appears only in data points after it was first seen', async () => {
    // First seen on 2026-11-22 at 23:59:59: in that day's roll-up, in no earlier one.
    const rows = await query(
      `SELECT DISTINCT strftime("Date", '%Y-%m-%d') AS date FROM export_30d_daily WHERE "Company ID" = 'tricky-3'`,
    );
    expect(rows).toEqual([{ date: '2026-11-22' }]);
  });
});
