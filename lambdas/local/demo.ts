/**
 * The demo tenant created on local mode's first start: an enterprise organization with one
 * environment, feature and segment definitions, and a few months of synthetic tracking data.
 */
import type { Caller } from '../core/access';
import type { EnvironmentWithIngestKey, FeatureDefinition, Organization } from '../core/model';
import type { Services } from '../services';
import { syntheticTenant } from './synthetic';

/** A bucket in the local S3 standing for a customer's own, to point automatic exports at. */
export const DEMO_CUSTOMER_BUCKET = 'demo-customer-bucket';

export const DEMO_FEATURES: {
  id: string;
  key: string;
  name: string;
  adoption?: { minActiveDays: number; windowDays: number };
}[] = [
  { id: 'dashboards', key: 'dashboard_viewed', name: 'Dashboards' },
  { id: 'csv-import', key: 'csv_imported', name: 'CSV import', adoption: { minActiveDays: 2, windowDays: 28 } },
  { id: 'alerts', key: 'alert_created', name: 'Alerts' },
  { id: 'sso', key: 'sso_login', name: 'Single sign-on' },
  { id: 'api', key: 'api_call', name: 'API access' },
  { id: 'slack', key: 'slack_message_sent', name: 'Slack integration' },
];

const DEMO_SEGMENTS = [
  {
    id: 'enterprise',
    name: 'Enterprise customers',
    conditions: [{ attribute: 'plan', operator: 'equals' as const, value: 'enterprise' }],
  },
  {
    id: 'europe',
    name: 'Europe',
    conditions: [{ attribute: 'country', operator: 'anyOf' as const, values: ['DE', 'GB', 'FR'] }],
  },
  {
    id: 'large',
    name: 'Large accounts',
    conditions: [{ attribute: 'employees', operator: 'greaterThan' as const, value: 1000 }],
  },
  {
    id: 'active-recently',
    name: 'Active this week',
    conditions: [{ field: 'lastSeen' as const, operator: 'lessThanDaysAgo' as const, days: 7 }],
  },
];

export interface DemoTenant {
  organization: Organization;
  environment: EnvironmentWithIngestKey;
  features: FeatureDefinition[];
  companies: number;
}

const SYSTEM_OPERATOR: Caller = { organizationId: 'local-system', role: 'operator' };

export async function createDemoTenant(
  services: Services,
  options: { companies?: number; days?: number } = {},
): Promise<DemoTenant> {
  const organization = await services.tenancy.createOrganization(SYSTEM_OPERATOR, {
    name: 'Demo Analytics Co',
    plan: 'enterprise',
  });
  const environment = await services.tenancy.createEnvironment(SYSTEM_OPERATOR, organization.id, 'Production');
  const member: Caller = { organizationId: organization.id, role: 'member' };
  const features: FeatureDefinition[] = [];
  for (const { id, ...feature } of DEMO_FEATURES) {
    features.push(await services.tenancy.putFeature(member, environment.id, id, feature));
  }
  for (const { id, ...segment } of DEMO_SEGMENTS)
    await services.tenancy.putSegment(member, environment.id, id, segment);

  const companies = options.companies ?? 250;
  const tenant = syntheticTenant({
    companies,
    featureKeys: DEMO_FEATURES.map((f) => f.key),
    days: options.days ?? 200,
    endAt: services.clock.now(),
    seed: 7,
  });
  for (const companyUsage of tenant) await services.usage.putCompanyUsage(environment.id, companyUsage);
  return { organization, environment, features, companies };
}
