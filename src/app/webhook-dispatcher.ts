import { nextAttemptAt, webhookEventName, webhookSignature, type BackoffPolicy } from '../domain/webhook';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { Random } from '../ports/random';
import type { Store } from '../ports/store';
import type { DeliveryOutcome, WebhookDelivery, WebhookResponse, WebhookSender } from '../ports/webhooks';
import { withTimeout } from './with-timeout';

const DEFAULT_STOP_WAIT_MS = 5000;

export interface DispatcherSettings {
  backoff: BackoffPolicy;
  /** Deliveries in flight at once in this process. */
  concurrency: number;
  /** Deliveries of one tenant in flight at once, across every node: a slow receiver holds only its own share. */
  perTenant: number;
  /** How often the outbox is looked at when nothing else wakes the dispatcher. */
  pollMs: number;
  /** How long a claimed delivery stays ours; longer than the sender's total timeout. */
  leaseMs: number;
  /** stop() waits this long at most for a store call or POST still running (a hung store must not hang shutdown). */
  stopWaitMs?: number;
}

export interface DispatcherDeps {
  store: Store;
  clock: Clock;
  random: Random;
  log: Logger;
  sender: WebhookSender;
}

/** The body a receiver gets: no PIN, password, secret or SIP credential can be in it. */
export interface WebhookBody {
  id: string;
  event: string;
  tenant: string;
  mac: string;
  site: string | null;
  state: string;
  at: string;
}

/**
 * Delivers the webhook outbox: claims due deliveries (a lease, so two nodes
 * never post the same one at once), posts each signed, and records the
 * outcome: delivered on a 2xx, otherwise tried again with back-off until the
 * attempts or the age run out. Runs beside the IVR and provisioning paths,
 * never in them: a state change only writes an outbox row.
 */
export class WebhookDispatcher {
  private readonly inFlight = new Set<Promise<void>>();
  /**
   * Deliveries this dispatcher is sending. A claim can hand one back while
   * its request is still out (the clock jumped past its lease): sending it
   * again would make the receiver see the event twice.
   */
  private readonly sending = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly d: DispatcherDeps,
    private readonly s: DispatcherSettings,
  ) {}

  start(): void {
    this.schedule(0);
  }

  /** Looks at the outbox now (after a state change, or a delivery that may have unblocked the next one). */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) this.again = true;
    else this.schedule(0);
  }

  /**
   * Stops claiming and waits, for a bounded time, for the claim and the
   * deliveries in flight. What is still running then is left: its lease runs
   * out and the delivery is tried again (by this node after a restart, or another).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const running = Promise.allSettled([this.ticking, ...this.inFlight]);
    try {
      await withTimeout(running, this.s.stopWaitMs ?? DEFAULT_STOP_WAIT_MS);
    } catch {
      this.d.log.warn({ inFlight: this.inFlight.size }, 'webhook work still running at stop was left; its leases run out and it is tried again');
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.ticking = this.tick();
    }, ms);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    let full = false;
    try {
      const free = this.s.concurrency - this.inFlight.size;
      if (free > 0) {
        const now = this.d.clock.now();
        const claimed = await this.d.store.claimWebhookDeliveries(now, { leaseUntil: now + this.s.leaseMs, limit: free, perTenant: this.s.perTenant });
        for (const delivery of claimed) {
          if (this.sending.has(delivery.seq)) {
            // Still out from an earlier claim: this one is no attempt, and must not count as one.
            this.track(this.giveBack(delivery.seq));
            continue;
          }
          this.sending.add(delivery.seq);
          this.track(this.deliver(delivery).finally(() => this.sending.delete(delivery.seq)));
        }
        full = claimed.length === free;
      }
    } catch (e) {
      this.d.log.warn({ err: (e as Error).message }, 'webhook outbox not read this time');
    } finally {
      this.ticking = null;
      const soon = this.again || full;
      this.again = false;
      this.schedule(soon && this.inFlight.size < this.s.concurrency ? 0 : this.s.pollMs);
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => {
      this.inFlight.delete(p);
      this.wake();
    });
  }

  private async giveBack(seq: number): Promise<void> {
    try {
      await this.d.store.releaseWebhookClaim(seq);
    } catch (e) {
      this.d.log.warn({ seq, err: (e as Error).message }, 'a webhook claim not given back: one attempt too many is counted');
    }
  }

  /** One attempt; any failure to record it leaves the lease to run out, and the delivery is tried again then. */
  private async deliver(delivery: WebhookDelivery): Promise<void> {
    try {
      const outcome = await this.attempt(delivery);
      await this.d.store.finishWebhookDelivery(outcome);
      const level = outcome.status === 'failed' ? 'warn' : 'debug';
      this.d.log[level](
        { tenantId: delivery.tenantId, event: delivery.id, attempts: delivery.attempts, status: outcome.status, result: outcome.lastResult },
        'webhook delivery',
      );
    } catch (e) {
      this.d.log.warn({ event: delivery.id, err: (e as Error).message }, 'webhook delivery not recorded; it is tried again when its lease ends');
    }
  }

  private async attempt(delivery: WebhookDelivery): Promise<DeliveryOutcome> {
    const { store, clock } = this.d;
    const hook = await store.getWebhook(delivery.tenantId);
    if (!hook) return { seq: delivery.seq, status: 'failed', lastResult: 'the tenant has no webhook any more', at: clock.now() };
    const body = JSON.stringify(await this.body(delivery));
    const sentAt = clock.now();
    const response = await this.d.sender.post({
      url: hook.url,
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'papgate-webhooks/1',
        'x-papgate-event': webhookEventName(delivery.state),
        'x-papgate-event-id': delivery.id,
        'x-papgate-attempt': String(delivery.attempts),
        'x-papgate-signature': webhookSignature(hook.secret, Math.floor(sentAt / 1000), body),
      },
    });
    return this.outcome(delivery, response, clock.now());
  }

  private outcome(delivery: WebhookDelivery, r: WebhookResponse, now: number): DeliveryOutcome {
    const lastResult = 'status' in r ? `HTTP ${r.status}${r.status >= 300 && r.status < 400 ? ' (redirects are not followed)' : ''}` : r.error;
    if ('status' in r && r.status >= 200 && r.status < 300) return { seq: delivery.seq, status: 'delivered', lastResult, at: now };
    const next = nextAttemptAt(this.s.backoff, delivery.attempts, delivery.at, now, this.random01());
    return next === null
      ? { seq: delivery.seq, status: 'failed', lastResult, at: now }
      : { seq: delivery.seq, status: 'pending', lastResult, at: now, nextAttemptAt: next };
  }

  private async body(delivery: WebhookDelivery): Promise<WebhookBody> {
    const tenant = await this.d.store.getTenantById(delivery.tenantId);
    const site = delivery.siteId === null ? null : await this.d.store.getSiteById(delivery.siteId);
    return {
      id: delivery.id,
      event: webhookEventName(delivery.state),
      tenant: tenant?.name ?? String(delivery.tenantId),
      mac: delivery.mac,
      site: site?.name ?? null,
      state: delivery.state,
      at: new Date(delivery.at).toISOString(),
    };
  }

  private random01(): number {
    return Buffer.from(this.d.random.bytes(4)).readUInt32BE(0) / 2 ** 32;
  }
}
