import type { Pool, PoolClient } from 'pg';
import { conflict, invalid, isPapgateError, notFound, unavailable } from '../../domain/errors';
import type { AllowEntry, AuditEvent, Device, Locale, Site, Tenant, TemporaryTrust } from '../../domain/types';
import type { Logger } from '../../ports/logger';
import {
  TRUST_EXTENSION_STEP_MS,
  type DeviceChange,
  type DeviceFilter,
  type NewSite,
  type NewTenant,
  type SiteChange,
  type Store,
  type StoredRegistration,
} from '../../ports/store';
import type { ClaimLimits, DeliveryOutcome, WebhookConfig, WebhookDelivery } from '../../ports/webhooks';
import { emergencyNumbersColumn } from '../sql-rows';
import { CallerError, inTransaction, run } from './db';
import { DeviceWriteError, deviceWriteError, insertDevice, noTenant, updateDevice } from './device-writes';
import { isForeignKey, isPgServerError, isUnique, translatePgError } from './pg-errors';
import {
  auditValues,
  registrationValues,
  toAllowEntry,
  toAudit,
  toDevice,
  toRegistration,
  toSite,
  toTenant,
  toTrust,
  type AllowEntryRow,
  type AuditRow,
  type DeviceRow,
  type RegistrationRow,
  type SiteRow,
  type TenantRow,
  type TrustRow,
} from './rows';
import { PostgresWebhooks } from './webhooks';

type NewAudit = Omit<AuditEvent, 'id'>;

/** Expired trust windows and lapsed registrations are deleted at most this often (in the callers' time). */
const PURGE_INTERVAL_MS = 10 * 60_000;

/**
 * The Store port over PostgreSQL (a `pg` Pool). Shared by every process and
 * node: nothing is cached here, each call reads the database. Writes that
 * touch several rows run in one transaction; mutateDevice locks the device
 * row (SELECT ... FOR UPDATE) from the read to the write, so attempts from
 * any number of nodes queue on it. Open it with openPostgresStore (open.ts).
 */
export class PostgresStore implements Store {
  private closed = false;
  private lastTrustPurge = -Infinity;
  private lastRegistrationSweep = -Infinity;

