import type { Actor } from '../../src/app/actor';
import type { DeviceView } from '../../src/app/device-view';
import type { PortalServer } from './portal-harness';

/** Puts devices of a tenant into every state through the real use cases, as phones and admins would. */

export const PLATFORM: Actor = { kind: 'platform', label: 'cli' };

const wrongPap = (pap: string) => String((Number(pap) + 1) % 1_000_000).padStart(6, '0');

export async function addDevice(s: PortalServer, tenant: string, mac: string, vendor = 'yealink', model = 'T46U', site?: string): Promise<DeviceView> {
  return s.services.devices.create(PLATFORM, { tenant, mac, vendor, model, site });
}

/** Three wrong PAPs in a row: `failed`, locked out for 30 minutes. */
export async function failThreeTimes(s: PortalServer, d: DeviceView, sourceIp = '198.51.100.23'): Promise<void> {
  for (let i = 0; i < 3; i++) await s.services.authentication.attempt(d.mac, wrongPap(d.pap!), sourceIp);
}

/** The blocked end state (3 lock-outs) set directly: waiting out real lock-outs has no place in a test. */
export async function block(s: PortalServer, d: DeviceView): Promise<void> {
  await s.store.mutateDevice(d.mac, (dev) => {
    const next = { ...dev!, auth: { ...dev!.auth, state: 'blocked' as const, failures: 0, lockouts: 3, lockedUntil: null } };
    return { next, result: undefined };
  });
}

/** The right PAP typed after a provisioning request from `ip`: `successful`, and `ip` trusted for 8 hours. */
export async function authenticate(s: PortalServer, d: DeviceView, ip: string): Promise<void> {
  await s.store.mutateDevice(d.mac, (dev) => ({ next: { ...dev!, lastProvisionedIp: ip, lastProvisionedAt: Date.now() }, result: undefined }));
  await s.services.authentication.attempt(d.mac, d.pap!, ip);
}
