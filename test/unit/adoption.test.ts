import fc from 'fast-check';
import {
  adoptionThresholdIssues,
  InvalidAdoptionThresholdsError,
  seenTimeline,
  usageTimeline,
  type UsageAsOf,
} from '../../lambdas/core/adoption';
import {
  DAY_MS,
  DEFAULT_ADOPTION,
  feedbackTally,
  toEpochDay,
  type AdoptionThresholds,
  type CompanyRecord,
  type FeatureUsageRecord,
  type FeedbackEntry,
} from '../../lambdas/core/model';

const ms = (iso: string): number => Date.parse(iso);
const midnight = (date: string): number => ms(`${date}T00:00:00Z`);
/** The roll-up instant whose Date is `date`: the next midnight. */
const endOf = (date: string): number => midnight(date) + DAY_MS;
const dayNumber = (date: string): number => toEpochDay(midnight(date));

/** `count` dates from `first`, `step` days apart. */
const dates = (first: string, count: number, step = 1): string[] =>
  Array.from({ length: count }, (_, i) => new Date(midnight(first) + i * step * DAY_MS).toISOString().slice(0, 10));

/** Use on each date, first at 09:00 and last at 15:00 UTC. */
function usedOn(days: string[], feedback: FeedbackEntry[] = []): FeatureUsageRecord {
  return {
    eventKey: 'export-csv',
    firstUsed: days.length > 0 ? Math.min(...days.map((d) => ms(`${d}T09:00:00Z`))) : null,
    usedDays: new Map(days.map((d) => [dayNumber(d), ms(`${d}T15:00:00Z`)])),
    feedback: feedback.map(feedbackTally),
  };
}

const stateAt = (
  usage: FeatureUsageRecord | undefined,
  instant: number,
  thresholds: AdoptionThresholds = DEFAULT_ADOPTION,
): UsageAsOf => usageTimeline(usage, thresholds)(instant);

describe('STARS state', () => {
  it('is never, with Frequency 0 Never, for a pair without any usage record', () => {
    expect(stateAt(undefined, endOf('2024-01-31'))).toEqual({
      firstUsed: null,
      lastUsed: null,
      stars: 1,
      starsLabel: 'never',
      frequency: 0,
      frequencyLabel: 'Never',
      satisfaction: null,
      satisfactionLabel: null,
      feedbackCount: 0,
    });
  });

  it('is never before the first use', () => {
    const usage = usedOn(['2024-01-10']);
    expect(stateAt(usage, endOf('2024-01-09')).stars).toBe(1);
    expect(stateAt(usage, endOf('2024-01-10')).stars).toBe(2);
  });

  it('is tried with 4 active days in the window and retained with the 5th, on the exact day', () => {
    const usage = usedOn(['2024-01-01', '2024-01-03', '2024-01-05', '2024-01-07', '2024-01-09']);
    expect(stateAt(usage, endOf('2024-01-08'))).toMatchObject({ stars: 2, starsLabel: 'tried' });
    expect(stateAt(usage, endOf('2024-01-09'))).toMatchObject({ stars: 3, starsLabel: 'retained' });
  });

  it('counts a window of exactly windowDays days ending with Date(T)', () => {
    const lastFour = dates('2024-01-25', 4);
    // Jan 1 .. Jan 28 is 28 days: the 5th active day is inside the window.
    expect(stateAt(usedOn(['2024-01-01', ...lastFour]), endOf('2024-01-28')).stars).toBe(3);
    // Dec 31 .. Jan 28 is 29 days: never 5 within 28, so never adopted.
    expect(stateAt(usedOn(['2023-12-31', ...lastFour]), endOf('2024-01-28')).stars).toBe(2);
  });

  it('churns once the adopting days leave the window, and adoption is never lost', () => {
    const usage = usedOn(dates('2024-01-01', 5));
    expect(stateAt(usage, endOf('2024-01-05')).stars).toBe(3);
    expect(stateAt(usage, endOf('2024-01-28')).stars).toBe(3); // window Jan 1 .. Jan 28
    expect(stateAt(usage, endOf('2024-01-29'))).toMatchObject({ stars: 4, starsLabel: 'churned' });
    expect(stateAt(usage, endOf('2025-06-30')).stars).toBe(4);
  });

  it('is retained again when a churned company is active enough again', () => {
    const usage = usedOn([...dates('2024-01-01', 5), ...dates('2024-03-01', 5)]);
    expect(stateAt(usage, endOf('2024-03-04')).stars).toBe(4);
    expect(stateAt(usage, endOf('2024-03-05')).stars).toBe(3);
  });

  it('applies a feature-specific threshold (3 of 7)', () => {
    const threeOfSeven = { minActiveDays: 3, windowDays: 7 };
    const inWindow = usedOn(['2024-01-01', '2024-01-04', '2024-01-07']);
    expect(stateAt(inWindow, endOf('2024-01-07'), threeOfSeven).stars).toBe(3);
    expect(stateAt(inWindow, endOf('2024-01-08'), threeOfSeven).stars).toBe(4);
    expect(stateAt(inWindow, endOf('2024-01-07')).stars).toBe(2); // the default needs 5 of 28

    const tooSpread = usedOn(['2024-01-01', '2024-01-04', '2024-01-08']);
    expect(stateAt(tooSpread, endOf('2024-01-08'), threeOfSeven).stars).toBe(2);
  });
});

