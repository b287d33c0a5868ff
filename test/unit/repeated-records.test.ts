/**
 * The second pass's repeats, replayed by position (lambdas/core/export/repeated-records.ts), are those
 * `RecentIds` finds over the same records; a record that changed between the passes is refused.
 */
import fc from 'fast-check';
import {
  RawLogChangedError,
  RecentIds,
  RecordedRepeats,
  type RepeatFilter,
} from '../../lambdas/core/export/repeated-records';

const MINUTE = 60_000;

/** Records in receive order: ids from a small pool (so that they repeat), times minutes to hours apart. */
const records = fc
  .array(fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e'), gap: fc.integer({ min: 0, max: 40 * MINUTE }) }), {
    maxLength: 60,
  })
  .map((steps) => {
    let at = Date.parse('2026-12-01T00:00:00Z');
    return steps.map(({ id, gap }) => ({ id, receivedAt: (at += gap) }));
  });

const repeatsOf = (filter: RepeatFilter, list: { id: string; receivedAt: number }[]) =>
  list.map((record) => filter.seenBefore(record.id, record.receivedAt));

test('the replayed repeats are those RecentIds finds', () => {
  fc.assert(
    fc.property(records, (list) => {
      const recorded = new RecordedRepeats();
      const first = repeatsOf(recorded, list);
      const plain = repeatsOf(new RecentIds(), list);
      expect(first).toEqual(plain);
      expect(repeatsOf(recorded.replay(), list)).toEqual(plain);
    }),
  );
});

test('a repeat whose id differs in the second pass is refused', () => {
  const list = [
    { id: 'a', receivedAt: 0 },
    { id: 'a', receivedAt: MINUTE },
  ];
  const recorded = new RecordedRepeats();
  expect(repeatsOf(recorded, list)).toEqual([false, true]);
  const replay: RepeatFilter = recorded.replay();
  expect(replay.seenBefore('b', 0)).toBe(false);
  expect(() => replay.seenBefore('b', MINUTE)).toThrow(RawLogChangedError);
});

describe('RecentIds: ids received in the last 15 to 30 minutes (two generations of receive time)', () => {
  /** The start of a 15-minute generation of receive time. */
  const GENERATION_START = Date.parse('2026-12-01T00:00:00Z');
  const at = (minutes: number) => GENERATION_START + minutes * MINUTE;
  const seen = (list: [string, number][]) =>
    repeatsOf(
      new RecentIds(),
      list.map(([id, minutes]) => ({ id, receivedAt: at(minutes) })),
    );

  it('finds a repeat in the same generation and in the one before', () => {
    expect(
      seen([
        ['a', 0],
        ['b', 1],
        ['a', 14],
        ['b', 29.99],
      ]),
    ).toEqual([false, false, true, true]);
  });

  it('forgets an id once two generations have begun since it was received', () => {
    expect(
      seen([
        ['a', 1],
        ['b', 16],
        ['a', 31],
      ]),
    ).toEqual([false, false, false]);
    // Found again in the next generation, the id is not received anew: it ages with its first receipt.
    expect(
      seen([
        ['a', 1],
        ['a', 20],
        ['a', 31],
      ]),
    ).toEqual([false, true, false]);
  });

  it('forgets every id after a gap of more than a generation', () => {
    expect(
      seen([
        ['a', 0],
        ['a', 45],
      ]),
    ).toEqual([false, false]);
    expect(
      seen([
        ['a', 14],
        ['a', 30],
      ]),
    ).toEqual([false, false]);
  });

  it('starts a generation exactly at its boundary', () => {
    expect(
      seen([
        ['a', 0],
        ['b', 15],
        ['b', 30],
        ['a', 30],
      ]),
    ).toEqual([false, false, true, false]);
  });

  it('remembers an id that another id follows in the same generation', () => {
    expect(
      seen([
        ['a', 0],
        ['b', 0],
        ['c', 0],
        ['a', 0],
      ]),
    ).toEqual([false, false, false, true]);
  });
});

test('the replay fails with the position of the record that changed', () => {
  const recorded = new RecordedRepeats();
  repeatsOf(recorded, [
    { id: 'a', receivedAt: 0 },
    { id: 'b', receivedAt: 0 },
    { id: 'a', receivedAt: 0 },
  ]);
  const replay: RepeatFilter = recorded.replay();
  expect(replay.seenBefore('a', 0)).toBe(false);
  expect(replay.seenBefore('b', 0)).toBe(false);
  const changed = (() => {
    try {
      replay.seenBefore('c', 0);
    } catch (error) {
      return error;
    }
    return undefined;
  })();
  expect(changed).toBeInstanceOf(RawLogChangedError);
  expect(changed).toMatchObject({
    name: 'RawLogChangedError',
    message: "The raw log gave the run's second pass a different record at position 2 than its first.",
  });
});
