import type { AllowEntry, AuditEvent, Device, Site, Tenant, TemporaryTrust } from '../domain/types';

/**
 * A whole store as plain values, for moving it from one adapter to another
 * (`papgate copy`): every row with its id, tenants with their token hashes.
 * SIP registrations are not part of it: phones register again within their
 * expiry.
 */
export interface StoreDump {
  tenants: (Tenant & { tokenHash: string })[];
  sites: Site[];
  devices: Device[];
  allowEntries: AllowEntry[];
  /** Only windows still open when the dump was taken. */
  temporaryTrust: TemporaryTrust[];
  audit: AuditEvent[];
}

/** How many rows of each kind were moved. */
export type StoreDumpCounts = { [K in keyof StoreDump]: number };

export function countDump(d: StoreDump): StoreDumpCounts {
  return {
    tenants: d.tenants.length,
    sites: d.sites.length,
    devices: d.devices.length,
    allowEntries: d.allowEntries.length,
    temporaryTrust: d.temporaryTrust.length,
    audit: d.audit.length,
  };
}
