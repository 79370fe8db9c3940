import type { AuditEvent } from '../domain/types';
import type { Actor } from './actor';
import type { AppDeps } from './deps';
import type { Tenants } from './tenants';

/** Recent audit events (attempts and admin actions) of one tenant, or of all for the platform admin. */
export class AuditLog {
  constructor(
    private readonly d: AppDeps,
    private readonly tenants: Tenants,
  ) {}

  async recent(actor: Actor, tenantName: unknown | undefined, limit = 100): Promise<AuditEvent[]> {
    const n = Math.max(1, Math.min(1000, Math.floor(Number(limit)) || 100));
    if (tenantName === undefined && actor.kind === 'platform') return this.d.store.listAudit(null, n);
    const tenant = tenantName === undefined && actor.kind === 'tenant' ? { id: actor.tenantId } : await this.tenants.get(actor, tenantName);
    return this.d.store.listAudit(tenant.id, n);
  }
}