describe('First Used, Last Used and active days as of T', () => {
  const usage = usedOn(['2024-01-10', '2024-01-12']);

  it('only counts uses before T', () => {
    expect(stateAt(usage, endOf('2024-01-09'))).toMatchObject({ firstUsed: null, lastUsed: null });
    expect(stateAt(usage, endOf('2024-01-11'))).toMatchObject({
      firstUsed: ms('2024-01-10T09:00:00Z'),
      lastUsed: ms('2024-01-10T15:00:00Z'),
    });
    expect(stateAt(usage, endOf('2024-01-12')).lastUsed).toBe(ms('2024-01-12T15:00:00Z'));
  });

  it("falls back to the previous day when T's own day has its latest use at or after T", () => {
    expect(stateAt(usage, ms('2024-01-12T15:00:00Z')).lastUsed).toBe(ms('2024-01-10T15:00:00Z'));
    expect(stateAt(usage, ms('2024-01-12T15:00:00.001Z')).lastUsed).toBe(ms('2024-01-12T15:00:00Z'));
  });

  it("counts T's own day through the exact first use, which precedes the day's latest", () => {
    const state = stateAt(usage, ms('2024-01-10T12:00:00Z'));
    expect(state).toMatchObject({ firstUsed: ms('2024-01-10T09:00:00Z'), lastUsed: ms('2024-01-10T09:00:00Z') });
    expect(state).toMatchObject({ stars: 2, frequencyLabel: 'Rarely' });
  });

  it("a snapshot at now includes today's uses", () => {
    const daily = usedOn(dates('2024-01-01', 10));
    const now = ms('2024-01-10T18:30:00Z');
    expect(stateAt(daily, now)).toMatchObject({ lastUsed: ms('2024-01-10T15:00:00Z'), frequency: 3, stars: 3 });
    // Before today's use (15:00), today is not an active day yet: 7 of the last 14 days is not Daily.
    const weekly = usedOn(['2023-12-20', '2023-12-27', ...dates('2024-01-03', 8)]);
    expect(stateAt(weekly, ms('2024-01-10T10:00:00Z')).frequencyLabel).toBe('Weekly');
    expect(stateAt(weekly, ms('2024-01-10T16:00:00Z')).frequencyLabel).toBe('Daily');
  });

  it('a first use exactly at T is not before T', () => {
    // First use at 09:00, the day's latest at 15:00: as of 09:00 sharp nothing was used yet.
    expect(stateAt(usage, ms('2024-01-10T09:00:00Z'))).toMatchObject({
      firstUsed: null,
      lastUsed: null,
      stars: 1,
      frequencyLabel: 'Never',
    });
    expect(stateAt(usage, ms('2024-01-10T09:00:00.001Z'))).toMatchObject({
      firstUsed: ms('2024-01-10T09:00:00Z'),
      stars: 2,
    });
  });

  it("a day's latest use exactly at T is not before T, even when the day counts through its first use", () => {
    // T's own day counts through the first use (09:00); its latest (15:00) is T itself: Last Used is the first use.
    expect(stateAt(usage, ms('2024-01-10T15:00:00Z'))).toMatchObject({
      firstUsed: ms('2024-01-10T09:00:00Z'),
      lastUsed: ms('2024-01-10T09:00:00Z'),
    });
  });

  it('a company first seen exactly at T has not been seen as of T', () => {
    const company: CompanyRecord = {
      companyId: 'c',
      name: null,
      attributes: {},
      firstSeen: ms('2024-01-10T09:00:00Z'),
      seenDays: new Map([[dayNumber('2024-01-10'), ms('2024-01-10T15:00:00Z')]]),
    };
    const seen = seenTimeline(company);
    expect(seen(ms('2024-01-10T09:00:00Z'))).toBeNull();
    expect(seen(ms('2024-01-10T15:00:00Z'))).toEqual({
      firstSeen: ms('2024-01-10T09:00:00Z'),
      lastSeen: ms('2024-01-10T09:00:00Z'),
    });
    expect(seen(ms('2024-01-10T15:00:00.001Z'))).toEqual({
      firstSeen: ms('2024-01-10T09:00:00Z'),
      lastSeen: ms('2024-01-10T15:00:00Z'),
    });
  });

  it("uses the earliest day's timestamp as First Used when a record lacks it", () => {
    const withoutFirstUsed = { ...usedOn(['2024-01-10', '2024-01-12']), firstUsed: null };
    expect(stateAt(withoutFirstUsed, endOf('2024-01-31'))).toMatchObject({
      firstUsed: ms('2024-01-10T15:00:00Z'),
      stars: 2,
    });
  });
});

