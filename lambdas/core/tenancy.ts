/** Organizations, environments, feature and segment definitions: the tenancy use cases. */
import { authorizeEnvironment, requireOperator, type Caller } from './access';
import { adoptionThresholdIssues } from './adoption';
import { NotFoundError, ValidationError } from './errors';
import { storedIngestKey } from './ingest-keys';
import {
  DEFAULT_ADOPTION,
  type AdoptionThresholds,
  type Environment,
  type EnvironmentWithIngestKey,
  type FeatureDefinition,
  type Organization,
  type Plan,
  type SegmentCondition,
  type SegmentDefinition,
} from './model';
import type { Clock, TenantStore } from '../ports';

export interface TenancyDependencies {
  tenants: TenantStore;
  clock: Clock;
  newId: (prefix: string) => string;
  newIngestKey: () => string;
  /** How long a replaced ingest key keeps working. */
  ingestKeyGraceMs: number;
}

export interface RotatedIngestKey {
  environment: EnvironmentWithIngestKey;
  /** When the key it replaced stops working. */
  previousKeyValidUntil: number;
}

export interface FeatureInput {
  key: string;
  name: string;
  adoption?: Partial<AdoptionThresholds>;
}

export interface SegmentInput {
  name: string;
  conditions: SegmentCondition[];
}

export class TenancyService {
  constructor(private readonly deps: TenancyDependencies) {}

  async createOrganization(caller: Caller | undefined, input: { name: string; plan: Plan }): Promise<Organization> {
    requireOperator(caller);
    const organization: Organization = {
      id: this.deps.newId('org'),
      name: input.name,
      plan: input.plan,
      createdAt: this.deps.clock.now(),
    };
    await this.deps.tenants.createOrganization(organization);
    return organization;
  }

  async changePlan(caller: Caller | undefined, organizationId: string, plan: Plan): Promise<Organization> {
    requireOperator(caller);
    const updated = await this.deps.tenants.updateOrganizationPlan(organizationId, plan);
    if (!updated) throw new NotFoundError(`Organization ${organizationId} not found.`);
    return updated;
  }

  /** The answer is the only place the ingest key is ever shown: only its hash is stored. */
  async createEnvironment(
    caller: Caller | undefined,
    organizationId: string,
    name: string,
  ): Promise<EnvironmentWithIngestKey> {
    requireOperator(caller);
    if (!(await this.deps.tenants.getOrganization(organizationId))) {
      throw new NotFoundError(`Organization ${organizationId} not found.`);
    }
    const ingestKey = this.deps.newIngestKey();
    const { hash, prefix } = storedIngestKey(ingestKey);
    const environment: Environment = {
      id: this.deps.newId('env'),
      organizationId,
      name,
      ingestKeyHash: hash,
      ingestKeyPrefix: prefix,
      createdAt: this.deps.clock.now(),
    };
    await this.deps.tenants.createEnvironment(environment);
    return { ...environment, ingestKey };
  }

  /** Issues a new ingest key, shown once; the replaced one keeps working for the grace period. */
  async rotateIngestKey(caller: Caller | undefined, environmentId: string): Promise<RotatedIngestKey> {
    const { environment } = await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    const ingestKey = this.deps.newIngestKey();
    const previousKeyValidUntil = this.deps.clock.now() + this.deps.ingestKeyGraceMs;
    const rotated = await this.deps.tenants.replaceIngestKey(
      environment,
      storedIngestKey(ingestKey),
      previousKeyValidUntil,
    );
    return { environment: { ...rotated, ingestKey }, previousKeyValidUntil };
  }

  async getEnvironment(caller: Caller | undefined, environmentId: string): Promise<Environment> {
    return (await authorizeEnvironment(this.deps.tenants, caller, environmentId)).environment;
  }

  async putFeature(
    caller: Caller | undefined,
    environmentId: string,
    featureId: string,
    input: FeatureInput,
  ): Promise<FeatureDefinition> {
    await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    const feature: FeatureDefinition = {
      id: featureId,
      key: input.key,
      name: input.name,
      adoption: { ...DEFAULT_ADOPTION, ...input.adoption },
    };
    // Checked here too, not only by the API's schema: a stored definition is what every export evaluates.
    const issues = adoptionThresholdIssues(feature.adoption);
    if (issues.length > 0) throw new ValidationError('Invalid adoption thresholds.', issues);
    await this.deps.tenants.putFeature(environmentId, feature);
    return feature;
  }

  async listFeatures(caller: Caller | undefined, environmentId: string): Promise<FeatureDefinition[]> {
    await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    return this.deps.tenants.listFeatures(environmentId);
  }

  async putSegment(
    caller: Caller | undefined,
    environmentId: string,
    segmentId: string,
    input: SegmentInput,
  ): Promise<SegmentDefinition> {
    await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    const segment: SegmentDefinition = { id: segmentId, name: input.name, conditions: input.conditions };
    await this.deps.tenants.putSegment(environmentId, segment);
    return segment;
  }

  async listSegments(caller: Caller | undefined, environmentId: string): Promise<SegmentDefinition[]> {
    await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    return this.deps.tenants.listSegments(environmentId);
  }
}
