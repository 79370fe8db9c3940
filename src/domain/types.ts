/** The things of section 1 of docs/behaviour.md, as plain data. Times are epoch milliseconds. */

export const VENDORS = ['yealink', 'snom', 'poly', 'cisco', 'linksys', 'gigaset', 'patton', 'panasonic'] as const;
export type Vendor = (typeof VENDORS)[number];

export const LOCALES = ['en', 'de', 'fr', 'es', 'it', 'nl', 'pl'] as const;
export type Locale = (typeof LOCALES)[number];

export type AuthState = 'needed' | 'failed' | 'blocked' | 'successful';

export interface Tenant {
  id: number;
  name: string;
  locale: Locale;
  createdAt: number;
}

export interface Site {
  id: number;
  tenantId: number;
  name: string;
  locale: Locale | null;
  /** Emergency numbers of this site, on top of the global ones (never instead of them). */
  emergencyNumbers: string[];
}

/** Authentication bookkeeping of one device (section 4 of docs/behaviour.md). */
export interface AuthRecord {
  /** Stored state; `failed` whose lock-out has ended reads as `needed` (see effectiveState). */
  state: AuthState;
  /** The PAP while the device is not authenticated; null once successful. */
  pap: string | null;
  /** Wrong PAPs in a row since the last lock-out, reset, or success. */
  failures: number;
  /** Lock-outs since the last success or reset. */
  lockouts: number;
  lockedUntil: number | null;
  suspendedUntil: number | null;
}

/** One SIP line of the full configuration, as the admin set it. */
export interface Line {
  server: string;
  user: string;
  authName: string;
  password: string;
  displayName: string;
}

export interface Device {
  mac: string;
  tenantId: number;
  siteId: number | null;
  vendor: Vendor;
  model: string;
  createdAt: number;
  auth: AuthRecord;
  /** sha256 (hex) of the identity secret handed out last, and of the one before it. */
  secretHash: string | null;
  prevSecretHash: string | null;
  /** Per-device SIP account on papgate's own SIP service (minimal configuration). */
  sipUsername: string;
  sipPassword: string;
  lines: readonly Line[];
  lastProvisionedIp: string | null;
  lastProvisionedAt: number | null;
}

export type AuditOutcome = string;

export interface AuditEvent {
  id?: number;
  at: number;
  tenantId: number | null;
  mac: string | null;
  sourceIp: string | null;
  /** 'phone', 'cli', 'admin-token', 'tenant-token:<name>', 'system' */
  actor: string;
  action: string;
  outcome: AuditOutcome;
}

export interface AllowEntry {
  tenantId: number;
  /** Canonical CIDR, e.g. 203.0.113.0/24 or 2001:db8::/48 (a single host is /32 or /128). */
  cidr: string;
  createdAt: number;
}

export interface TemporaryTrust {
  tenantId: number;
  ip: string;
  until: number;
}
