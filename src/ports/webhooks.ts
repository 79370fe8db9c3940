import type { WebhookState } from '../domain/webhook';

/** A tenant's webhook: where events go and the secret they are signed with. */
export interface WebhookConfig {
  tenantId: number;
  url: string;
  /** Kept in clear: it signs every delivery. Never logged, never exported. */
  secret: string;
  updatedAt: number;
}

/** A device entering a WebhookState, as the use case that changed it saw it. */
export interface NewWebhookEvent {
  /** Random, unique: receivers de-duplicate on it. */
  id: string;
  tenantId: number;
  mac: string;
  siteId: number | null;
  state: WebhookState;
  at: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event in the outbox with its delivery bookkeeping. */
export interface WebhookDelivery extends NewWebhookEvent {
  /** Outbox order: per device, events are delivered in this order. */
  seq: number;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  /** What the last attempt got ('HTTP 500', 'timed out', ...); null before the first. */
  lastResult: string | null;
  /** When it was delivered or given up. */
  finishedAt: number | null;
}

/** What one attempt decided for its delivery. */
export type DeliveryOutcome =
  | { seq: number; status: 'delivered' | 'failed'; lastResult: string; at: number }
  | { seq: number; status: 'pending'; lastResult: string; at: number; nextAttemptAt: number };

export interface ClaimLimits {
  /** Claimed rows are leased to the caller until then (another node takes them over after). */
  leaseUntil: number;
  /** At most this many rows. */
  limit: number;
  /** At most this many rows of one tenant in flight at once, counting leases already held by anyone. */
  perTenant: number;
}

/**
 * The webhook part of the Store. Events enter the outbox through
 * DeviceChange.webhookEvents, in the transaction of the state change, and
 * only for tenants that have a webhook at that moment.
 */
export interface WebhookStore {
  /** Creates or replaces the tenant's webhook. */
  setWebhook(w: WebhookConfig): Promise<void>;
  getWebhook(tenantId: number): Promise<WebhookConfig | null>;
  /** Removes the webhook and drops the tenant's pending deliveries; false when there was none. */
  deleteWebhook(tenantId: number): Promise<boolean>;
  /**
   * Leases due deliveries: pending, next attempt at or before `now`, not
   * leased, and the oldest pending event of their device (per-device order).
   * Two callers (processes, nodes) never get the same row while its lease runs.
   */
  claimWebhookDeliveries(now: number, limits: ClaimLimits): Promise<WebhookDelivery[]>;
  /** Records an attempt's outcome and releases the lease. */
  finishWebhookDelivery(o: DeliveryOutcome): Promise<void>;
  /**
   * Gives back a claim the caller does not act on (it is still sending that
   * delivery from an earlier claim whose lease ran out): the claim's count of
   * attempts is taken back, so no attempt is counted that was not made. The
   * new lease stays: the delivery is not claimed again at every poll while its
   * request is out, and the outcome of that request ends the lease.
   */
  releaseWebhookClaim(seq: number): Promise<void>;
  /** The tenant's most recent deliveries, newest first. */
  listWebhookDeliveries(tenantId: number, limit: number): Promise<WebhookDelivery[]>;
}

/** One HTTP POST as the dispatcher asks for it. */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What came back: a status, or why none did. The body is never kept. */
export type WebhookResponse = { status: number } | { error: string };

/** The HTTP client the dispatcher posts through (bounded time, no redirects followed). */
export interface WebhookSender {
  post(req: WebhookRequest): Promise<WebhookResponse>;
}
