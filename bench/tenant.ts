/**
 * The benchmark tenant: deterministic synthetic companies (lambdas/local/synthetic.ts), N features and
 * a few segments like the demo tenant's, so the CSV carries realistic quoting (company names with
 * '&' and non-ASCII letters, comma-joined segment lists).
 */
import {
  DEFAULT_ADOPTION,
  type CompanyUsage,
  type FeatureDefinition,
  type SegmentDefinition,
} from '../lambdas/core/model';
import { syntheticTenant } from '../lambdas/local/synthetic';

export interface TenantSpec {
  companies: number;
  features: number;
  days: number;
  seed: number;
  endAt: number;
}

/** The environment a tenant is loaded into: one per spec, so loaded tenants can be cached side by side. */
export function environmentIdOf(spec: TenantSpec): string {
  const end = new Date(spec.endAt).toISOString().slice(0, 10).replace(/-/g, '');
  return `bench-c${spec.companies}-f${spec.features}-d${spec.days}-s${spec.seed}-e${end}`;
}

const FEATURE_NAMES = [
  'Dashboards',
  'CSV import',
  'Alerts',
  'Single sign-on',
  'API access',
  'Slack integration',
  'Reports',
  'Funnels',
  'Retention charts',
  'Cohorts',
  'Webhooks',
  'Audit log',
  'Custom roles',
  'Data warehouse sync',
  'Mobile app',
  'Comments',
  'Templates',
  'Scheduled emails',
  'Annotations',
  'Goals',
];

export function benchFeatures(count: number): FeatureDefinition[] {
  return Array.from({ length: count }, (_, i) => {
    const base = FEATURE_NAMES[i % FEATURE_NAMES.length];
    const name = i < FEATURE_NAMES.length ? base : `${base} ${Math.floor(i / FEATURE_NAMES.length) + 1}`;
    const id = `feature-${String(i + 1).padStart(3, '0')}`;
    return {
      id,
      key: `feature_${String(i + 1).padStart(3, '0')}_used`,
      name,
      // A few features with their own thresholds, as tenants configure them.
      adoption: i % 5 === 1 ? { minActiveDays: 2, windowDays: 28 } : DEFAULT_ADOPTION,
    };
  });
}

export const BENCH_SEGMENTS: SegmentDefinition[] = [
  {
    id: 'enterprise',
    name: 'Enterprise customers',
    conditions: [{ attribute: 'plan', operator: 'equals', value: 'enterprise' }],
  },
  {
    id: 'europe',
    name: 'Europe',
    conditions: [{ attribute: 'country', operator: 'anyOf', values: ['DE', 'GB', 'FR'] }],
  },
  {
    id: 'large',
    name: 'Large accounts',
    conditions: [{ attribute: 'employees', operator: 'greaterThan', value: 1000 }],
  },
  {
    id: 'active-recently',
    name: 'Active this week',
    conditions: [{ field: 'lastSeen', operator: 'lessThanDaysAgo', days: 7 }],
  },
];

export function tenantCompanies(spec: TenantSpec): Generator<CompanyUsage> {
  return syntheticTenant({
    companies: spec.companies,
    featureKeys: benchFeatures(spec.features).map((f) => f.key),
    days: spec.days,
    endAt: spec.endAt,
    seed: spec.seed,
  });
}

export const USAGE_TABLE = 'bench-usage';
export const CONFIG_TABLE = 'bench-config';
export const EXPORT_BUCKET = 'bench-exports';