describe('Frequency', () => {
  const date = '2024-01-28'; // the last 4 weeks: Jan 1-7, 8-14, 15-21, 22-28
  const frequencyOf = (days: string[]) => {
    const { frequency, frequencyLabel } = stateAt(usedOn(days), endOf(date));
    return `${frequency} ${frequencyLabel}`;
  };

  it('is Daily with 8 active days of the last 14, not with 7', () => {
    const sevenOfFourteen = ['2024-01-01', '2024-01-08', ...dates('2024-01-15', 7, 2)]; // Jan 15, 17, ..., 27
    expect(frequencyOf(sevenOfFourteen)).toBe('2 Weekly');
    expect(frequencyOf([...sevenOfFourteen, '2024-01-16'])).toBe('3 Daily');
    expect(frequencyOf(dates('2024-01-22', 7))).toBe('0 Rarely'); // one week, one month
  });

  it('only looks at the last 14 days for Daily', () => {
    expect(frequencyOf(['2024-01-14', ...dates('2024-01-22', 7)])).toBe('0 Rarely');
    expect(frequencyOf(['2024-01-15', ...dates('2024-01-22', 7)])).toBe('3 Daily');
  });

  it('is Weekly when active in 3 of the last 4 seven-day periods', () => {
    expect(frequencyOf(['2024-01-01', '2024-01-08', '2024-01-15'])).toBe('2 Weekly');
    expect(frequencyOf(['2024-01-07', '2024-01-21', '2024-01-28'])).toBe('2 Weekly');
    // Two of four weeks, even with many days in them, is not Weekly.
    expect(frequencyOf([...dates('2024-01-08', 3), ...dates('2024-01-15', 3)])).toBe('0 Rarely');
    // Dec 31 is outside the four weeks, but inside the second 28-day period.
    expect(frequencyOf(['2023-12-31', '2024-01-08', '2024-01-15'])).toBe('1 Monthly');
  });

  it('is Monthly when active in 2 of the last 3 28-day periods', () => {
    // The periods: Jan 1-28, Dec 4-31, Nov 6-Dec 3.
    expect(frequencyOf(['2023-11-06', '2024-01-28'])).toBe('1 Monthly');
    expect(frequencyOf(['2023-11-05', '2024-01-28'])).toBe('0 Rarely');
    expect(frequencyOf(['2023-11-06', '2023-12-04'])).toBe('1 Monthly');
    expect(frequencyOf(['2023-12-03', '2023-12-04'])).toBe('1 Monthly');
    expect(frequencyOf(['2023-12-04', '2023-12-31'])).toBe('0 Rarely');
  });

  it('is 0, Rarely once used and Never before', () => {
    expect(frequencyOf(['2023-06-01'])).toBe('0 Rarely');
    expect(frequencyOf([])).toBe('0 Never');
    expect(frequencyOf(['2024-01-29'])).toBe('0 Never'); // used only after T
  });
});

