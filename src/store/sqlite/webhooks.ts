import type { Database, Statement } from 'better-sqlite3';
import { notFound } from '../../domain/errors';
import type { ClaimLimits, DeliveryOutcome, NewWebhookEvent, WebhookConfig, WebhookDelivery } from '../../ports/webhooks';
import { claimableSeqsSql, DELIVERY_RETENTION_MS, toDelivery, toWebhook, type DeliveryRow, type WebhookRow } from '../sql-rows';
import { isForeignKey } from './sqlite-errors';

/** Finished deliveries older than the retention are deleted at most this often (in the callers' time). */
const PRUNE_INTERVAL_MS = 10 * 60_000;

/**
 * The webhooks and webhook_deliveries tables. Claims run in one BEGIN
 * IMMEDIATE transaction: no other connection can claim between the read and
 * the lease.
 */
export class SqliteWebhooks {
  private readonly upsert: Statement<[number, string, string, number]>;
  private readonly byTenant: Statement<[number], WebhookRow>;
  private readonly remove: Statement<[number]>;
  private readonly dropPending: Statement<[number]>;
  /** Enqueues an event only when its tenant has a webhook (read in the same transaction). */
  readonly enqueue: Statement<[string, number, string, number | null, string, number, number, number]>;
  private readonly claimRows: Statement<{ now: number; per_tenant: number; lim: number; lease: number }, DeliveryRow>;
  private readonly finish: Statement<{ seq: number; status: string; last_result: string; next: number | null; finished: number | null }>;
  private readonly recent: Statement<[number, number], DeliveryRow>;
  private readonly prune: Statement<[number]>;
  private readonly release: Statement<[number]>;
  private readonly anyDue: Statement<[number, number], { one: number }>;
  private lastPrune = -Infinity;
  private readonly claimTx: (now: number, l: ClaimLimits) => WebhookDelivery[];
  readonly deleteTx: (tenantId: number) => boolean;

  constructor(db: Database) {
    this.upsert = db.prepare(`INSERT INTO webhooks (tenant_id, url, secret, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (tenant_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, updated_at = excluded.updated_at`);
    this.byTenant = db.prepare('SELECT tenant_id, url, secret, updated_at FROM webhooks WHERE tenant_id = ?');
    this.remove = db.prepare('DELETE FROM webhooks WHERE tenant_id = ?');
    this.dropPending = db.prepare("DELETE FROM webhook_deliveries WHERE tenant_id = ? AND status = 'pending'");
    this.enqueue = db.prepare(`INSERT INTO webhook_deliveries (id, tenant_id, mac, site_id, state, at, next_attempt_at)
      SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhooks WHERE tenant_id = ?)`);
    this.claimRows = db.prepare(`UPDATE webhook_deliveries SET lease_until = @lease, attempts = attempts + 1
      WHERE seq IN (${claimableSeqsSql('@now', '@per_tenant', '@lim')}) RETURNING *`);
    this.finish = db.prepare(`UPDATE webhook_deliveries SET status = @status, last_result = @last_result, lease_until = 0,
      next_attempt_at = COALESCE(@next, next_attempt_at), finished_at = @finished WHERE seq = @seq`);
    this.release = db.prepare('UPDATE webhook_deliveries SET attempts = MAX(attempts - 1, 0) WHERE seq = ?');
    this.recent = db.prepare('SELECT * FROM webhook_deliveries WHERE tenant_id = ? ORDER BY seq DESC LIMIT ?');
    this.prune = db.prepare("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < ?");
    this.anyDue = db.prepare("SELECT 1 AS one FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until <= ? LIMIT 1");
    this.claimTx = db.transaction((now: number, l: ClaimLimits) => {
      if (now - this.lastPrune >= PRUNE_INTERVAL_MS) {
        this.lastPrune = now;
        this.prune.run(now - DELIVERY_RETENTION_MS);
      }
      const rows = this.claimRows.all({ now, per_tenant: l.perTenant, lim: l.limit, lease: l.leaseUntil });
      return rows.map(toDelivery).sort((a, b) => a.seq - b.seq);
    }).immediate;
    this.deleteTx = db.transaction((tenantId: number) => {
      if (this.remove.run(tenantId).changes === 0) return false;
      this.dropPending.run(tenantId);
      return true;
    }).immediate;
  }

  /**
   * Claims due deliveries. A plain read first: under WAL it takes no lock, so
   * an idle outbox polled every second never takes the write lock away from
   * other processes (the CLI, provisioning workers).
   */
  claim(now: number, l: ClaimLimits): WebhookDelivery[] {
    if (!this.anyDue.get(now, now)) return [];
    return this.claimTx(now, l);
  }

  set(w: WebhookConfig): void {
    try {
      this.upsert.run(w.tenantId, w.url, w.secret, w.updatedAt);
    } catch (e) {
      throw isForeignKey(e) ? notFound(`there is no tenant with id ${w.tenantId}`) : e;
    }
  }

  get(tenantId: number): WebhookConfig | null {
    const row = this.byTenant.get(tenantId);
    return row ? toWebhook(row) : null;
  }

  /** Inside the caller's transaction (mutateDevice). */
  add(e: NewWebhookEvent): void {
    this.enqueue.run(e.id, e.tenantId, e.mac, e.siteId, e.state, e.at, e.at, e.tenantId);
  }

  released(seq: number): void {
    this.release.run(seq);
  }

  finished(o: DeliveryOutcome): void {
    const pending = o.status === 'pending';
    this.finish.run({
      seq: o.seq,
      status: o.status,
      last_result: o.lastResult,
      next: pending ? o.nextAttemptAt : null,
      finished: pending ? null : o.at,
    });
  }

  list(tenantId: number, limit: number): WebhookDelivery[] {
    return this.recent.all(tenantId, limit).map(toDelivery);
  }
}
