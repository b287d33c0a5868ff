/**
 * The three-warning sequence shared by the automatic export, export jobs and the raw export: which
 * warning is due, and one warning's claim, stop, send and release in their order.
 */
import type { WarningNumber } from '../../lambdas/core/failure-emails';
import {
  dueWarning,
  SECOND_EMAIL_AFTER_MS,
  sendWarning,
  STOP_AFTER_MS,
  type WarningSteps,
} from '../../lambdas/core/warning-sequence';

const HOUR = 3_600_000;

test('the warning due: 1 first, 2 from 24 h (1 first if it was missed), 3 from 72 h or once stopped', () => {
  expect([SECOND_EMAIL_AFTER_MS, STOP_AFTER_MS]).toEqual([24 * HOUR, 72 * HOUR]);
  expect(dueWarning(0, undefined, false)).toBe(1);
  expect(dueWarning(24 * HOUR - 1, [1], false)).toBe(1);
  expect(dueWarning(24 * HOUR, [1], false)).toBe(2);
  expect(dueWarning(25 * HOUR, undefined, false)).toBe(1);
  expect(dueWarning(25 * HOUR, [2], false)).toBe(1);
  expect(dueWarning(72 * HOUR - 1, [1, 2], false)).toBe(2);
  expect(dueWarning(72 * HOUR, [1, 2], false)).toBe(3);
  // The stop never waits for a missed warning.
  expect(dueWarning(72 * HOUR, undefined, false)).toBe(3);
  expect(dueWarning(HOUR, [1], true)).toBe(3);
  expect(dueWarning(HOUR, undefined, true)).toBe(3);
});

/** Steps that record what was called, with the answers given. */
function recordedSteps(answers: { claimed?: boolean; stopped?: boolean; sendFails?: boolean } = {}) {
  const calls: string[] = [];
  const steps: WarningSteps = {
    claim: async (n) => (calls.push(`claim ${n}`), answers.claimed ?? true),
    release: async (n) => void calls.push(`release ${n}`),
    stop: async () => (calls.push('stop'), answers.stopped ?? true),
    notStopped: async () => void calls.push('notStopped'),
    send: async (n) => {
      calls.push(`send ${n}`);
      if (answers.sendFails) throw new Error('SES is down');
    },
  };
  return { steps, calls };
}

describe('sendWarning', () => {
  it('claims, then sends warnings 1 and 2 without a stop', async () => {
    for (const email of [1, 2] as WarningNumber[]) {
      const { steps, calls } = recordedSteps();
      expect(await sendWarning(steps, email)).toBe(true);
      expect(calls).toEqual([`claim ${email}`, `send ${email}`]);
    }
  });

  it('stops the export before warning 3 goes out', async () => {
    const { steps, calls } = recordedSteps();
    expect(await sendWarning(steps, 3)).toBe(true);
    expect(calls).toEqual(['claim 3', 'stop', 'send 3']);
  });

  it('sends nothing when another check holds the claim', async () => {
    const { steps, calls } = recordedSteps({ claimed: false });
    expect(await sendWarning(steps, 3)).toBe(false);
    expect(calls).toEqual(['claim 3']);
  });

  it('announces no stop that was not made: the export changed meanwhile', async () => {
    const { steps, calls } = recordedSteps({ stopped: false });
    expect(await sendWarning(steps, 3)).toBe(false);
    expect(calls).toEqual(['claim 3', 'stop', 'notStopped']);
  });

  it('gives an unsent warning back to the next check, and fails', async () => {
    const { steps, calls } = recordedSteps({ sendFails: true });
    await expect(sendWarning(steps, 2)).rejects.toThrow('SES is down');
    expect(calls).toEqual(['claim 2', 'send 2', 'release 2']);
  });
});