describe('Satisfaction and Feedback Count', () => {
  const T = endOf('2024-01-31');
  const scored = (...scores: (number | null)[]): FeedbackEntry[] =>
    scores.map((score, i) => ({ at: ms('2024-01-15T00:00:00Z') + i * 60_000, score }));
  const satisfactionOf = (feedback: FeedbackEntry[]) => {
    const { satisfaction, satisfactionLabel, feedbackCount } = stateAt(usedOn(['2024-01-02'], feedback), T);
    return { satisfaction, satisfactionLabel, feedbackCount };
  };

  it('is the mean score rounded half up', () => {
    expect(satisfactionOf(scored(2, 3))).toMatchObject({ satisfaction: 3, satisfactionLabel: 'Neutral' });
    expect(satisfactionOf(scored(3, 4))).toMatchObject({ satisfaction: 4, satisfactionLabel: 'Satisfied' });
    expect(satisfactionOf(scored(1, 2))).toMatchObject({ satisfaction: 2, satisfactionLabel: 'Dissatisfied' });
    expect(satisfactionOf(scored(4, 5))).toMatchObject({ satisfaction: 5, satisfactionLabel: 'Very satisfied' });
    expect(satisfactionOf(scored(1, 1, 2))).toMatchObject({ satisfaction: 1, satisfactionLabel: 'Very dissatisfied' });
  });

  it('rounds 3.49 down', () => {
    const scores = [...Array<number>(51).fill(3), ...Array<number>(49).fill(4)]; // 349 / 100
    expect(satisfactionOf(scored(...scores))).toEqual({
      satisfaction: 3,
      satisfactionLabel: 'Neutral',
      feedbackCount: 100,
    });
  });

  it('counts feedback without a score, but leaves it out of the mean', () => {
    expect(satisfactionOf(scored(5, null, null))).toEqual({
      satisfaction: 5,
      satisfactionLabel: 'Very satisfied',
      feedbackCount: 3,
    });
    expect(satisfactionOf(scored(null, null))).toEqual({
      satisfaction: null,
      satisfactionLabel: null,
      feedbackCount: 2,
    });
  });

  it('is null without feedback', () => {
    expect(satisfactionOf([])).toEqual({ satisfaction: null, satisfactionLabel: null, feedbackCount: 0 });
  });

  it('leaves out feedback at or after T, whatever the order of the entries', () => {
    const feedback = [
      { at: T, score: 1 },
      { at: T - 1, score: 5 },
      { at: T + DAY_MS, score: null },
      { at: ms('2024-01-03T00:00:00Z'), score: 4 },
    ];
    expect(satisfactionOf(feedback)).toEqual({
      satisfaction: 5,
      satisfactionLabel: 'Very satisfied',
      feedbackCount: 2,
    });
  });

  it("leaves the record's feedback in its own order", () => {
    const usage = usedOn(['2024-01-02'], [...scored(4), { at: ms('2024-01-03T00:00:00Z'), score: 2 }]);
    const before = [...usage.feedback];
    expect(usageTimeline(usage, DEFAULT_ADOPTION)(T).satisfaction).toBe(3);
    expect(usage.feedback).toEqual(before);
  });

  it('is reported for feedback without any use', () => {
    const feedbackOnly: FeatureUsageRecord = {
      eventKey: 'x',
      firstUsed: null,
      usedDays: new Map(),
      feedback: scored(2).map(feedbackTally),
    };
    expect(stateAt(feedbackOnly, T)).toMatchObject({
      stars: 1,
      frequencyLabel: 'Never',
      satisfaction: 2,
      feedbackCount: 1,
    });
  });
});

