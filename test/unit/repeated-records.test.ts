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
