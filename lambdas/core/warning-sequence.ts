/**
 * The three warnings of an export failing on the customer's side since F, one sequence for the
 * automatic export (failure-check.ts), export jobs (job-failure-check.ts) and the raw export
 * (raw-export-failures.ts): email 1 at the first check after F, email 2 once 24 h have passed, and at
 * 72 h the export is stopped and email 3 says so. Each email is claimed with a conditional write before
 * it is sent, so overlapping or retried checks never send one twice; an unsent email's claim is given
 * back for the next check.
 */
import type { WarningNumber } from './failure-emails';
import { HOUR_MS } from './model';

export const SECOND_EMAIL_AFTER_MS = 24 * HOUR_MS;
export const STOP_AFTER_MS = 72 * HOUR_MS;

/**
 * The warning due `elapsed` ms into a sequence. A missed first warning (checks down for a day) goes out
 * before the reminder; the stop never waits, and an export already stopped by the sequence is owed its
 * last email.
 */
export function dueWarning(
  elapsed: number,
  emailsSent: readonly number[] | undefined,
  stopped: boolean,
): WarningNumber {
  const due: WarningNumber = elapsed >= STOP_AFTER_MS || stopped ? 3 : elapsed >= SECOND_EMAIL_AFTER_MS ? 2 : 1;
  return due === 2 && !emailsSent?.includes(1) ? 1 : due;
}

/** One failing export's side of a warning, in its own store and words. */
export interface WarningSteps {
  /** Claims the email with a conditional write: false when another check has claimed it. */
  claim(email: WarningNumber): Promise<boolean>;
  /** Gives an unsent email's claim back. */
  release(email: WarningNumber): Promise<void>;
  /** Stops the export, before email 3 goes out: false when the customer changed it meanwhile. */
  stop(): Promise<boolean>;
  /** Email 3 with no stop of ours to announce: the customer's change ends the sequence instead. */
  notStopped(): Promise<void>;
  send(email: WarningNumber): Promise<void>;
}

/** Sends `email` of the sequence unless another check claimed it: whether it was sent. */
export async function sendWarning(steps: WarningSteps, email: WarningNumber): Promise<boolean> {
  if (!(await steps.claim(email))) return false;
  try {
    if (email === 3 && !(await steps.stop())) {
      await steps.notStopped();
      return false;
    }
    await steps.send(email);
  } catch (failure) {
    await steps.release(email);
    throw failure;
  }
  return true;
}
