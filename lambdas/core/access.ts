/**
 * Who may do what. Operators manage organizations; members reach only their organization's
 * environments. Another tenant's environment is reported as missing, never as forbidden, so ids
 * of other tenants cannot be probed.
 */
import { ForbiddenError, NotFoundError, UnauthorizedError } from './errors';
import type { Environment, Organization } from './model';
import type { TenantStore } from '../ports';

export type Role = 'member' | 'operator';
export const ROLES: readonly Role[] = ['member', 'operator'];

export interface Caller {
  organizationId: string;
  role: Role;
}

export function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw new UnauthorizedError('Missing or invalid bearer token. Send Authorization: Bearer <token>.');
  return caller;
}

export function requireOperator(caller: Caller | undefined): Caller {
  const known = requireCaller(caller);
  if (known.role !== 'operator') throw new ForbiddenError('This route needs a token with the operator role.');
  return known;
}

export interface EnvironmentAccess {
  environment: Environment;
  organization: Organization;
}

export async function authorizeEnvironment(
  tenants: TenantStore,
  caller: Caller | undefined,
  environmentId: string,
): Promise<EnvironmentAccess> {
  const known = requireCaller(caller);
  const environment = await tenants.getEnvironment(environmentId);
  if (!environment || environment.organizationId !== known.organizationId) {
    throw new NotFoundError(`Environment ${environmentId} not found.`);
  }
  const organization = await tenants.getOrganization(environment.organizationId);
  if (!organization) throw new NotFoundError(`Environment ${environmentId} not found.`);
  return { environment, organization };
}
