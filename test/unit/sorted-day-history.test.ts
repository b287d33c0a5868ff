import { seenTimeline, usageTimeline } from '../../lambdas/core/adoption';
import { DAY_MS, DEFAULT_ADOPTION, SortedDayHistory } from '../../lambdas/core/model';

const DAY0 = 20_000;
const at = (day: number, ms: number) => (DAY0 + day) * DAY_MS + ms;

/** A deterministic pseudo-random history: days in order, each with a time of day. */
function randomHistory(seed: number, length: number): [number, number][] {
  let state = seed;
  const next = (bound: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % bound;
  };
  const entries: [number, number][] = [];
  let day = next(5);
  for (let i = 0; i < length; i++) {
    entries.push([DAY0 + day, at(day, next(DAY_MS))]);
    day += 1 + next(9);
  }
  return entries;
}

const historyOf = (entries: [number, number][]) =>
  new SortedDayHistory(
    entries.map(([day]) => day),
    entries.map(([, ms]) => ms),
  );

describe('SortedDayHistory', () => {
  it('reads like the Map of the same days and times', () => {
    const entries = randomHistory(3, 25);
    const map = new Map(entries);
    const history = historyOf(entries);
    expect(history.size).toBe(map.size);
    expect([...history]).toEqual([...map]);
    expect([...history.entries()]).toEqual([...map.entries()]);
    expect([...history.keys()]).toEqual([...map.keys()]);
    expect([...history.values()]).toEqual([...map.values()]);
    const visited: [number, number][] = [];
    history.forEach((ms, day, self) => {
      expect(self).toBe(history);
      visited.push([day, ms]);
    });
    expect(visited).toEqual(entries);
    for (let day = DAY0 - 2; day < entries[entries.length - 1][0] + 3; day++) {
      expect(history.get(day)).toBe(map.get(day));
      expect(history.has(day)).toBe(map.has(day));
    }
    expect(historyOf([]).get(DAY0)).toBeUndefined();
  });

  it('refuses days without their times', () => {
    expect(() => new SortedDayHistory([DAY0, DAY0 + 1], [at(0, 1)])).toThrow(RangeError);
  });

  it('gives the adoption model the answers of the Map, in or out of day order, at any instant', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const entries = randomHistory(seed, 1 + (seed % 40));
      const shuffled = [...entries].sort(([a], [b]) => ((a * 7919) % 13) - ((b * 7919) % 13));
      const firstUsed = seed % 3 === 0 ? null : entries[0][1] - 1000;
      const fromStore = usageTimeline(
        { eventKey: 'e', firstUsed, usedDays: historyOf(entries), feedback: [] },
        DEFAULT_ADOPTION,
      );
      const fromMap = usageTimeline(
        { eventKey: 'e', firstUsed, usedDays: new Map(shuffled), feedback: [] },
        DEFAULT_ADOPTION,
      );
      const company = { companyId: 'c', name: null, attributes: {}, firstSeen: entries[0][1] - 5000 };
      const seenFromStore = seenTimeline({ ...company, seenDays: historyOf(entries) });
      const seenFromMap = seenTimeline({ ...company, seenDays: new Map(shuffled) });
      const lastDay = entries[entries.length - 1][0] - DAY0;
      for (let day = -1; day <= lastDay + 100; day += day % 2 === 0 ? 1 : 2) {
        // Midnight, and the instants just before and after a logged time of that day.
        for (const instant of [
          at(day, 0),
          at(day, DAY_MS / 2),
          ...entries.filter(([d]) => d === DAY0 + day).flatMap(([, ms]) => [ms, ms + 1]),
        ]) {
          expect(fromStore(instant)).toEqual(fromMap(instant));
          expect(seenFromStore(instant)).toEqual(seenFromMap(instant));
        }
      }
    }
  });
});
