import { notFound } from '../domain/errors';
import { parseAllowEntry } from '../domain/trust';
import type { AllowEntry, TemporaryTrust } from '../domain/types';
import { actorLabel, type Actor } from './actor';
import type { AppDeps } from './deps';
import type { Tenants } from './tenants';

/** A tenant's trusted networks (section 6 of docs/behaviour.md): the permanent list is edited, temporary windows are read-only. */
export class AllowList {
  constructor(
    private readonly d: AppDeps,
    private readonly tenants: Tenants,
  ) {}

  async add(actor: Actor, tenantName: unknown, cidr: unknown): Promise<{ entry: AllowEntry; warning?: string }> {
    const tenant = await this.tenants.get(actor, tenantName);
    const parsed = parseAllowEntry(cidr);
    const now = this.d.clock.now();
    const entry = await this.d.store.addAllowEntry(
      { tenantId: tenant.id, cidr: parsed.cidr, createdAt: now },
      this.event(actor, tenant.id, 'trust-add', parsed.cidr),
    );
    return parsed.warning ? { entry, warning: parsed.warning } : { entry };
  }

  async remove(actor: Actor, tenantName: unknown, cidr: unknown): Promise<void> {
    const tenant = await this.tenants.get(actor, tenantName);
    const parsed = parseAllowEntry(cidr);
    const removed = await this.d.store.removeAllowEntry(tenant.id, parsed.cidr, this.event(actor, tenant.id, 'trust-remove', parsed.cidr));
    if (!removed) throw notFound(`${parsed.cidr} is not on the allow-list of ${tenant.name}`);
  }

  async list(actor: Actor, tenantName: unknown): Promise<{ permanent: AllowEntry[]; temporary: TemporaryTrust[] }> {
    const tenant = await this.tenants.get(actor, tenantName);
    const [permanent, temporary] = await Promise.all([
      this.d.store.listAllowEntries(tenant.id),
      this.d.store.listTemporaryTrust(tenant.id, this.d.clock.now()),
    ]);
    return { permanent, temporary };
  }

  private event(actor: Actor, tenantId: number, action: string, outcome: string) {
    return { at: this.d.clock.now(), tenantId, mac: null, sourceIp: actor.sourceIp ?? null, actor: actorLabel(actor), action, outcome };
  }
}
