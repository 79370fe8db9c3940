import { forbidden } from '../domain/errors';
import type { AuditEvent } from '../domain/types';

/** Who performs an admin action: the platform operator (admin token, CLI) or one tenant's admin. */
export type Actor = ({ kind: 'platform'; label: 'cli' | 'admin-token' | 'web' } | { kind: 'tenant'; tenantId: number; tenantName: string }) & {
  /** Where the request came from (REST), for the audit log. */
  sourceIp?: string;
};

export const CLI_ACTOR: Actor = { kind: 'platform', label: 'cli' };

export function actorLabel(a: Actor): string {
  return a.kind === 'platform' ? a.label : `tenant-token:${a.tenantName}`;
}

/** Tenants never see each other's data: every use case checks this before touching a tenant's things. */
export function assertMayAccess(a: Actor, tenantId: number): void {
  if (a.kind === 'tenant' && a.tenantId !== tenantId) {
    // Same words as for a missing thing would leak less, but the actor already knows its own tenant.
    throw forbidden('this token may only manage its own tenant');
  }
}

export function assertPlatform(a: Actor): void {
  if (a.kind !== 'platform') throw forbidden('only the platform admin may do this');
}

/** The audit event of an operator's action on a tenant (no device). */
export function tenantAudit(actor: Actor, tenantId: number, action: string, outcome: string, at: number): Omit<AuditEvent, 'id'> {
  return { at, tenantId, mac: null, sourceIp: actor.sourceIp ?? null, actor: actorLabel(actor), action, outcome };
}
