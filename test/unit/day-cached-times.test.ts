import fc from 'fast-check';
import { DayCachedTimes } from '../../lambdas/core/export/day-cached-times';
import { compactTimestamp, utcDay } from '../../lambdas/core/export/job-files';

const YEAR_1000 = Date.UTC(1000, 0, 1);
const YEAR_10000 = Date.UTC(10000, 0, 1);
const MAX_TIME = 8.64e15;

/** Times around a few days (runs of the same day, as a run's events come) and anywhere, edges included. */
const times = fc.oneof(
  fc.integer({ min: Date.UTC(2026, 10, 21), max: Date.UTC(2026, 10, 24) }),
  fc.integer({ min: -MAX_TIME, max: MAX_TIME }),
  fc.constantFrom(YEAR_1000 - 1, YEAR_1000, YEAR_10000 - 1, YEAR_10000, 0, -1, -86_400_000, MAX_TIME, -MAX_TIME),
  fc.double({ min: -1e13, max: 1e13, noNaN: true }),
);

describe('DayCachedTimes', () => {
  it('gives what compactTimestamp, toISOString and utcDay give, whatever the order of the times', () => {
    fc.assert(
      fc.property(fc.array(times, { minLength: 1, maxLength: 50 }), (sequence) => {
        const cached = new DayCachedTimes();
        for (const at of sequence) {
          expect(cached.compact(at)).toBe(compactTimestamp(at));
          expect(cached.utcDay(at)).toBe(utcDay(at));
          const iso = (() => {
            try {
              return new Date(at).toISOString();
            } catch (error) {
              return error;
            }
          })();
          if (iso instanceof Error) expect(() => cached.iso(at)).toThrow(RangeError);
          else expect(cached.iso(at)).toBe(iso);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the plain text of times outside years 1000 to 9999, after a time inside them', () => {
    const cached = new DayCachedTimes();
    for (const at of [Date.UTC(2026, 10, 22, 10), YEAR_10000, YEAR_10000 + 3_600_000, YEAR_1000 - 1, -MAX_TIME]) {
      expect(cached.iso(at)).toBe(new Date(at).toISOString());
      expect(cached.compact(at)).toBe(compactTimestamp(at));
      expect(cached.utcDay(at)).toBe(utcDay(at));
    }
  });

  it('starts the next day at midnight', () => {
    const cached = new DayCachedTimes();
    const midnight = Date.UTC(2026, 10, 23);
    for (const at of [midnight - 1, midnight, midnight - 1]) {
      expect(cached.iso(at)).toBe(new Date(at).toISOString());
      expect(cached.compact(at)).toBe(compactTimestamp(at));
    }
  });
});
