import { DayLogError, dayHistory, packDayLog } from '../../lambdas/adapters/dynamodb/day-log';
import { DAY_MS } from '../../lambdas/core/model';

const DAY0 = 20_000;
const at = (day: number, ms: number) => (DAY0 + day) * DAY_MS + ms;

describe('day log', () => {
  it('packs 8 bytes a day, in day order, and unpacks to the same history', () => {
    const days = new Map([
      [DAY0 + 5, at(5, 0)],
      [DAY0, at(0, DAY_MS - 1)],
      [DAY0 + 2, at(2, 12_345)],
    ]);
    const log = packDayLog(days);
    expect(log.byteLength).toBe(24);
    const history = dayHistory(log, undefined);
    expect([...history]).toEqual([...days].sort(([a], [b]) => a - b));
    expect([...dayHistory(packDayLog(new Map()), {})]).toEqual([]);
  });

  it('merges the recent days: the latest time of a day wins, and the result stays in day order', () => {
    const log = packDayLog(
      new Map([
        [DAY0 + 1, at(1, 500)],
        [DAY0 + 3, at(3, 500)],
      ]),
    );
    const history = dayHistory(log, {
      [DAY0]: at(0, 7), // before the log: out of order
      [DAY0 + 1]: at(1, 100), // earlier than the logged time: ignored
      [DAY0 + 3]: at(3, 900), // later: wins
      [DAY0 + 9]: at(9, 1),
    });
    expect([...history]).toEqual([
      [DAY0, at(0, 7)],
      [DAY0 + 1, at(1, 500)],
      [DAY0 + 3, at(3, 900)],
      [DAY0 + 9, at(9, 1)],
    ]);
    expect([...dayHistory(undefined, { [DAY0 + 2]: at(2, 2), [DAY0 + 1]: at(1, 1) })].map(([d]) => d)).toEqual([
      DAY0 + 1,
      DAY0 + 2,
    ]);
  });

  it('refuses what it cannot pack or read', () => {
    expect(() => packDayLog(new Map([[DAY0, at(1, 0)]]))).toThrow(DayLogError);
    expect(() => packDayLog(new Map([[DAY0, at(0, 0.5)]]))).toThrow(DayLogError);
    expect(() => dayHistory(new Uint8Array(7), undefined)).toThrow(DayLogError);
  });
});
