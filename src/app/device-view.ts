import { effectiveState, isSuspended } from '../domain/auth';
import type { AuthState, Device, Site, Tenant, Vendor } from '../domain/types';

/** What admins see of a device (CLI --json, REST). The PAP only while not successful; never the identity secret. */
export interface DeviceView {
  mac: string;
  tenant: string;
  site: string | null;
  vendor: Vendor;
  model: string;
  state: AuthState;
  pap: string | null;
  createdAt: string;
  sipUsername: string;
  sipPassword: string;
  failures: number;
  lockouts: number;
  lockedUntil: string | null;
  suspendedUntil: string | null;
  lastProvisionedIp: string | null;
  lastProvisionedAt: string | null;
  lines: { server: string; user: string; authName: string; displayName: string }[];
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function toDeviceView(d: Device, tenant: Tenant, site: Site | null, now: number): DeviceView {
  const state = effectiveState(d.auth, now);
  return {
    mac: d.mac,
    tenant: tenant.name,
    site: site?.name ?? null,
    vendor: d.vendor,
    model: d.model,
    state,
    pap: state === 'successful' ? null : d.auth.pap,
    createdAt: iso(d.createdAt)!,
    sipUsername: d.sipUsername,
    sipPassword: d.sipPassword,
    failures: state === 'needed' && d.auth.state === 'failed' ? 0 : d.auth.failures,
    lockouts: d.auth.lockouts,
    lockedUntil: state === 'failed' ? iso(d.auth.lockedUntil) : null,
    suspendedUntil: isSuspended(d.auth, now) ? iso(d.auth.suspendedUntil) : null,
    lastProvisionedIp: d.lastProvisionedIp,
    lastProvisionedAt: iso(d.lastProvisionedAt),
    lines: d.lines.map(({ server, user, authName, displayName }) => ({ server, user, authName, displayName })),
  };
}
