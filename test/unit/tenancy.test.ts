/** TenancyService against the in-memory tenant store: who may do what, and what is stored. */
import type { Caller } from '../../lambdas/core/access';
import { ForbiddenError, NotFoundError, PlanRequiredError, UnauthorizedError } from '../../lambdas/core/errors';
import { hashIngestKey } from '../../lambdas/core/ingest-keys';
import { requirePlan } from '../../lambdas/core/plans';
import { TenancyService } from '../../lambdas/core/tenancy';
import { FakeClock, FakeTenantStore } from '../support/fakes';

const operator: Caller = { organizationId: 'org_ops', role: 'operator' };
const NOW = Date.parse('2026-03-04T10:00:00Z');

function setup() {
  const tenants = new FakeTenantStore();
  let ids = 0;
  const service = new TenancyService({
    tenants,
    clock: new FakeClock(NOW),
    newId: (prefix) => `${prefix}_${++ids}`,
    newIngestKey: () => `ik_key_${ids}`,
    ingestKeyGraceMs: 24 * 3_600_000,
  });
  return { service, tenants };
}

describe('organizations and environments (operators only)', () => {
  test('an operator creates an organization, changes its plan and adds an environment with its own ingest key, stored hashed', async () => {
    const { service, tenants } = setup();
    const org = await service.createOrganization(operator, { name: 'Acme', plan: 'free' });
    expect(org).toEqual({ id: 'org_1', name: 'Acme', plan: 'free', createdAt: NOW });
    expect(await service.changePlan(operator, 'org_1', 'enterprise')).toEqual({ ...org, plan: 'enterprise' });
    const env = await service.createEnvironment(operator, 'org_1', 'Production');
    const stored = {
      id: 'env_2',
      organizationId: 'org_1',
      name: 'Production',
      ingestKeyHash: hashIngestKey('ik_key_1'),
      ingestKeyPrefix: 'ik_key',
      createdAt: NOW,
    };
    // The key is answered once; the store keeps only its hash and prefix.
    expect(env).toEqual({ ...stored, ingestKey: 'ik_key_1' });
    expect(await tenants.getEnvironment('env_2')).toEqual(stored);
    expect(await tenants.findIngestKey(hashIngestKey('ik_key_1'))).toEqual({ environment: stored });
  });

  test('an unknown organization is not found', async () => {
    const { service, tenants } = setup();
    await expect(service.changePlan(operator, 'org_nope', 'pro')).rejects.toThrow(
      new NotFoundError('Organization org_nope not found.'),
    );
    await expect(service.createEnvironment(operator, 'org_nope', 'P')).rejects.toThrow(
      new NotFoundError('Organization org_nope not found.'),
    );
    expect(tenants.environments.size).toBe(0);
  });

  test('members and anonymous callers may not manage organizations', async () => {
    const { service, tenants } = setup();
    await service.createOrganization(operator, { name: 'Acme', plan: 'pro' });
    const member: Caller = { organizationId: 'org_1', role: 'member' };
    await expect(service.createOrganization(member, { name: 'X', plan: 'pro' })).rejects.toThrow(
      new ForbiddenError('This route needs a token with the operator role.'),
    );
    await expect(service.changePlan(member, 'org_1', 'enterprise')).rejects.toBeInstanceOf(ForbiddenError);
    await expect(service.createEnvironment(member, 'org_1', 'P')).rejects.toBeInstanceOf(ForbiddenError);
    await expect(service.createOrganization(undefined, { name: 'X', plan: 'pro' })).rejects.toThrow(
      new UnauthorizedError('Missing or invalid bearer token. Send Authorization: Bearer <token>.'),
    );
    expect([...tenants.organizations.values()].map((o) => o.plan)).toEqual(['pro']);
  });
});

describe('features and segments (members of the organization)', () => {
  async function withEnvironment() {
    const context = setup();
    await context.service.createOrganization(operator, { name: 'Acme', plan: 'pro' });
    await context.service.createEnvironment(operator, 'org_1', 'Production');
    return { ...context, member: { organizationId: 'org_1', role: 'member' } as Caller };
  }

  test('a feature gets the default adoption thresholds where it sets none', async () => {
    const { service, member } = await withEnvironment();
    expect(await service.putFeature(member, 'env_2', 'f1', { key: 'export', name: 'Export' })).toEqual({
      id: 'f1',
      key: 'export',
      name: 'Export',
      adoption: { minActiveDays: 5, windowDays: 28 },
    });
    await service.putFeature(member, 'env_2', 'f2', { key: 'search', name: 'Search', adoption: { windowDays: 14 } });
    expect((await service.listFeatures(member, 'env_2')).map((f) => f.adoption)).toEqual([
      { minActiveDays: 5, windowDays: 28 },
      { minActiveDays: 5, windowDays: 14 },
    ]);
  });

  test('segments are stored as given and listed', async () => {
    const { service, member } = await withEnvironment();
    const conditions = [{ attribute: 'plan', operator: 'equals' as const, value: 'enterprise' }];
    expect(await service.putSegment(member, 'env_2', 's1', { name: 'Enterprise', conditions })).toEqual({
      id: 's1',
      name: 'Enterprise',
      conditions,
    });
    expect(await service.listSegments(member, 'env_2')).toEqual([{ id: 's1', name: 'Enterprise', conditions }]);
    expect(await service.getEnvironment(member, 'env_2')).toMatchObject({ id: 'env_2', name: 'Production' });
  });

  test("another organization's environment is not found, and nothing is written to it", async () => {
    const { service, tenants } = await withEnvironment();
    const stranger: Caller = { organizationId: 'org_other', role: 'member' };
    for (const attempt of [
      () => service.getEnvironment(stranger, 'env_2'),
      () => service.putFeature(stranger, 'env_2', 'f1', { key: 'k', name: 'n' }),
      () => service.listFeatures(stranger, 'env_2'),
      () => service.putSegment(stranger, 'env_2', 's1', { name: 'n', conditions: [] }),
      () => service.listSegments(stranger, 'env_2'),
    ]) {
      await expect(attempt()).rejects.toThrow(new NotFoundError('Environment env_2 not found.'));
    }
    expect(tenants.features.size + tenants.segments.size).toBe(0);
  });
});

describe('plans', () => {
  const org = (plan: 'free' | 'pro' | 'enterprise') => ({ id: 'o', name: 'O', plan, createdAt: 0 });

  test.each([
    ['Manual export', 'free', 'pro or enterprise'],
    ['Automatic export', 'free', 'enterprise'],
    ['Automatic export', 'pro', 'enterprise'],
  ] as const)('%s is refused on the %s plan, naming the %s plan', (feature, plan, required) => {
    expect(() => requirePlan(org(plan), feature)).toThrow(
      new PlanRequiredError(feature, required.split(' or ') as never, plan),
    );
    expect(() => requirePlan(org(plan), feature)).toThrow(
      `${feature} requires the ${required} plan; this organization is on the ${plan} plan.`,
    );
  });

  test.each([
    ['Manual export', 'pro'],
    ['Manual export', 'enterprise'],
    ['Automatic export', 'enterprise'],
  ] as const)('%s is allowed on the %s plan', (feature, plan) => {
    expect(() => requirePlan(org(plan), feature)).not.toThrow();
  });
});
