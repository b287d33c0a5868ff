import {
  DayLogError,
  dayHistory,
  feedbackLog,
  isPackable,
  packDayLog,
  packFeedbackLog,
} from '../../lambdas/adapters/dynamodb/day-log';
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

  it('keeps the logged days after the last recent one', () => {
    const log = packDayLog(
      new Map([
        [DAY0, at(0, 1)],
        [DAY0 + 5, at(5, 5)],
        [DAY0 + 6, at(6, 6)],
      ]),
    );
    expect([...dayHistory(log, { [DAY0 + 2]: at(2, 2) })]).toEqual([
      [DAY0, at(0, 1)],
      [DAY0 + 2, at(2, 2)],
      [DAY0 + 5, at(5, 5)],
      [DAY0 + 6, at(6, 6)],
    ]);
  });

  it('merges a recent time into the first logged day too', () => {
    const log = packDayLog(new Map([[DAY0, at(0, 500)]]));
    expect([...dayHistory(log, { [DAY0]: at(0, 900) })]).toEqual([[DAY0, at(0, 900)]]);
    expect([...dayHistory(log, { [DAY0]: at(0, 100) })]).toEqual([[DAY0, at(0, 500)]]);
  });

  it('refuses what it cannot pack or read, with a DayLogError that names the value', () => {
    expect(() => packDayLog(new Map([[DAY0, at(1, 0)]]))).toThrow(DayLogError);
    expect(() => packDayLog(new Map([[DAY0, at(0, 0.5)]]))).toThrow(DayLogError);
    expect(() => dayHistory(new Uint8Array(7), undefined)).toThrow(DayLogError);
    expect(() => dayHistory(new Uint8Array(7), undefined)).toThrow('7 bytes');
    expect(() => packDayLog(new Map([[DAY0, at(1, 0)]]))).toThrow(`epoch day ${DAY0}`);
    expect(new DayLogError('x').name).toBe('DayLogError');
  });
});

describe('isPackable', () => {
  it('holds a whole-millisecond time inside its uint32 day', () => {
    expect(isPackable(DAY0, at(0, 0))).toBe(true);
    expect(isPackable(DAY0, at(0, DAY_MS - 1))).toBe(true);
    expect(isPackable(0, 0)).toBe(true);
    expect(isPackable(0xffff_ffff, 0xffff_ffff * DAY_MS)).toBe(true);
  });

  it.each([
    ['a time before its day', DAY0, at(0, -1)],
    ['a time after its day', DAY0, at(0, DAY_MS)],
    ['a fraction of a millisecond', DAY0, at(0, 0.5)],
    ['a fractional day', DAY0 + 0.5, at(0.5, 0)],
    ['a day before 1970', -1, -DAY_MS],
    ['a day past uint32', 0x1_0000_0000, 0x1_0000_0000 * DAY_MS],
  ])('refuses %s', (_case, day, ms) => {
    expect(isPackable(day, ms)).toBe(false);
  });
});

describe('feedback log', () => {
  it('packs 16 bytes a day, tallies of one day summed, and reads each day back at its last millisecond', () => {
    const log = packFeedbackLog([
      { at: at(3, 5_000), count: 2, scoreCount: 1, scoreSum: 4 },
      { at: at(0, 10), count: 7, scoreCount: 5, scoreSum: 23 },
      { at: at(3, 9_000), count: 1, scoreCount: 1, scoreSum: 0xffff_ffff - 4 },
    ]);
    expect(log.byteLength).toBe(32);
    expect(feedbackLog(log)).toEqual([
      { at: at(1, -1), count: 7, scoreCount: 5, scoreSum: 23 },
      { at: at(4, -1), count: 3, scoreCount: 2, scoreSum: 0xffff_ffff },
    ]);
  });

  it('reads a log inside a larger buffer, as a decoded Binary attribute is', () => {
    const log = packFeedbackLog([{ at: at(2, 0), count: 1, scoreCount: 0, scoreSum: 0 }]);
    const shared = new Uint8Array(log.byteLength + 5);
    shared.set(log, 5);
    expect(feedbackLog(shared.subarray(5))).toEqual([{ at: at(3, -1), count: 1, scoreCount: 0, scoreSum: 0 }]);
  });

  it('is empty without a log, and refuses one that is not whole days', () => {
    expect(feedbackLog(undefined)).toEqual([]);
    expect(feedbackLog(new Uint8Array(0))).toEqual([]);
    expect(() => feedbackLog(new Uint8Array(20))).toThrow(DayLogError);
    expect(() => feedbackLog(new Uint8Array(20))).toThrow('20 bytes');
  });
});
