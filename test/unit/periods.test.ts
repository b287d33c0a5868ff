import { DAY_MS } from '../../lambdas/core/model';
import {
  AGGREGATIONS,
  dataPoints,
  dateOf,
  isAggregation,
  mondayOnOrBefore,
  nextRunAt,
  scheduledSnapshotInstant,
} from '../../lambdas/core/periods';

const ms = (iso: string): number => Date.parse(iso);
const iso = (instant: number): string => new Date(instant).toISOString();

describe('AGGREGATIONS', () => {
  it('lists the four aggregations the API accepts', () => {
    expect(AGGREGATIONS).toEqual(['snapshot', '30d-daily', '3m-weekly', '6m-weekly']);
    expect(isAggregation('3m-weekly')).toBe(true);
    expect(isAggregation('1y-monthly')).toBe(false);
    expect(isAggregation(undefined)).toBe(false);
  });
});

describe('dateOf', () => {
  it('is the previous day for a midnight, since a midnight T includes nothing of its own day', () => {
    expect(dateOf(ms('2024-03-01T00:00:00.000Z'))).toBe('2024-02-29');
  });

  it('is the same day for any instant after midnight', () => {
    expect(dateOf(ms('2024-03-01T00:00:00.001Z'))).toBe('2024-03-01');
    expect(dateOf(ms('2024-03-01T23:59:59.999Z'))).toBe('2024-03-01');
  });
});

describe('mondayOnOrBefore', () => {
  it('maps every day of a Mon-Sun week to its Monday', () => {
    const monday = Date.parse('2024-06-03') / DAY_MS;
    for (let offset = 0; offset < 7; offset++) expect(mondayOnOrBefore(monday + offset)).toBe(monday);
    expect(mondayOnOrBefore(monday - 1)).toBe(monday - 7);
  });

  it('works before the epoch too', () => {
    // 1969-12-29 was a Monday, 1970-01-01 a Thursday.
    expect(mondayOnOrBefore(0)).toBe(-3);
    expect(mondayOnOrBefore(-3)).toBe(-3);
    expect(mondayOnOrBefore(-4)).toBe(-10);
  });
});

describe('dataPoints', () => {
  describe('snapshot', () => {
    it('is one point at now, dated today', () => {
      const now = ms('2024-05-15T10:20:30Z');
      expect(dataPoints('snapshot', now)).toEqual([{ instant: now, date: '2024-05-15' }]);
    });
  });

  describe('30d-daily', () => {
    it('has the 30 complete days ending yesterday, each at its next midnight, oldest first', () => {
      const points = dataPoints('30d-daily', ms('2024-06-15T08:00:00Z'));
      expect(points).toHaveLength(30);
      expect(points[0]).toEqual({ instant: ms('2024-05-17T00:00:00Z'), date: '2024-05-16' });
      expect(points[29]).toEqual({ instant: ms('2024-06-15T00:00:00Z'), date: '2024-06-14' });
      points.slice(1).forEach((point, i) => expect(point.instant - points[i].instant).toBe(DAY_MS));
    });

    it('crosses a month end and a year end', () => {
      const points = dataPoints('30d-daily', ms('2025-01-10T05:00:00Z'));
      const dates = points.map((p) => p.date);
      expect(dates[0]).toBe('2024-12-11');
      expect(dates[29]).toBe('2025-01-09');
      const newYearsEve = points.find((p) => p.date === '2024-12-31')!;
      expect(iso(newYearsEve.instant)).toBe('2025-01-01T00:00:00.000Z');
      expect(dates[dates.indexOf('2024-12-31') + 1]).toBe('2025-01-01');
    });

    it('includes the leap day 2028-02-29', () => {
      const points = dataPoints('30d-daily', ms('2028-03-01T00:30:00Z'));
      expect(points.slice(-3).map((p) => p.date)).toEqual(['2028-02-27', '2028-02-28', '2028-02-29']);
      expect(iso(points[29].instant)).toBe('2028-03-01T00:00:00.000Z');
      expect(points[0].date).toBe('2028-01-31');
      expect(points[1].date).toBe('2028-02-01');
    });

    it('at exactly midnight, ends with the day that just ended', () => {
      const now = ms('2024-06-01T00:00:00Z');
      const points = dataPoints('30d-daily', now);
      expect(points[29]).toEqual({ instant: now, date: '2024-05-31' });
    });
  });

  describe('3m-weekly', () => {
    it('on a Monday, the week that ended yesterday is the most recent complete week', () => {
      const points = dataPoints('3m-weekly', ms('2024-06-03T10:00:00Z')); // a Monday
      expect(points).toHaveLength(13);
      expect(points[12]).toEqual({ instant: ms('2024-06-03T00:00:00Z'), date: '2024-06-02' });
      expect(points[0]).toEqual({ instant: ms('2024-03-11T00:00:00Z'), date: '2024-03-10' });
    });

    it('on a Sunday, the current week is not complete yet', () => {
      const points = dataPoints('3m-weekly', ms('2024-06-02T23:59:59.999Z')); // a Sunday
      expect(points[12]).toEqual({ instant: ms('2024-05-27T00:00:00Z'), date: '2024-05-26' });
    });

    it('at Monday 00:00 exactly, the week that just ended is included', () => {
      const now = ms('2024-06-03T00:00:00Z');
      expect(dataPoints('3m-weekly', now)[12]).toEqual({ instant: now, date: '2024-06-02' });
    });

    it('has every T on a Monday midnight, a week apart, each dated its Sunday', () => {
      const points = dataPoints('3m-weekly', ms('2024-06-05T12:00:00Z'));
      points.forEach((point, i) => {
        const t = new Date(point.instant);
        expect(t.getUTCDay()).toBe(1);
        expect(point.instant % DAY_MS).toBe(0);
        expect(new Date(`${point.date}T00:00:00Z`).getUTCDay()).toBe(0);
        if (i > 0) expect(point.instant - points[i - 1].instant).toBe(7 * DAY_MS);
      });
    });
  });

  describe('6m-weekly', () => {
    it('has the 26 most recent complete weeks, ending with the same week as 3m-weekly', () => {
      const now = ms('2025-01-01T12:00:00Z'); // a Wednesday
      const points = dataPoints('6m-weekly', now);
      expect(points).toHaveLength(26);
      expect(points[25]).toEqual({ instant: ms('2024-12-30T00:00:00Z'), date: '2024-12-29' });
      expect(points[0]).toEqual({ instant: ms('2024-07-08T00:00:00Z'), date: '2024-07-07' });
      expect(points.slice(13)).toEqual(dataPoints('3m-weekly', now));
    });
  });
});

