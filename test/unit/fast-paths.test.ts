/**
 * Each speed technique (lambdas/core/fast-paths, the CSV encoder's group texts) gives exactly what the
 * plain reading gives, over inputs fast-check generates.
 */
import fc from 'fast-check';
import { stringify } from 'csv-stringify/sync';
import { usageTimeline } from '../../lambdas/core/adoption';
import { CsvRowEncoder } from '../../lambdas/core/export/csv';
import type { Cell } from '../../lambdas/core/export/pipeline';
import { isoTimestamp } from '../../lambdas/core/fast-paths/iso-timestamp';
import { daysInOrder } from '../../lambdas/core/fast-paths/days-in-order';
import { DAY_MS, DEFAULT_ADOPTION, SortedDayHistory, type FeatureUsageRecord } from '../../lambdas/core/model';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const DAY0 = Date.UTC(2024, 0, 1) / DAY_MS;

describe('isoTimestamp', () => {
  it('formats every instant exactly as toISOString', () => {
    const instants = fc.oneof(
      fc.integer({ min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }),
      fc.integer({ min: -8.64e15, max: 8.64e15 }),
      fc.double({ min: -1e13, max: 1e13, noNaN: true }),
      fc.constantFrom(0, 1, -1, 1.5, Date.UTC(10000, 0, 1), Date.UTC(2028, 1, 29, 23, 59, 59, 999)),
    );
    fc.assert(
      fc.property(instants, (ms) => isoTimestamp(ms) === new Date(ms).toISOString()),
      { numRuns: RUNS * 10 },
    );
  });
});

describe('daysInOrder', () => {
  /** Distinct days with a latest time each, in any order. */
  const history = fc
    .uniqueArray(fc.integer({ min: 0, max: 400 }), { maxLength: 120 })
    .map((offsets) =>
      offsets.map((offset) => [DAY0 + offset, (DAY0 + offset) * DAY_MS + 15 * 3_600_000] as [number, number]),
    );

  it("gives the store's sorted arrays as they are and sorts any other map into the same arrays", () => {
    fc.assert(
      fc.property(history, (entries) => {
        const sorted = [...entries].sort((a, b) => a[0] - b[0]);
        const store = new SortedDayHistory(
          sorted.map(([day]) => day),
          sorted.map(([, ms]) => ms),
        );
        expect(daysInOrder(store)).toBe(store);
        const fromMap = daysInOrder(new Map(entries));
        expect({ days: [...fromMap.days], latest: [...fromMap.latest] }).toEqual({
          days: [...store.days],
          latest: [...store.latest],
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('gives the adoption model the same answers from either, at every instant, in any order of asking', () => {
    fc.assert(
      fc.property(
        history,
        fc.array(fc.integer({ min: -5 * 24, max: 420 * 24 }), { minLength: 1, maxLength: 30 }),
        (entries, hours) => {
          const sorted = [...entries].sort((a, b) => a[0] - b[0]);
          const usage = (usedDays: FeatureUsageRecord['usedDays']): FeatureUsageRecord => ({
            eventKey: 'e',
            firstUsed: null,
            usedDays,
            feedback: [],
          });
          const fromStore = usageTimeline(
            usage(
              new SortedDayHistory(
                sorted.map(([d]) => d),
                sorted.map(([, ms]) => ms),
              ),
            ),
            DEFAULT_ADOPTION,
          );
          const fromMap = usageTimeline(usage(new Map(entries)), DEFAULT_ADOPTION);
          for (const hour of hours) {
            const instant = DAY0 * DAY_MS + hour * 3_600_000;
            expect(fromStore(instant)).toEqual(fromMap(instant));
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('CsvRowEncoder group texts', () => {
  const WHOLE_ROWS = { record_delimiter: 'unix', quote_record_delimiter: true, escape_formulas: true } as const;
  /** Few distinct values, so that groups repeat as in an export, with CSV's special characters among them. */
  const cell: fc.Arbitrary<Cell> = fc.oneof(
    fc.constantFrom<Cell>(
      null,
      '',
      'acme',
      'a,b',
      'q"uote',
      'line\nbreak',
      '=1+1',
      '2026-11-23T12:00:00.000Z',
      0,
      1,
      2.5,
    ),
    fc.string({ maxLength: 6 }),
  );

  it('writes the bytes csv-stringify writes for the whole rows, whatever the column groups', () => {
    const table = fc.integer({ min: 1, max: 8 }).chain((columns) =>
      fc.record({
        groups: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: columns }).map((sizes) => {
          const groups: number[] = [];
          let left = columns;
          for (const size of sizes) {
            if (left === 0) break;
            groups.push(Math.min(size, left));
            left -= groups[groups.length - 1];
          }
          if (left > 0) groups.push(left);
          return groups;
        }),
        // Rows drawn from a few distinct ones, so that rows repeat whole groups.
        rows: fc
          .array(fc.array(cell, { minLength: columns, maxLength: columns }), { minLength: 1, maxLength: 4 })
          .chain((distinct) => fc.array(fc.constantFrom(...distinct), { maxLength: 40 })),
        columns: fc.constant(columns),
      }),
    );
    fc.assert(
      fc.property(table, ({ columns, groups, rows }) => {
        const encoder = new CsvRowEncoder(columns, { columnGroups: groups });
        const half = Math.floor(rows.length / 2);
        const encoded = encoder.encode(rows.slice(0, half)) + encoder.encode(rows.slice(half));
        expect(encoded).toBe(rows.length === 0 ? '' : stringify(rows, WHOLE_ROWS));
      }),
      { numRuns: RUNS },
    );
  });
});
