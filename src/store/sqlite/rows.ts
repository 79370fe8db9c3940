import { unavailable } from '../../domain/errors';
import type { AuditEvent, AuthState, Device, Line, Vendor } from '../../domain/types';
import { DEVICE_COLUMNS } from '../sql-rows';

/** Rows as SQLite returns them (snake_case columns), and their mapping to domain values. */

export { toAllowEntry, toAudit, toSite, toTenant, toTrust, type AllowEntryRow, type AuditRow, type SiteRow, type TenantRow, type TrustRow } from '../sql-rows';

export interface DeviceRow {
  mac: string;
  tenant_id: number;
  site_id: number | null;
  vendor: string;
  model: string;
  created_at: number;
  auth_state: string;
  pap: string | null;
  failures: number;
  lockouts: number;
  locked_until: number | null;
  suspended_until: number | null;
  secret_hash: string | null;
  prev_secret_hash: string | null;
  sip_username: string;
  sip_password: string;
  lines: string;
  last_provisioned_ip: string | null;
  last_provisioned_at: number | null;
}

export { DEVICE_COLUMNS };

/**
 * A device row from the values of a raw statement (columns in DEVICE_COLUMNS
 * order). better-sqlite3 builds a row object key by key, which costs about
 * a microsecond more per device lookup than this literal of a fixed shape.
 */
export function deviceRowOf(v: readonly unknown[]): DeviceRow {
  return {
    mac: v[0],
    tenant_id: v[1],
    site_id: v[2],
    vendor: v[3],
    model: v[4],
    created_at: v[5],
    auth_state: v[6],
    pap: v[7],
    failures: v[8],
    lockouts: v[9],
    locked_until: v[10],
    suspended_until: v[11],
    secret_hash: v[12],
    prev_secret_hash: v[13],
    sip_username: v[14],
    sip_password: v[15],
    lines: v[16],
    last_provisioned_ip: v[17],
    last_provisioned_at: v[18],
  } as DeviceRow;
}

export function auditParams(e: Omit<AuditEvent, 'id'>) {
  return {
    at: e.at,
    tenant_id: e.tenantId,
    mac: e.mac,
    source_ip: e.sourceIp,
    actor: e.actor,
    action: e.action,
    outcome: e.outcome,
  };
}

export function toDevice(r: DeviceRow): Device {
  return {
    mac: r.mac,
    tenantId: r.tenant_id,
    siteId: r.site_id,
    vendor: r.vendor as Vendor,
    model: r.model,
    createdAt: r.created_at,
    auth: {
      state: r.auth_state as AuthState,
      pap: r.pap,
      failures: r.failures,
      lockouts: r.lockouts,
      lockedUntil: r.locked_until,
      suspendedUntil: r.suspended_until,
    },
    secretHash: r.secret_hash,
    prevSecretHash: r.prev_secret_hash,
    sipUsername: r.sip_username,
    sipPassword: r.sip_password,
    lines: parseLines(r.mac, r.lines),
    lastProvisionedIp: r.last_provisioned_ip,
    lastProvisionedAt: r.last_provisioned_at,
  };
}

/** `linesText`: the lines already written out (JSON), when the caller has them. */
export function deviceParams(d: Device, linesText?: string): DeviceRow {
  return {
    mac: d.mac,
    tenant_id: d.tenantId,
    site_id: d.siteId,
    vendor: d.vendor,
    model: d.model,
    created_at: d.createdAt,
    auth_state: d.auth.state,
    pap: d.auth.pap,
    failures: d.auth.failures,
    lockouts: d.auth.lockouts,
    locked_until: d.auth.lockedUntil,
    suspended_until: d.auth.suspendedUntil,
    secret_hash: d.secretHash,
    prev_secret_hash: d.prevSecretHash,
    sip_username: d.sipUsername,
    sip_password: d.sipPassword,
    lines: linesText ?? JSON.stringify(d.lines),
    last_provisioned_ip: d.lastProvisionedIp,
    last_provisioned_at: d.lastProvisionedAt,
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
