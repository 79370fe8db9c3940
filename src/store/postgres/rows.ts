import { unavailable } from '../../domain/errors';
import type { AuditEvent, AuthState, Device, Line, Vendor } from '../../domain/types';
import type { StoredRegistration } from '../../ports/store';
import { DEVICE_COLUMNS } from '../sql-rows';

/** Rows as the pool returns them (snake_case, BIGINTs as numbers), and their mapping to domain values. */

export {
  toAllowEntry,
  toAudit,
  toRegistration,
  toSite,
  toTenant,
  toTrust,
  type AllowEntryRow,
  type AuditRow,
  type RegistrationRow,
  type SiteRow,
  type TenantRow,
  type TrustRow,
} from '../sql-rows';

export { DEVICE_COLUMNS };

export type DeviceRow = Record<(typeof DEVICE_COLUMNS)[number], unknown>;

/** Values of an audit INSERT ($1..$7). */
export function auditValues(e: Omit<AuditEvent, 'id'>): unknown[] {
  return [e.at, e.tenantId, e.mac, e.sourceIp, e.actor, e.action, e.outcome];
}

/** Values of a device INSERT, in DEVICE_COLUMNS order. */
export function deviceValues(d: Device): unknown[] {
  return [
    d.mac,
    d.tenantId,
    d.siteId,
    d.vendor,
    d.model,
    d.createdAt,
    d.auth.state,
    d.auth.pap,
    d.auth.failures,
    d.auth.lockouts,
    d.auth.lockedUntil,
    d.auth.suspendedUntil,
    d.secretHash,
    d.prevSecretHash,
    d.sipUsername,
    d.sipPassword,
    JSON.stringify(d.lines),
    d.lastProvisionedIp,
    d.lastProvisionedAt,
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

export function registrationValues(r: StoredRegistration): unknown[] {
  return [r.username, r.contact, r.sourceAddress, r.sourcePort, r.sourceTransport, JSON.stringify(r.path), r.callId, r.cseq, r.expiresAt, r.userAgent ?? null];
}
