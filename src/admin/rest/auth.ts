import { createHash, timingSafeEqual } from 'node:crypto';
import type { Actor } from '../../app/actor';
import type { AdminServices } from '../../app/services';
import { PapgateError } from '../../domain/errors';

/** Bearer-token authentication of the admin API (also usable by the web portal). */

const MAX_TOKEN_LENGTH = 512;

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

/** Constant-time comparison (hashing first makes the lengths equal). */
export function tokensEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * The platform admin for `adminToken`, the tenant whose token it is, or
 * 'unauthorized'. A null adminToken means only tenant tokens work.
 */
export async function resolveActor(services: AdminServices, adminToken: string | null, token: string | null): Promise<Actor> {
  if (token === null || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new PapgateError('unauthorized', 'send an admin or tenant token as "Authorization: Bearer <token>"');
  }
  if (adminToken !== null && tokensEqual(token, adminToken)) return { kind: 'platform', label: 'admin-token' };
  const tenant = await services.tenants.byToken(token);
  if (tenant) return { kind: 'tenant', tenantId: tenant.id, tenantName: tenant.name };
  throw new PapgateError('unauthorized', 'the token is not valid (wrong, or rotated)');
}
