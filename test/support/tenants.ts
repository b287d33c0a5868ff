/** Tenants made through the API as an operator would, and their member's calls and signed-in links. */
import type { TestService } from './local-service';

export interface Member {
  organizationId: string;
  environmentId: string;
  ingestKey: string;
  token: string;
}

/** An organization `name` on `plan`, its one environment (named "Production" unless said), and a member's token. */
export async function createTenant(
  service: TestService,
  plan: string,
  name: string,
  environmentName = 'Production',
): Promise<Member> {
  const operator = await service.token('ops', 'operator');
  const org = (await service.call('POST', '/v1/organizations', { token: operator, body: { name, plan } })).body;
  const env = (
    await service.call('POST', `/v1/organizations/${org.id}/environments`, {
      token: operator,
      body: { name: environmentName },
    })
  ).body;
  return {
    organizationId: org.id,
    environmentId: env.id,
    ingestKey: env.ingestKey,
    token: await service.token(org.id),
  };
}

/** A dashboard address (a failure email's link, say) opened as the member: the token in the fragment. */
export const signedIn = (url: string, who: Member): string => `${url}#token=${who.token}`;

/** The link `npm start` prints: a page of the environment (with its query string), the token in the fragment. */
export const signedInUrl = (service: TestService, who: Member, page: string): string =>
  signedIn(`${service.url}/environments/${who.environmentId}/${page}`, who);

/** The member's call to the environment's API. */
export const memberCall = (service: TestService, who: Member) => (method: string, path: string, body?: unknown) =>
  service.call(method, `/v1/environments/${who.environmentId}${path}`, { token: who.token, body });