describe('seenTimeline', () => {
  const company: CompanyRecord = {
    companyId: 'acme',
    name: 'Acme',
    attributes: {},
    firstSeen: ms('2024-01-03T08:00:00Z'),
    seenDays: new Map([
      [dayNumber('2024-01-05'), ms('2024-01-05T20:00:00Z')],
      [dayNumber('2024-01-03'), ms('2024-01-03T18:00:00Z')],
    ]),
  };
  const seenAt = seenTimeline(company);

  it('is null until the company was first seen', () => {
    expect(seenAt(company.firstSeen)).toBeNull();
    expect(seenAt(endOf('2024-01-02'))).toBeNull();
    expect(seenAt(company.firstSeen + 1)).toEqual({ firstSeen: company.firstSeen, lastSeen: company.firstSeen });
  });

  it('picks the latest seen day before T', () => {
    expect(seenAt(endOf('2024-01-03'))?.lastSeen).toBe(ms('2024-01-03T18:00:00Z'));
    expect(seenAt(endOf('2024-01-04'))?.lastSeen).toBe(ms('2024-01-03T18:00:00Z'));
    expect(seenAt(endOf('2024-01-05'))?.lastSeen).toBe(ms('2024-01-05T20:00:00Z'));
    expect(seenAt(endOf('2024-03-01'))?.lastSeen).toBe(ms('2024-01-05T20:00:00Z'));
  });

  it("skips T's own day when its latest timestamp is not before T", () => {
    expect(seenAt(ms('2024-01-05T19:00:00Z'))?.lastSeen).toBe(ms('2024-01-03T18:00:00Z'));
    expect(seenAt(ms('2024-01-05T21:00:00Z'))?.lastSeen).toBe(ms('2024-01-05T20:00:00Z'));
  });
});

describe('adoption thresholds', () => {
  it('accepts sensible thresholds and names what is wrong with ones the model cannot evaluate', () => {
    expect(adoptionThresholdIssues({ minActiveDays: 1, windowDays: 1 })).toEqual([]);
    expect(adoptionThresholdIssues({ minActiveDays: 0, windowDays: 28 }).map((i) => i.path)).toEqual([
      'adoption.minActiveDays',
    ]);
    expect(adoptionThresholdIssues({ minActiveDays: 5, windowDays: 4 }).map((i) => i.path)).toEqual([
      'adoption.windowDays',
    ]);
    expect(adoptionThresholdIssues({ minActiveDays: 2.5, windowDays: 28 }).map((i) => i.path)).toEqual([
      'adoption.minActiveDays',
    ]);
  });

  it('tells the client how to fix each threshold (the messages of a rejected feature definition)', () => {
    expect(adoptionThresholdIssues({ minActiveDays: 0, windowDays: -1 })).toEqual([
      { path: 'adoption.minActiveDays', message: 'must be a whole number of at least 1' },
      { path: 'adoption.windowDays', message: 'must be a whole number of at least minActiveDays' },
    ]);
  });

  it('names the stored thresholds it cannot evaluate in the internal failure', () => {
    const error = new InvalidAdoptionThresholdsError(adoptionThresholdIssues({ minActiveDays: 0, windowDays: -1 }));
    expect(error.name).toBe('InvalidAdoptionThresholdsError');
    expect(error.message).toBe(
      'Stored adoption thresholds cannot be evaluated: adoption.minActiveDays must be a whole number of at least 1; ' +
        'adoption.windowDays must be a whole number of at least minActiveDays.',
    );
  });

  it('fails an export of a stored definition it cannot evaluate as an internal failure, not a client error', () => {
    expect(() => usageTimeline(undefined, { minActiveDays: 5, windowDays: 4 })).toThrow(InvalidAdoptionThresholdsError);
  });
});

