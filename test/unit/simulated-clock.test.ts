import { SimulatedClock } from '../../lambdas/local/simulated-clock';

describe('SimulatedClock', () => {
  it('gives the set instant as the first reading, later ones going on as the real clock goes, then the real time', async () => {
    let real = 1_000_000;
    const clock = new SimulatedClock({ now: () => real });
    const seen = await clock.at(5_000, async () => {
      real += 100; // The run reads the time only after some work: its first reading is still the instant.
      const start = clock.now();
      real += 250;
      return [start, clock.now()];
    });
    expect(seen).toEqual([5_000, 5_250]);
    expect(clock.now()).toBe(real);
  });

  it('returns to the real time when the work fails', async () => {
    const clock = new SimulatedClock({ now: () => 42 });
    await expect(clock.at(7, async () => Promise.reject(new Error('run failed')))).rejects.toThrow('run failed');
    expect(clock.now()).toBe(42);
  });
});
