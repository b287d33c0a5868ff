/**
 * Local mode's clock, which the local scheduler route can set to another time while a run it fires
 * runs: the run then records its times (started, finished, failing since) as if it happened then.
 * On AWS runs happen when they happen; this keeps the simulation out of the domain.
 */
import type { Clock } from '../ports';

export class SimulatedClock implements Clock {
  /** How far the simulated time is from the real clock's. */
  private offset = 0;

  constructor(private readonly real: Clock) {}

  now(): number {
    return this.real.now() + this.offset;
  }

  /**
   * Runs `work` with the time starting at `instant` and going on as the real clock goes. Local mode
   * only: a request handled meanwhile sees the simulated time too.
   */
  async at<T>(instant: number, work: () => Promise<T>): Promise<T> {
    const previous = this.offset;
    this.offset = instant - this.real.now();
    try {
      return await work();
    } finally {
      this.offset = previous;
    }
  }
}
