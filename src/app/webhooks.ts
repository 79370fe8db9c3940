import { invalid, notFound } from '../domain/errors';
import { parseWebhookUrl, webhookEventName } from '../domain/webhook';
import type { Tenant } from '../domain/types';
import type { WebhookDelivery } from '../ports/webhooks';
import { type Actor, tenantAudit } from './actor';
import type { AppDeps } from './deps';
import type { Tenants } from './tenants';

/** A tenant's webhook as admins see it: never the secret (it is shown once, when made). */
export interface WebhookView {
  tenant: string;
  url: string;
  updatedAt: number;
}

/** A delivery as admins see it. */
export interface DeliveryView {
  id: string;
  event: string;
  mac: string;
  state: string;
  at: number;
  status: string;
  attempts: number;
  nextAttemptAt: number | null;
  lastResult: string | null;
  finishedAt: number | null;
}

const MAX_DELIVERIES_LISTED = 200;

/** Per-tenant webhooks: URL, signing secret (shown once), recent deliveries. */
export class Webhooks {
  constructor(
    private readonly d: AppDeps,
    private readonly tenants: Tenants,
  ) {}

  /** Sets or changes the URL. A new webhook gets a secret (returned once); a changed one keeps its secret. */
  async set(actor: Actor, tenantName: unknown, url: unknown): Promise<{ webhook: WebhookView; secret?: string }> {
    const tenant = await this.tenants.get(actor, tenantName);
    const parsed = parseWebhookUrl(url);
    const existing = await this.d.store.getWebhook(tenant.id);
    const secret = existing?.secret ?? this.newSecret();
    const updatedAt = this.d.clock.now();
    await this.d.store.setWebhook({ tenantId: tenant.id, url: parsed, secret, updatedAt });
    await this.audit(actor, tenant.id, 'webhook-set', existing ? 'changed' : 'created');
    const webhook = { tenant: tenant.name, url: parsed, updatedAt };
    return existing ? { webhook } : { webhook, secret };
  }

  /** Replaces the signing secret (returned once); deliveries from now on are signed with the new one. */
  async rotateSecret(actor: Actor, tenantName: unknown): Promise<{ webhook: WebhookView; secret: string }> {
    const tenant = await this.tenants.get(actor, tenantName);
    const existing = await this.required(tenant);
    const secret = this.newSecret();
    const updatedAt = this.d.clock.now();
    await this.d.store.setWebhook({ ...existing, secret, updatedAt });
    await this.audit(actor, tenant.id, 'webhook-secret', 'rotated');
    return { webhook: { tenant: tenant.name, url: existing.url, updatedAt }, secret };
  }

  /** Removes the webhook; pending deliveries are dropped. */
  async remove(actor: Actor, tenantName: unknown): Promise<void> {
    const tenant = await this.tenants.get(actor, tenantName);
    if (!(await this.d.store.deleteWebhook(tenant.id))) throw notFound(`tenant ${tenant.name} has no webhook`);
    await this.audit(actor, tenant.id, 'webhook-remove', 'ok');
  }

  async show(actor: Actor, tenantName: unknown): Promise<WebhookView> {
    const tenant = await this.tenants.get(actor, tenantName);
    const w = await this.required(tenant);
    return { tenant: tenant.name, url: w.url, updatedAt: w.updatedAt };
  }

  /** The most recent deliveries, newest first. */
  async deliveries(actor: Actor, tenantName: unknown, limit: unknown = 50): Promise<DeliveryView[]> {
    const tenant = await this.tenants.get(actor, tenantName);
    const n = typeof limit === 'string' && /^\d+$/.test(limit) ? Number(limit) : limit;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_DELIVERIES_LISTED) {
      throw invalid('limit', `limit must be a whole number from 1 to ${MAX_DELIVERIES_LISTED}`);
    }
    return (await this.d.store.listWebhookDeliveries(tenant.id, n)).map(toDeliveryView);
  }

  private async required(tenant: Tenant) {
    const w = await this.d.store.getWebhook(tenant.id);
    if (!w) throw notFound(`tenant ${tenant.name} has no webhook`);
    return w;
  }

  /** 256 bits from the CSPRNG. */
  private newSecret(): string {
    return `whsec_${Buffer.from(this.d.random.bytes(32)).toString('base64url')}`;
  }

  private audit(actor: Actor, tenantId: number, action: string, outcome: string) {
    return this.d.store.appendAudit(tenantAudit(actor, tenantId, action, outcome, this.d.clock.now()));
  }
}

function toDeliveryView(x: WebhookDelivery): DeliveryView {
  return {
    id: x.id,
    event: webhookEventName(x.state),
    mac: x.mac,
    state: x.state,
    at: x.at,
    status: x.status,
    attempts: x.attempts,
    nextAttemptAt: x.status === 'pending' ? x.nextAttemptAt : null,
    lastResult: x.lastResult,
    finishedAt: x.finishedAt,
  };
}
