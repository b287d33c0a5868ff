/**
 * Local mode's stand-in for the identity provider: HS256 tokens signed with a key kept under
 * `.local/`, carrying the same claims (`org`, `role`) API Gateway's JWT authorizer checks on AWS.
 */
import { jwtVerify, SignJWT } from 'jose';
import { ROLES, type Caller, type Role } from '../core/access';

export const LOCAL_ISSUER = 'data-export-local';
export const LOCAL_AUDIENCE = 'data-export-api';

export class LocalTokens {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  async mint(organizationId: string, role: Role, validForSeconds = 30 * 24 * 3600): Promise<string> {
    return new SignJWT({ org: organizationId, role })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setSubject(`local-${role}`)
      .setIssuedAt()
      .setExpirationTime(`${validForSeconds}s`)
      .sign(this.key);
  }

  /** The caller of a valid token; undefined for a missing, expired or forged one. */
  async verify(authorization: string | undefined): Promise<Caller | undefined> {
    const token = authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE });
      if (typeof payload.org !== 'string' || !ROLES.includes(payload.role as Role)) return undefined;
      return { organizationId: payload.org, role: payload.role as Role };
    } catch {
      return undefined;
    }
  }
}
