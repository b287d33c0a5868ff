/**
 * Local mode's clock, which the local scheduler route can set to another time while a run it fires
 * runs: the run then records its times (started, finished, failing since) as if it happened then.
 * On AWS runs happen when they happen; this keeps the simulation out of the domain.
 */
import type { Clock } from '../ports';

export class SimulatedClock implements Clock {
  /** While a simulated run runs: its instant, and the real time of its first reading. */
  private simulation: { instant: number; realStart?: number } | undefined;

  constructor(private readonly real: Clock) {}

  now(): number {
    const real = this.real.now();
    if (this.simulation === undefined) return real;
    this.simulation.realStart ??= real;
    return this.simulation.instant + (real - this.simulation.realStart);
  }

  /**
   * Runs `work` at `instant`: its first reading of the time is `instant`, later ones go on as the real
   * clock goes. Local mode only: a request handled meanwhile sees the simulated time too.
   */
  async at<T>(instant: number, work: () => Promise<T>): Promise<T> {
    const previous = this.simulation;
    this.simulation = { instant };
    try {
      return await work();
    } finally {
      this.simulation = previous;
    }
  }
}
