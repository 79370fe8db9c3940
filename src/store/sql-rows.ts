import type { AllowEntry, AuditEvent, Locale, Site, Tenant, TemporaryTrust } from '../domain/types';
import type { WebhookState } from '../domain/webhook';
import type { StoredRegistration } from '../ports/store';
import type { DeliveryStatus, WebhookConfig, WebhookDelivery } from '../ports/webhooks';

/**
 * The rows both SQL stores share (the same snake_case columns in both
 * schemas) and their mapping to domain values; device rows differ per
 * adapter and stay in each adapter's rows.ts.
 */

/** The devices table's columns, in the order both stores bind a device's values. */
export const DEVICE_COLUMNS = [
  'mac',
  'tenant_id',
  'site_id',
  'vendor',
  'model',
  'created_at',
  'auth_state',
  'pap',
  'failures',
  'lockouts',
  'locked_until',
  'suspended_until',
  'secret_hash',
  'prev_secret_hash',
  'sip_username',
  'sip_password',
  'lines',
  'last_provisioned_ip',
  'last_provisioned_at',
] as const;

export interface TenantRow {
  id: number;
  name: string;
  locale: string;
  created_at: number;
}
export interface SiteRow {
  id: number;
  tenant_id: number;
  name: string;
  locale: string | null;
  emergency_numbers: string;
}
export interface AllowEntryRow {
  tenant_id: number;
  cidr: string;
  created_at: number;
}
export interface TrustRow {
  tenant_id: number;
  ip: string;
  until: number;
}
export interface AuditRow {
  id: number;
  at: number;
  tenant_id: number | null;
  mac: string | null;
  source_ip: string | null;
  actor: string;
  action: string;
  outcome: string;
}

export const toTenant = (r: TenantRow): Tenant => ({
  id: r.id,
  name: r.name,
  locale: r.locale as Locale,
  createdAt: r.created_at,
});

export const toSite = (r: SiteRow): Site => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  locale: r.locale as Locale | null,
  emergencyNumbers: r.emergency_numbers === '' ? [] : r.emergency_numbers.split(','),
});

/** The emergency_numbers column of a site (numbers never contain a comma). */
export const emergencyNumbersColumn = (numbers: readonly string[] | undefined): string => (numbers ?? []).join(',');

export const toAllowEntry = (r: AllowEntryRow): AllowEntry => ({
  tenantId: r.tenant_id,
  cidr: r.cidr,
  createdAt: r.created_at,
});

export const toTrust = (r: TrustRow): TemporaryTrust => ({ tenantId: r.tenant_id, ip: r.ip, until: r.until });

export const toAudit = (r: AuditRow): AuditEvent => ({
  id: r.id,
  at: r.at,
  tenantId: r.tenant_id,
  mac: r.mac,
  sourceIp: r.source_ip,
  actor: r.actor,
  action: r.action,
  outcome: r.outcome,
});

export interface WebhookRow {
  tenant_id: number;
  url: string;
  secret: string;
  updated_at: number;
}
export interface DeliveryRow {
  seq: number;
  id: string;
  tenant_id: number;
  mac: string;
  site_id: number | null;
  state: string;
  at: number;
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_result: string | null;
  finished_at: number | null;
}

export const toWebhook = (r: WebhookRow): WebhookConfig => ({
  tenantId: r.tenant_id,
  url: r.url,
  secret: r.secret,
  updatedAt: r.updated_at,
});

export const toDelivery = (r: DeliveryRow): WebhookDelivery => ({
  seq: r.seq,
  id: r.id,
  tenantId: r.tenant_id,
  mac: r.mac,
  siteId: r.site_id,
  state: r.state as WebhookState,
  at: r.at,
  status: r.status as DeliveryStatus,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastResult: r.last_result,
  finishedAt: r.finished_at,
});

/** Finished deliveries are kept this long for the tenant's history, then deleted. */
export const DELIVERY_RETENTION_MS = 7 * 24 * 3600_000;

/**
 * The deliveries a claim may take, in one statement both dialects run (only
 * the parameter markers differ): the oldest pending event of each device
 * (per-device order), due or leased, ranked per tenant with the leased ones
 * first so in-flight deliveries use up the tenant's share; of those, the
 * unleased ones within the share. Markers: now, per-tenant share, limit.
 */
export function claimableSeqsSql(now: string, perTenant: string, limit: string): string {
  return `WITH heads AS (
    SELECT o.seq, o.tenant_id, o.next_attempt_at, o.lease_until FROM webhook_deliveries o
    WHERE o.status = 'pending' AND NOT EXISTS (
      SELECT 1 FROM webhook_deliveries e
      WHERE e.status = 'pending' AND e.tenant_id = o.tenant_id AND e.mac = o.mac AND e.seq < o.seq)
  ), ranked AS (
    SELECT seq, lease_until,
      row_number() OVER (PARTITION BY tenant_id ORDER BY CASE WHEN lease_until > ${now} THEN 0 ELSE 1 END, seq) AS rn
    FROM heads WHERE lease_until > ${now} OR next_attempt_at <= ${now}
  )
  SELECT seq FROM ranked WHERE rn <= ${perTenant} AND lease_until <= ${now} ORDER BY seq LIMIT ${limit}`;
}

/** A SIP registration as both stores keep it (path as JSON text). */
export interface RegistrationRow {
  username: string;
  contact: string;
  source_address: string;
  source_port: number;
  source_transport: string;
  path: string;
  call_id: string;
  cseq: number;
  expires_at: number;
  user_agent: string | null;
}

export function toRegistration(row: RegistrationRow): StoredRegistration {
  return {
    username: row.username,
    contact: row.contact,
    sourceAddress: row.source_address,
    sourcePort: row.source_port,
    sourceTransport: transportOf(row.source_transport),
    path: JSON.parse(row.path) as string[],
    callId: row.call_id,
    cseq: row.cseq,
    expiresAt: row.expires_at,
    ...(row.user_agent !== null ? { userAgent: row.user_agent } : {}),
  };
}

/** A stored transport name; anything unknown reads as UDP, SIP's default. */
function transportOf(text: string): StoredRegistration['sourceTransport'] {
  return text === 'tcp' || text === 'tls' ? text : 'udp';
}
