import type { AllowEntry, AuditEvent, Device, Locale, Site, Tenant, TemporaryTrust } from '../domain/types';
import type { NewWebhookEvent, WebhookStore } from './webhooks';

/** The smallest extension of an open trust window that a store writes (DeviceChange.trust). */
export const TRUST_EXTENSION_STEP_MS = 60_000;

/**
 * What a read-modify-write on one device decides. `mutate` is a pure function
 * run inside one store transaction that holds the write lock from the read to
 * the write, so parallel calls (or processes) cannot interleave: this is what
 * stops two calls from buying extra PAP guesses.
 */
export interface DeviceChange<T> {
  /** The device to write back; `undefined` writes nothing. */
  next?: Device;
  result: T;
  /** Audit events written in the same transaction. */
  audit?: Omit<AuditEvent, 'id'>[];
  /**
   * Temporary trust windows to open or extend in the same transaction. A
   * window is never shortened, and one that already ends no more than
   * TRUST_EXTENSION_STEP_MS before the new end is left as it is: phones that
   * fetch again and again would otherwise each cost a write.
   */
  trust?: TemporaryTrust[];
  /** Webhook events to enqueue in the same transaction; dropped for tenants without a webhook. */
  webhookEvents?: NewWebhookEvent[];
}

export interface DeviceFilter {
  siteId?: number;
  limit?: number;
  offset?: number;
}

/**
 * A device's SIP registration as every node sees it: kept in the store so a
 * check-sync can reach the phone whichever node (or proxy) it registered
 * through.
 */
export interface StoredRegistration {
  /** The device's SIP username (one binding per account). */
  username: string;
  /** The Contact URI the phone registered. */
  contact: string;
  /** Where the REGISTER came from (a proxy's address when one is in front). */
  sourceAddress: string;
  sourcePort: number;
  sourceTransport: 'udp' | 'tcp' | 'tls';
  /** Path header URIs (RFC 3327) a proxy inserted: requests to the phone are routed through them. */
  path: string[];
  /** Call-ID and CSeq of the REGISTER that wrote it (RFC 3261 10.3 ordering). */
  callId: string;
  cseq: number;
  /** Epoch ms when the binding lapses. */
  expiresAt: number;
  userAgent?: string;
}

export interface NewTenant {
  name: string;
  locale: Locale;
  /** sha256 (hex) of the tenant's admin token. */
  tokenHash: string;
  createdAt: number;
}

export type NewSite = Omit<Site, 'id' | 'emergencyNumbers'> & { emergencyNumbers?: readonly string[] };
export type SiteChange = Pick<Site, 'locale' | 'emergencyNumbers'>;

/**
 * The Store port. Async on purpose: a PostgreSQL adapter must fit without
 * touching callers. Errors: PapgateError 'conflict' for duplicates,
 * 'not_found' for unknown keys, 'unavailable' when the database cannot be used.
 */
export interface Store extends WebhookStore {
  // tenants
  createTenant(t: NewTenant): Promise<Tenant>;
  getTenantByName(name: string): Promise<Tenant | null>;
  getTenantById(id: number): Promise<Tenant | null>;
  getTenantByTokenHash(tokenHash: string): Promise<Tenant | null>;
  setTenantTokenHash(tenantId: number, tokenHash: string): Promise<void>;
  setTenantLocale(tenantId: number, locale: Locale): Promise<void>;
  listTenants(): Promise<Tenant[]>;

  // sites
  createSite(s: NewSite): Promise<Site>;
  /** Changes a site's locale and emergency numbers; 'not_found' for an unknown id. */
  updateSite(id: number, change: SiteChange): Promise<void>;
  getSite(tenantId: number, name: string): Promise<Site | null>;
  getSiteById(id: number): Promise<Site | null>;
  listSites(tenantId: number): Promise<Site[]>;

  // devices
  /** Inserts many devices in one transaction: all or none. */
  insertDevices(devices: Device[], audit: Omit<AuditEvent, 'id'>[]): Promise<void>;
  getDevice(mac: string): Promise<Device | null>;
  getDeviceBySipUsername(username: string): Promise<Device | null>;
  listDevices(tenantId: number, filter?: DeviceFilter): Promise<Device[]>;
  countDevices(tenantId?: number): Promise<number>;
  deleteDevice(mac: string, audit: Omit<AuditEvent, 'id'>): Promise<boolean>;
  /** One atomic read-check-write; `mutate` gets null for an unknown MAC. */
  mutateDevice<T>(mac: string, mutate: (device: Device | null) => DeviceChange<T>): Promise<T>;
  /**
   * Records where and when a phone last fetched its configuration (an unknown
   * MAC is ignored; an older time never replaces a newer one). An adapter may
   * write it a few milliseconds later, batched with others: its own reads
   * show it at once, a crash may lose the last few milliseconds of them.
   */
  recordLastSeen(mac: string, ip: string, at: number): Promise<void>;

  // trust
  addAllowEntry(e: AllowEntry, audit: Omit<AuditEvent, 'id'>): Promise<AllowEntry>;
  removeAllowEntry(tenantId: number, cidr: string, audit: Omit<AuditEvent, 'id'>): Promise<boolean>;
  listAllowEntries(tenantId: number): Promise<AllowEntry[]>;
  /** Windows that have not ended at `now`. */
  listTemporaryTrust(tenantId: number, now: number): Promise<TemporaryTrust[]>;

  // registrations
  /** Creates or replaces the account's binding; bindings lapsed before `now` may be swept. */
  saveRegistration(r: StoredRegistration, now: number): Promise<void>;
  /** The account's binding unless it lapsed before `now`. */
  getRegistration(username: string, now: number): Promise<StoredRegistration | null>;
  /** Removes the binding; false when there was none. */
  deleteRegistration(username: string): Promise<boolean>;

  // audit
  appendAudit(e: Omit<AuditEvent, 'id'>): Promise<void>;
  listAudit(tenantId: number | null, limit: number): Promise<AuditEvent[]>;

  /**
   * Resolves when the store can take a write now; rejects with PapgateError
   * 'unavailable' when it cannot (locked by another process, gone, read-only).
   * For readiness checks: it changes nothing.
   */
  ping(): Promise<void>;

  close(): Promise<void>;
}
