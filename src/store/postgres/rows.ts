import { unavailable } from '../../domain/errors';
import type {
  AllowEntry, AuditEvent, AuthState, Device, Line, Locale, Site, Tenant, TemporaryTrust, Vendor,
} from '../../domain/types';
import type { StoredRegistration } from '../../ports/store';

/** Rows as the pool returns them (snake_case, BIGINTs as numbers), and their mapping to domain values. */

export interface TenantRow { id: number; name: string; locale: string; created_at: number }
export interface SiteRow { id: number; tenant_id: number; name: string; locale: string | null }
export interface AllowEntryRow { tenant_id: number; cidr: string; created_at: number }
export interface TrustRow { tenant_id: number; ip: string; until: number }
export interface AuditRow {
  id: number; at: number; tenant_id: number | null; mac: string | null; source_ip: string | null;
  actor: string; action: string; outcome: string;
}

/** Device columns in the order devicesValues binds them. */
export const DEVICE_COLUMNS = [
  'mac', 'tenant_id', 'site_id', 'vendor', 'model', 'created_at', 'auth_state', 'pap', 'failures', 'lockouts',
  'locked_until', 'suspended_until', 'secret_hash', 'prev_secret_hash', 'sip_username', 'sip_password', 'lines',
  'last_provisioned_ip', 'last_provisioned_at',
] as const;

export type DeviceRow = Record<(typeof DEVICE_COLUMNS)[number], unknown>;

export const toTenant = (r: TenantRow): Tenant => ({
  id: r.id, name: r.name, locale: r.locale as Locale, createdAt: r.created_at,
});

export const toSite = (r: SiteRow): Site => ({
  id: r.id, tenantId: r.tenant_id, name: r.name, locale: r.locale as Locale | null,
});

export const toAllowEntry = (r: AllowEntryRow): AllowEntry => ({
  tenantId: r.tenant_id, cidr: r.cidr, createdAt: r.created_at,
});

export const toTrust = (r: TrustRow): TemporaryTrust => ({ tenantId: r.tenant_id, ip: r.ip, until: r.until });

export const toAudit = (r: AuditRow): AuditEvent => ({
  id: r.id, at: r.at, tenantId: r.tenant_id, mac: r.mac, sourceIp: r.source_ip,
  actor: r.actor, action: r.action, outcome: r.outcome,
});

/** Values of an audit INSERT ($1..$7). */
export function auditValues(e: Omit<AuditEvent, 'id'>): unknown[] {
  return [e.at, e.tenantId, e.mac, e.sourceIp, e.actor, e.action, e.outcome];
}

/** Values of a device INSERT, in DEVICE_COLUMNS order. */
export function deviceValues(d: Device): unknown[] {
  return [
    d.mac, d.tenantId, d.siteId, d.vendor, d.model, d.createdAt, d.auth.state, d.auth.pap, d.auth.failures,
    d.auth.lockouts, d.auth.lockedUntil, d.auth.suspendedUntil, d.secretHash, d.prevSecretHash, d.sipUsername,
    d.sipPassword, JSON.stringify(d.lines), d.lastProvisionedIp, d.lastProvisionedAt,
  ];
}

export function toDevice(r: DeviceRow): Device {
  return {
    mac: r.mac as string,
    tenantId: r.tenant_id as number,
    siteId: r.site_id as number | null,
    vendor: r.vendor as Vendor,
    model: r.model as string,
    createdAt: r.created_at as number,
    auth: {
      state: r.auth_state as AuthState,
      pap: r.pap as string | null,
      failures: r.failures as number,
      lockouts: r.lockouts as number,
      lockedUntil: r.locked_until as number | null,
      suspendedUntil: r.suspended_until as number | null,
    },
    secretHash: r.secret_hash as string | null,
    prevSecretHash: r.prev_secret_hash as string | null,
    sipUsername: r.sip_username as string,
    sipPassword: r.sip_password as string,
    lines: parseLines(r.mac as string, r.lines as string),
    lastProvisionedIp: r.last_provisioned_ip as string | null,
    lastProvisionedAt: r.last_provisioned_at as number | null,
  };
}

function parseLines(mac: string, text: string): Line[] {
  try {
    const lines: unknown = JSON.parse(text);
    if (Array.isArray(lines)) return lines as Line[];
  } catch {
    // fall through: reported below without the text (it holds SIP passwords)
  }
  throw unavailable(`the stored SIP lines of device ${mac} are unreadable`);
}

export interface RegistrationRow {
  username: string; contact: string; source_address: string; source_port: number; source_transport: string;
  path: string; call_id: string; cseq: number; expires_at: number; user_agent: string | null;
}

export function registrationValues(r: StoredRegistration): unknown[] {
  return [
    r.username, r.contact, r.sourceAddress, r.sourcePort, r.sourceTransport, JSON.stringify(r.path),
    r.callId, r.cseq, r.expiresAt, r.userAgent ?? null,
  ];
}

export function toRegistration(row: RegistrationRow): StoredRegistration {
  return {
    username: row.username, contact: row.contact, sourceAddress: row.source_address, sourcePort: row.source_port,
    sourceTransport: row.source_transport === 'tcp' ? 'tcp' : 'udp', path: JSON.parse(row.path) as string[],
    callId: row.call_id, cseq: row.cseq, expiresAt: row.expires_at,
    ...(row.user_agent !== null ? { userAgent: row.user_agent } : {}),
  };
}