  private readonly webhooks: PostgresWebhooks;

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
  ) {
    this.webhooks = new PostgresWebhooks(pool);
  }

  // tenants

  async createTenant(t: NewTenant): Promise<Tenant> {
    return this.call('create the tenant', async () => {
      try {
        return toTenant((await run<TenantRow>(this.pool, 'insertTenant', [t.name, t.locale, t.tokenHash, t.createdAt])).rows[0]!);
      } catch (e) {
        // Only one violated index is reported; the name is what a person recognises.
        if (isUnique(e, 'tenants_name_key') || (isUnique(e, 'tenants_token_hash_key') && (await this.getTenantByName(t.name)))) {
          throw conflict(`tenant ${t.name} already exists`, 'name');
        }
        if (isUnique(e, 'tenants_token_hash_key')) throw conflict('that admin token is already used by another tenant', 'token');
        throw e;
      }
    });
  }

  async getTenantByName(name: string): Promise<Tenant | null> {
    return this.one('read the tenant', 'tenantByName', [name], toTenant);
  }

  async getTenantById(id: number): Promise<Tenant | null> {
    return this.one('read the tenant', 'tenantById', [id], toTenant);
  }

  async getTenantByTokenHash(tokenHash: string): Promise<Tenant | null> {
    return this.one('read the tenant', 'tenantByTokenHash', [tokenHash], toTenant);
  }

  async setTenantTokenHash(tenantId: number, tokenHash: string): Promise<void> {
    await this.call('change the tenant token', async () => {
      try {
        if ((await run(this.pool, 'setTenantTokenHash', [tokenHash, tenantId])).rowCount === 0) throw noTenant(tenantId);
      } catch (e) {
        if (isUnique(e, 'tenants_token_hash_key')) throw conflict('that admin token is already used by another tenant', 'token');
        throw e;
      }
    });
  }

  async setTenantLocale(tenantId: number, locale: Locale): Promise<void> {
    await this.call('change the tenant locale', async () => {
      if ((await run(this.pool, 'setTenantLocale', [locale, tenantId])).rowCount === 0) throw noTenant(tenantId);
    });
  }

  async listTenants(): Promise<Tenant[]> {
    return this.all('list tenants', 'listTenants', [], toTenant);
  }

  // sites

  async createSite(s: NewSite): Promise<Site> {
    return this.call('create the site', async () => {
      try {
        return toSite((await run<SiteRow>(this.pool, 'insertSite', [s.tenantId, s.name, s.locale, emergencyNumbersColumn(s.emergencyNumbers)])).rows[0]!);
      } catch (e) {
        if (isUnique(e, 'sites_tenant_name_key')) throw conflict(`site ${s.name} already exists for ${await this.tenantName(s.tenantId)}`, 'name');
        if (isForeignKey(e)) throw noTenant(s.tenantId);
        throw e;
      }
    });
  }

  async updateSite(id: number, change: SiteChange): Promise<void> {
    await this.call('change the site', async () => {
      const r = await run(this.pool, 'updateSite', [change.locale, emergencyNumbersColumn(change.emergencyNumbers), id]);
      if (r.rowCount === 0) throw notFound(`no site with id ${id}`);
    });
  }

  async getSite(tenantId: number, name: string): Promise<Site | null> {
    return this.one('read the site', 'siteByName', [tenantId, name], toSite);
  }

  async getSiteById(id: number): Promise<Site | null> {
    return this.one('read the site', 'siteById', [id], toSite);
  }

  async listSites(tenantId: number): Promise<Site[]> {
    return this.all('list sites', 'listSites', [tenantId], toSite);
  }

  // devices

  async insertDevices(devices: Device[], audit: NewAudit[]): Promise<void> {
    await this.writeDevices('save the devices', async (c) => {
      for (const d of devices) await insertDevice(c, d);
      for (const a of audit) await run(c, 'insertAudit', auditValues(a));
    });
  }

  async getDevice(mac: string): Promise<Device | null> {
    return this.one('read the device', 'deviceByMac', [mac], toDevice);
  }

  async getDeviceBySipUsername(username: string): Promise<Device | null> {
    return this.one('read the device', 'deviceBySipUsername', [username], toDevice);
  }

  async listDevices(tenantId: number, filter: DeviceFilter = {}): Promise<Device[]> {
    const limit = filter.limit === undefined ? null : count('limit', filter.limit);
    const offset = filter.offset === undefined ? 0 : count('offset', filter.offset);
    return filter.siteId === undefined
      ? this.all('list devices', 'devicesByTenant', [tenantId, limit, offset], toDevice)
      : this.all('list devices', 'devicesBySite', [tenantId, limit, offset, filter.siteId], toDevice);
  }

  async countDevices(tenantId?: number): Promise<number> {
    const rows =
      tenantId === undefined
        ? await this.all('count devices', 'countAllDevices', [], (r: { n: number }) => r.n)
        : await this.all('count devices', 'countTenantDevices', [tenantId], (r: { n: number }) => r.n);
    return rows[0] ?? 0;
  }

  /** Deletes the device; the audit event is written only if it existed. */
  async deleteDevice(mac: string, audit: NewAudit): Promise<boolean> {
    return this.call('delete the device', () =>
      inTransaction(this.pool, async (c) => {
        if ((await run(c, 'deleteDevice', [mac])).rowCount === 0) return false;
        await run(c, 'insertAudit', auditValues(audit));
        return true;
      }),
    );
  }

  /**
   * Runs `mutate` inside one transaction holding the device's row lock.
   * `next` updates the device (or inserts it when `mutate` saw null); it may
   * not change the MAC. If `mutate` throws, nothing is written and the same
   * error is rethrown.
   */
  async mutateDevice<T>(mac: string, mutate: (device: Device | null) => DeviceChange<T>): Promise<T> {
    return this.writeDevices('update the device', async (c) => {
      let row = (await run<DeviceRow>(c, 'deviceByMacForUpdate', [mac])).rows[0];
      if (!row) {
        await run(c, 'lockUnknownMac', [mac]);
        row = (await run<DeviceRow>(c, 'deviceByMacForUpdate', [mac])).rows[0];
      }
      let change: DeviceChange<T>;
      try {
        change = mutate(row ? toDevice(row) : null);
      } catch (e) {
        throw new CallerError(e);
      }
      if (change.next) {
        if (change.next.mac !== mac) throw invalid('mac', `a device's MAC cannot change (${mac} to ${change.next.mac})`);
        if (row) await updateDevice(c, row, change.next);
        else await insertDevice(c, change.next);
      }
      for (const a of change.audit ?? []) await run(c, 'insertAudit', auditValues(a));
      for (const t of change.trust ?? []) await this.upsertTrust(c, t);
      for (const e of change.webhookEvents ?? []) await this.webhooks.add(c, e);
      return change.result;
    });
  }

  /** One UPDATE on the pool: last-seen is written at once, no transaction or row lock. */
  async recordLastSeen(mac: string, ip: string, at: number): Promise<void> {
    await this.call('record where the phone was seen', () => run(this.pool, 'touchDevice', [mac, ip, at]));
  }

  // trust

  /** Adds the entry; the audit event is written in the same transaction. */
  async addAllowEntry(e: AllowEntry, audit: NewAudit): Promise<AllowEntry> {
    return this.call('add the allow-list entry', async () => {
      try {
        await inTransaction(this.pool, async (c) => {
          await run(c, 'insertAllowEntry', [e.tenantId, e.cidr, e.createdAt]);
          await run(c, 'insertAudit', auditValues(audit));
        });
      } catch (err) {
        if (isUnique(err, 'allow_entries_pkey')) {
          throw conflict(`${e.cidr} is already on the allow-list of ${await this.tenantName(e.tenantId)}`, 'cidr');
        }
        throw isForeignKey(err) ? noTenant(e.tenantId) : err;
      }
      return { tenantId: e.tenantId, cidr: e.cidr, createdAt: e.createdAt };
    });
  }

  /** Removes the entry; the audit event is written only if it existed. */
  async removeAllowEntry(tenantId: number, cidr: string, audit: NewAudit): Promise<boolean> {
    return this.call('remove the allow-list entry', () =>
      inTransaction(this.pool, async (c) => {
        if ((await run(c, 'deleteAllowEntry', [tenantId, cidr])).rowCount === 0) return false;
        await run(c, 'insertAudit', auditValues(audit));
        return true;
      }),
    );
  }

  async listAllowEntries(tenantId: number): Promise<AllowEntry[]> {
    return this.all('list the allow-list', 'listAllowEntries', [tenantId], (r: AllowEntryRow) => toAllowEntry(r));
  }

  async listTemporaryTrust(tenantId: number, now: number): Promise<TemporaryTrust[]> {
    if (now - this.lastTrustPurge >= PURGE_INTERVAL_MS)
      await this.purge('purgeTrust', now, (t) => {
        this.lastTrustPurge = t;
      });
    return this.all('list temporary trust', 'openTrust', [tenantId, now], (r: TrustRow) => toTrust(r));
  }

  // registrations

  async saveRegistration(r: StoredRegistration, now: number): Promise<void> {
    if (now - this.lastRegistrationSweep >= PURGE_INTERVAL_MS) {
      await this.purge('sweepRegistrations', now, (t) => {
        this.lastRegistrationSweep = t;
      });
    }
    await this.call('save the registration', () => run(this.pool, 'upsertRegistration', registrationValues(r)));
  }

  async getRegistration(username: string, now: number): Promise<StoredRegistration | null> {
    return this.one('read the registration', 'registrationByUsername', [username, now], (r: RegistrationRow) => toRegistration(r));
  }

  async deleteRegistration(username: string): Promise<boolean> {
    return this.call('delete the registration', async () => (await run(this.pool, 'deleteRegistration', [username])).rowCount > 0);
  }

  // audit

  async appendAudit(e: NewAudit): Promise<void> {
    await this.call('write the audit log', () => run(this.pool, 'insertAudit', auditValues(e)));
  }

  /** Newest first; `tenantId` null lists every tenant's events (and those of none). */
  async listAudit(tenantId: number | null, limit: number): Promise<AuditEvent[]> {
    const n = count('limit', limit);
    return tenantId === null
      ? this.all('read the audit log', 'auditAll', [n], (r: AuditRow) => toAudit(r))
      : this.all('read the audit log', 'auditByTenant', [tenantId, n], (r: AuditRow) => toAudit(r));
  }

  /** Proves a write could happen now: the server answers and is not a read-only standby. */
  // webhooks

  async setWebhook(w: WebhookConfig): Promise<void> {
    await this.call('save the webhook', () => this.webhooks.set(w));
  }

  async getWebhook(tenantId: number): Promise<WebhookConfig | null> {
    return this.call('read the webhook', () => this.webhooks.get(tenantId));
  }

  async deleteWebhook(tenantId: number): Promise<boolean> {
    return this.call('delete the webhook', () => this.webhooks.delete(tenantId));
  }

  async claimWebhookDeliveries(now: number, limits: ClaimLimits): Promise<WebhookDelivery[]> {
    return this.call('claim webhook deliveries', () => this.webhooks.claim(now, limits));
  }

  async finishWebhookDelivery(o: DeliveryOutcome): Promise<void> {
    await this.call('record the webhook delivery', () => this.webhooks.finish(o));
  }

  async releaseWebhookClaim(seq: number): Promise<void> {
    await this.call('give back a webhook claim', () => this.webhooks.release(seq));
  }

  async listWebhookDeliveries(tenantId: number, limit: number): Promise<WebhookDelivery[]> {
    const n = count('limit', limit);
    return this.call('list webhook deliveries', () => this.webhooks.list(tenantId, n));
  }

  async ping(): Promise<void> {
    const ok = await this.one('reach the database', 'writable', [], (r: { ok: boolean }) => r.ok);
    if (!ok) throw unavailable('cannot take writes: the database is read-only (a standby?)');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  // helpers

  /** A transaction that writes devices; a failed device write is worded after the rollback. */
  private async writeDevices<T>(action: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return this.call(action, async () => {
      try {
        return await inTransaction(this.pool, fn);
      } catch (e) {
        if (e instanceof DeviceWriteError) throw await deviceWriteError(this.pool, e, (id) => this.tenantName(id));
        throw e;
      }
    });
  }

  private async upsertTrust(c: PoolClient, t: TemporaryTrust): Promise<void> {
    try {
      await run(c, 'upsertTrust', [t.tenantId, t.ip, t.until, TRUST_EXTENSION_STEP_MS]);
    } catch (e) {
      throw isForeignKey(e) ? noTenant(t.tenantId) : e;
    }
  }

  /** Best effort housekeeping: a failure is logged and retried next interval, the caller's read goes on. */
  private async purge(name: 'purgeTrust' | 'sweepRegistrations', now: number, done: (now: number) => void): Promise<void> {
    if (this.closed) return;
    done(now);
    try {
      await run(this.pool, name, [now]);
    } catch (e) {
      this.log.debug({ statement: name, code: isPgServerError(e) ? e.code : null }, 'housekeeping deferred');
    }
  }

  private async tenantName(id: number): Promise<string> {
    const t = (await run<TenantRow>(this.pool, 'tenantById', [id])).rows[0];
    return t ? `tenant ${t.name}` : `tenant ${id}`;
  }

  private async one<R, V>(action: string, name: Parameters<typeof run>[1], values: unknown[], map: (r: R) => V): Promise<V | null> {
    return (await this.all(action, name, values, map))[0] ?? null;
  }

  private async all<R, V>(action: string, name: Parameters<typeof run>[1], values: unknown[], map: (r: R) => V): Promise<V[]> {
    return this.call(action, async () => (await run(this.pool, name, values)).rows.map((r) => map(r as R)));
  }

  /** Runs one store call: refuses when closed, turns driver errors into PapgateErrors, rethrows the caller's own. */
  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw unavailable(`cannot ${action}: the store is closed`);
    try {
      return await fn();
    } catch (e) {
      if (e instanceof CallerError) throw e.error;
      if (isPapgateError(e)) throw e;
      const err = translatePgError(e, action);
      this.log.warn({ action, code: isPgServerError(e) ? e.code : ((e as { code?: unknown }).code ?? null), error: err.code }, 'store call failed');
      throw err;
    }
  }
}

/** Limits and offsets: whole numbers from 0. */
function count(field: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw invalid(field, `${field} must be a whole number of 0 or more`);
  return n;
}
