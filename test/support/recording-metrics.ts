import type { OperationalMetricName, OperationalMetrics } from '../../lambdas/ports';

/** The counts and measures a service made, summed by name and dimensions (`Name {"dim":"value"}`). */
export class RecordingMetrics implements OperationalMetrics {
  readonly counts: Record<string, number> = {};
  readonly measures: Record<string, number[]> = {};

  count(name: OperationalMetricName, value: number, dimensions?: Record<string, string>): void {
    const key = dimensions ? `${name} ${JSON.stringify(dimensions)}` : name;
    this.counts[key] = (this.counts[key] ?? 0) + value;
  }

  measure(name: OperationalMetricName, value: number, unit: 'bytes' | 'ms'): void {
    (this.measures[`${name} (${unit})`] ??= []).push(value);
  }
}
