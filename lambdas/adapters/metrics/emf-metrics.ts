/** The operational counts as CloudWatch embedded metric format through Powertools (flushed by the handler). */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { OperationalMetricName, OperationalMetrics } from '../../ports';

export class EmfOperationalMetrics implements OperationalMetrics {
  constructor(private readonly metrics: Metrics) {}

  count(name: OperationalMetricName, value: number, dimensions?: Record<string, string>): void {
    if (!dimensions) {
      this.metrics.addMetric(name, MetricUnit.Count, value);
      return;
    }
    // Its own document: dimensions added to the shared instance would apply to every stored metric.
    const single = this.metrics.singleMetric();
    single.addDimensions(dimensions);
    single.addMetric(name, MetricUnit.Count, value);
  }

  measure(name: OperationalMetricName, value: number, unit: 'bytes' | 'ms'): void {
    this.metrics.addMetric(name, unit === 'bytes' ? MetricUnit.Bytes : MetricUnit.Milliseconds, value);
  }
}
