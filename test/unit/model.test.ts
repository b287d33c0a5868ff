/** The model's small rules that the API and the stores rely on: the span of trackable times, feedback folded by day. */
import {
  DAY_MS,
  EARLIEST_TRACKED_AT,
  LATEST_TRACKED_AT,
  feedbackTally,
  isTrackableTime,
  tallyByDay,
} from '../../lambdas/core/model';

test('trackable times: whole milliseconds from 2000-01-01 to the last instant a date can hold, both ends included', () => {
  expect(isTrackableTime(Date.parse('2000-01-01T00:00:00Z'))).toBe(true);
  expect(isTrackableTime(EARLIEST_TRACKED_AT - 1)).toBe(false);
  expect(isTrackableTime(LATEST_TRACKED_AT)).toBe(true);
  expect(new Date(LATEST_TRACKED_AT).toISOString()).toBe('+275760-09-13T00:00:00.000Z');
  expect(isTrackableTime(LATEST_TRACKED_AT + 1)).toBe(false);
  expect(isTrackableTime(Date.parse('2026-12-07T12:00:00Z') + 0.5)).toBe(false);
});

test('feedback folded by day: one tally per UTC day with feedback, in day order, at the last millisecond of its day', () => {
  const at = (iso: string) => Date.parse(iso);
  const folded = tallyByDay([
    feedbackTally({ at: at('2026-12-03T23:59:59.999Z'), score: 2 }),
    feedbackTally({ at: at('2026-12-01T08:00:00Z'), score: 5 }),
    feedbackTally({ at: at('2026-12-03T00:00:00Z'), score: null }),
    { at: at('2026-12-01T09:00:00Z'), count: 3, scoreCount: 2, scoreSum: 7 },
  ]);
  expect(folded).toEqual([
    { at: at('2026-12-02T00:00:00Z') - 1, count: 4, scoreCount: 3, scoreSum: 12 },
    { at: at('2026-12-03T00:00:00Z') + DAY_MS - 1, count: 2, scoreCount: 1, scoreSum: 2 },
  ]);
  expect(tallyByDay([])).toEqual([]);
});
