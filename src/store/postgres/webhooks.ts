import type { Pool } from 'pg';
import { notFound } from '../../domain/errors';
import type { ClaimLimits, DeliveryOutcome, NewWebhookEvent, WebhookConfig, WebhookDelivery } from '../../ports/webhooks';
import { claimableSeqsSql, DELIVERY_RETENTION_MS, toDelivery, toWebhook, type DeliveryRow, type WebhookRow } from '../sql-rows';
import { inTransaction, type Queryable } from './db';
import { isForeignKey } from './pg-errors';

/** Finished deliveries older than the retention are deleted at most this often (in the callers' time). */
const PRUNE_INTERVAL_MS = 10 * 60_000;

const SQL = {
  webhookUpsert: `INSERT INTO webhooks (tenant_id, url, secret, updated_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (tenant_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, updated_at = excluded.updated_at`,
  webhookByTenant: 'SELECT tenant_id, url, secret, updated_at FROM webhooks WHERE tenant_id = $1',
  webhookDelete: 'DELETE FROM webhooks WHERE tenant_id = $1',
  webhookDropPending: "DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND status = 'pending'",
  // Only for tenants with a webhook, read in the transaction of the state change.
  webhookEnqueue: `INSERT INTO webhook_deliveries (id, tenant_id, mac, site_id, state, at, next_attempt_at)
    SELECT $1::text, $2::integer, $3::text, $4::integer, $5::text, $6::bigint, $6::bigint
    WHERE EXISTS (SELECT 1 FROM webhooks WHERE tenant_id = $2::integer)`,
  // SKIP LOCKED: nodes claiming at once pass over each other's rows instead of queueing on them;
  // the lease test is re-checked on the locked row, so a row another node just leased is left out.
  webhookClaim: `UPDATE webhook_deliveries SET lease_until = $4, attempts = attempts + 1
    WHERE seq IN (
      SELECT seq FROM webhook_deliveries
      WHERE seq IN (${claimableSeqsSql('$1::bigint', '$2::bigint', '$3::bigint')})
        AND status = 'pending' AND lease_until <= $1::bigint
      FOR UPDATE SKIP LOCKED)
    RETURNING *`,
  webhookFinish: `UPDATE webhook_deliveries SET status = $2, last_result = $3, lease_until = 0,
    next_attempt_at = COALESCE($4, next_attempt_at), finished_at = $5 WHERE seq = $1`,
  webhookRelease: 'UPDATE webhook_deliveries SET attempts = GREATEST(attempts - 1, 0) WHERE seq = $1',
  webhookRecent: 'SELECT * FROM webhook_deliveries WHERE tenant_id = $1 ORDER BY seq DESC LIMIT $2',
  webhookPrune: "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < $1",
} as const;

async function q<R extends object = object>(db: Queryable, name: keyof typeof SQL, values: unknown[]): Promise<{ rows: R[]; rowCount: number }> {
  const r = await db.query<R & Record<string, unknown>>({ name, text: SQL[name], values });
  return { rows: r.rows, rowCount: r.rowCount ?? 0 };
}

/** The webhooks and webhook_deliveries tables on PostgreSQL (shared by every node). */
export class PostgresWebhooks {
  private lastPrune = -Infinity;

  constructor(private readonly pool: Pool) {}

  async set(w: WebhookConfig): Promise<void> {
    try {
      await q(this.pool, 'webhookUpsert', [w.tenantId, w.url, w.secret, w.updatedAt]);
    } catch (e) {
      throw isForeignKey(e) ? notFound(`there is no tenant with id ${w.tenantId}`) : e;
    }
  }

  async get(tenantId: number): Promise<WebhookConfig | null> {
    const row = (await q<WebhookRow>(this.pool, 'webhookByTenant', [tenantId])).rows[0];
    return row ? toWebhook(row) : null;
  }

  async delete(tenantId: number): Promise<boolean> {
    return inTransaction(this.pool, async (c) => {
      if ((await q(c, 'webhookDelete', [tenantId])).rowCount === 0) return false;
      await q(c, 'webhookDropPending', [tenantId]);
      return true;
    });
  }

  /** Inside the caller's transaction (mutateDevice). */
  async add(c: Queryable, e: NewWebhookEvent): Promise<void> {
    await q(c, 'webhookEnqueue', [e.id, e.tenantId, e.mac, e.siteId, e.state, e.at]);
  }

  async claim(now: number, l: ClaimLimits): Promise<WebhookDelivery[]> {
    if (now - this.lastPrune >= PRUNE_INTERVAL_MS) {
      this.lastPrune = now;
      await q(this.pool, 'webhookPrune', [now - DELIVERY_RETENTION_MS]);
    }
    const { rows } = await q<DeliveryRow>(this.pool, 'webhookClaim', [now, l.perTenant, l.limit, l.leaseUntil]);
    return rows.map(toDelivery).sort((a, b) => a.seq - b.seq);
  }

  async finish(o: DeliveryOutcome): Promise<void> {
    const pending = o.status === 'pending';
    await q(this.pool, 'webhookFinish', [o.seq, o.status, o.lastResult, pending ? o.nextAttemptAt : null, pending ? null : o.at]);
  }

  async release(seq: number): Promise<void> {
    await q(this.pool, 'webhookRelease', [seq]);
  }

  async list(tenantId: number, limit: number): Promise<WebhookDelivery[]> {
    return (await q<DeliveryRow>(this.pool, 'webhookRecent', [tenantId, limit])).rows.map(toDelivery);
  }
}
