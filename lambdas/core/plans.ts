/** What each plan unlocks. A refused request names the plans that would allow it. */
import { PlanRequiredError } from './errors';
import type { Organization, Plan } from './model';

export type GatedFeature = 'Manual export' | 'Automatic export' | 'Destinations' | 'Export jobs' | 'Raw export';

const REQUIRED_PLANS: Record<GatedFeature, Plan[]> = {
  'Manual export': ['pro', 'enterprise'],
  'Automatic export': ['enterprise'],
  Destinations: ['enterprise'],
  'Export jobs': ['enterprise'],
  'Raw export': ['enterprise'],
};

export function planIncludes(organization: Organization, feature: GatedFeature): boolean {
  return REQUIRED_PLANS[feature].includes(organization.plan);
}

export function requirePlan(organization: Organization, feature: GatedFeature): void {
  if (!planIncludes(organization, feature))
    throw new PlanRequiredError(feature, REQUIRED_PLANS[feature], organization.plan);
}
