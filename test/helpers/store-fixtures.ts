import { createHash } from 'node:crypto';
import { newAuthRecord } from '../../src/domain/auth';
import type { AuditEvent, AuthRecord, Device, Tenant } from '../../src/domain/types';
import type { Store, StoredRegistration } from '../../src/ports/store';

/** Small factories for store-backed tests. Every call returns fresh, unique keys. */

let serial = 0;

/** A unicast, locally administered MAC (first octet 02), unique in this process. */
export function nextMac(): string {
  serial += 1;
  return `02${(serial + 0x10_0000 * process.pid).toString(16).padStart(10, '0').slice(-10)}`;
}

export type DeviceOverrides = Partial<Omit<Device, 'auth'>> & { auth?: Partial<AuthRecord> };

/**
 * A device in state `needed` with PAP 123456. Pass `tenantId` (default 1,
 * the first tenant of a fresh store). `auth` overrides merge into the record.
 */
export function makeDevice(overrides: DeviceOverrides = {}): Device {
  const mac = overrides.mac ?? nextMac();
  const { auth, ...rest } = overrides;
  return {
    mac,
    tenantId: 1,
    siteId: null,
    vendor: 'yealink',
    model: 'T46U',
    createdAt: 1_700_000_000_000,
    auth: { ...newAuthRecord('123456'), ...auth },
    secretHash: null,
    prevSecretHash: null,
    sipUsername: `dev-${mac}`,
    sipPassword: `pw-${mac}`,
    lines: [],
    lastProvisionedIp: null,
    lastProvisionedAt: null,
    ...rest,
  };
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Creates a tenant whose admin token is `token-<name>` (the store keeps its sha256). */
export async function makeTenant(store: Store, name: string, overrides: Partial<Omit<Tenant, 'id'>> = {}): Promise<Tenant> {
  return store.createTenant({
    name,
    locale: overrides.locale ?? 'en',
    tokenHash: sha256(`token-${name}`),
    createdAt: overrides.createdAt ?? 1_700_000_000_000,
  });
}

/** An audit event; override what the test looks at. */
export function makeAudit(overrides: Partial<Omit<AuditEvent, 'id'>> = {}): Omit<AuditEvent, 'id'> {
  return {
    at: 1_700_000_000_000,
    tenantId: null,
    mac: null,
    sourceIp: null,
    actor: 'cli',
    action: 'test',
    outcome: 'ok',
    ...overrides,
  };
}

/** A phone's UDP binding for `username` from 198.51.100.7:5062; `over` replaces any field (expiresAt is in the tests' clock). */
export function makeRegistration(username: string, over: Partial<StoredRegistration> = {}): StoredRegistration {
  return {
    username,
    contact: `sip:${username}@198.51.100.7:5062;transport=udp`,
    sourceAddress: '198.51.100.7',
    sourcePort: 5062,
    sourceTransport: 'udp',
    path: [],
    callId: 'c1@phone',
    cseq: 1,
    expiresAt: 10_000,
    ...over,
  };
}