describe('agreement with a direct reading of the definitions', () => {
  /** Deterministic pseudo-random numbers (mulberry32). */
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** The definitions, day by day, for a set of active days as of T whose last included day is lastDay. */
  function reference(active: Set<number>, lastDay: number, { minActiveDays, windowDays }: AdoptionThresholds) {
    const count = (from: number, to: number) => {
      let n = 0;
      for (let d = from; d <= to; d++) if (active.has(d)) n++;
      return n;
    };
    const used = active.size > 0;
    const retainedOn = (day: number) => count(day - windowDays + 1, day) >= minActiveDays;
    let adopted = false;
    for (let day = Math.min(...active); used && day <= lastDay && !adopted; day++) adopted = retainedOn(day);
    const stars = !used ? 1 : !adopted ? 2 : retainedOn(lastDay) ? 3 : 4;
    const periods = (length: number, n: number) =>
      Array.from({ length: n }, (_, p) => count(lastDay - (p + 1) * length + 1, lastDay - p * length)).filter(
        (c) => c > 0,
      ).length;
    const frequency = count(lastDay - 13, lastDay) >= 8 ? 3 : periods(7, 4) >= 3 ? 2 : periods(28, 3) >= 2 ? 1 : 0;
    return { stars, frequency };
  }

  it('agrees on STARS and Frequency for any history, thresholds and midnight instants (fast-check)', () => {
    const firstDay = dayNumber('2024-01-01');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 199 }), { maxLength: 120 }),
        fc.integer({ min: 1, max: 15 }).chain((minActiveDays) =>
          fc.record({
            minActiveDays: fc.constant(minActiveDays),
            windowDays: fc.integer({ min: minActiveDays, max: 70 }),
          }),
        ),
        fc.array(fc.integer({ min: -10, max: 230 }), { minLength: 1, maxLength: 20 }),
        (offsets, thresholds, instantDays) => {
          const days = offsets.map((offset) => firstDay + offset).sort((a, b) => a - b);
          const usageAt = usageTimeline(
            usedOn(days.map((d) => new Date(d * DAY_MS).toISOString().slice(0, 10))),
            thresholds,
          );
          for (const offset of instantDays) {
            const day = firstDay + offset;
            const { stars, frequency } = usageAt(day * DAY_MS);
            expect({ stars, frequency }).toEqual(reference(new Set(days.filter((d) => d < day)), day - 1, thresholds));
          }
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  });

  it('agrees on STARS and Frequency for random histories, thresholds and instants, in any order', () => {
    const next = random(20240229);
    const thresholdsChoices: AdoptionThresholds[] = [
      DEFAULT_ADOPTION,
      { minActiveDays: 3, windowDays: 7 },
      { minActiveDays: 1, windowDays: 1 },
      { minActiveDays: 10, windowDays: 14 },
      { minActiveDays: 2, windowDays: 60 },
    ];
    const firstDay = dayNumber('2024-01-01');
    let compared = 0;
    for (let history = 0; history < 200; history++) {
      const density = 0.02 + next() * 0.6;
      const days = Array.from({ length: 200 }, (_, i) => firstDay + i).filter(() => next() < density);
      const usage = usedOn(days.map((d) => new Date(d * DAY_MS).toISOString().slice(0, 10)));
      const thresholds = thresholdsChoices[history % thresholdsChoices.length];
      const usageAt = usageTimeline(usage, thresholds);
      // Random instants, then growing ones as an export asks them (each search resumes from the last).
      let growingDay = firstDay - 10;
      for (let sample = 0; sample < 50; sample++) {
        const day = sample < 20 ? firstDay - 10 + Math.floor(next() * 230) : (growingDay += Math.floor(next() * 9));
        // A midnight counts every earlier day; noon counts its own day only if the first use is on it.
        const atNoon = next() < 0.5;
        const instant = atNoon ? day * DAY_MS + DAY_MS / 2 : day * DAY_MS;
        const lastDay = atNoon ? day : day - 1;
        const activeAsOf = new Set(days.filter((d) => d < day || (atNoon && d === day && d === days[0])));
        const { stars, frequency } = usageAt(instant);
        expect({ history, instant, stars, frequency }).toEqual({
          history,
          instant,
          ...reference(activeAsOf, lastDay, thresholds),
        });
        compared++;
      }
    }
    expect(compared).toBe(10_000);
  });
});