describe('scheduledSnapshotInstant', () => {
  it('daily: 00:00 UTC of the scheduled day, however late the run', () => {
    expect(iso(scheduledSnapshotInstant('daily', ms('2024-06-05T00:07:13Z')))).toBe('2024-06-05T00:00:00.000Z');
    expect(iso(scheduledSnapshotInstant('daily', ms('2024-06-05T00:00:00Z')))).toBe('2024-06-05T00:00:00.000Z');
  });

  it("daily: carries Date = the previous day and equals that day's point in a 30-day export", () => {
    const instant = scheduledSnapshotInstant('daily', ms('2024-03-01T00:02:00Z'));
    expect(dateOf(instant)).toBe('2024-02-29');
    expect(dataPoints('30d-daily', ms('2024-03-01T09:00:00Z'))[29]).toEqual({ instant, date: '2024-02-29' });
  });

  it('weekly: 00:00 UTC of the Monday on or before the scheduled time', () => {
    expect(iso(scheduledSnapshotInstant('weekly', ms('2024-06-03T00:03:00Z')))).toBe('2024-06-03T00:00:00.000Z');
    expect(iso(scheduledSnapshotInstant('weekly', ms('2024-06-05T10:00:00Z')))).toBe('2024-06-03T00:00:00.000Z');
    expect(iso(scheduledSnapshotInstant('weekly', ms('2024-06-09T23:59:59Z')))).toBe('2024-06-03T00:00:00.000Z');
  });
});

describe('nextRunAt', () => {
  it('daily: the next midnight strictly after', () => {
    expect(iso(nextRunAt('daily', ms('2024-06-05T10:00:00Z')))).toBe('2024-06-06T00:00:00.000Z');
    expect(iso(nextRunAt('daily', ms('2024-06-06T00:00:00Z')))).toBe('2024-06-07T00:00:00.000Z');
    expect(iso(nextRunAt('daily', ms('2024-12-31T23:59:59Z')))).toBe('2025-01-01T00:00:00.000Z');
  });

  it('weekly: the next Monday midnight strictly after', () => {
    expect(iso(nextRunAt('weekly', ms('2024-06-03T00:00:00Z')))).toBe('2024-06-10T00:00:00.000Z');
    expect(iso(nextRunAt('weekly', ms('2024-06-03T10:00:00Z')))).toBe('2024-06-10T00:00:00.000Z');
    expect(iso(nextRunAt('weekly', ms('2024-06-09T23:59:59Z')))).toBe('2024-06-10T00:00:00.000Z');
    expect(iso(nextRunAt('weekly', ms('2024-12-31T12:00:00Z')))).toBe('2025-01-06T00:00:00.000Z');
  });
});
