import { resolve } from 'node:path';
import type { Database } from 'better-sqlite3';
import { conflict, invalid, isPapgateError, notFound, unavailable } from '../../domain/errors';
import type { AllowEntry, AuditEvent, Device, Locale, Site, Tenant, TemporaryTrust } from '../../domain/types';
import type { Logger } from '../../ports/logger';
import type { DeviceChange, DeviceFilter, NewSite, NewTenant, SiteChange, Store, StoredRegistration } from '../../ports/store';
import type { ClaimLimits, DeliveryOutcome, WebhookConfig, WebhookDelivery } from '../../ports/webhooks';
import { emergencyNumbersColumn } from '../sql-rows';
import { schemaVersion, type MigrationReport } from './migrate';
import { auditParams, deviceRowOf, toAudit, toDevice, toSite, toTenant } from './rows';
import { bulkInsert } from './bulk-insert';
import { Checkpointer, WAL_BACKSTOP_FRAMES } from './checkpointer';
import { DeviceCache } from './device-cache';
import { DeviceDirectory, directorySource } from './device-directory';
import { LastSeenQueue } from './last-seen';
import { MutationGroups, type Mutation, type MutationOutcome } from './mutation-groups';
import { isForeignKey, isSqliteError, isUnique } from './sqlite-errors';
import { LockRelease } from './lock-retry';
import { StoreCalls } from './store-calls';
import { prepareStatements, type Statements } from './statements';
import { RegistrationSaveBatcher, SqliteRegistrations } from './registrations';
import { buildTransactions, deviceError, noTenant, tenantName, Written, type Transactions } from './transactions';
import { SiteCache } from './site-cache';
import { TrustCache } from './trust-cache';
import { DataVersion } from './data-version';
import { SqliteWebhooks } from './webhooks';

type NewAudit = Omit<AuditEvent, 'id'>;

/**
 * Rows (devices + audit events) from which an insert runs on a worker thread:
 * inline, 1000 rows hold the event loop for a few ms at most.
 */
const BULK_ROWS = 1000;

/** Expired temporary-trust rows are deleted at most this often (in the callers' time). */
const PURGE_INTERVAL_MS = 10 * 60_000;

/**
 * The Store port over better-sqlite3. Every call runs synchronously on the
 * caller's thread; writes that touch more than one row run in one
 * BEGIN IMMEDIATE transaction (transactions.ts), which takes the write lock
 * before the first read, so read-check-write sequences cannot interleave
 * across processes. The connection never waits inside SQLite for another
 * connection's lock: a locked call is run again from a timer (lock-retry.ts).
 * Open it with openSqliteStore (open.ts).
 */
export class SqliteStore implements Store {
  private readonly q: Statements;
  /** Runs each call: closed check, lock waits, error translation (store-calls.ts). */
  private readonly calls: StoreCalls;
  /** Allow-lists and trust windows per tenant; exact, see trust-cache.ts. */
  private readonly trust: TrustCache;
  private readonly sites: SiteCache;
  /** `data_version` as last read, which every copy above is checked against (data-version.ts). */
  private readonly dataVersion: DataVersion;
  private readonly tx: Transactions;
  private closed = false;
  private lastPurge = -Infinity;
  private checkpointer: Checkpointer | undefined;
  /** Ends the pauses of calls waiting for the write lock when the checkpoint worker lets it go. */
  private readonly lockRelease = new LockRelease();
  private readonly registrations: SqliteRegistrations;
  private readonly registrationSaves = new RegistrationSaveBatcher((batch) =>
    this.calls.run('save the registrations', () => this.registrations.saveAll(batch)),
  );
  private readonly webhooks: SqliteWebhooks;
  private readonly bulkInserts = new Set<Promise<unknown>>();
  /** Phones' last addresses, written behind (last-seen.ts). */
  private readonly lastSeen: LastSeenQueue;
  /** Devices polled again; exact, see device-cache.ts. */
  private readonly devices = new DeviceCache();
  /** Every device, in the process that answers phones when it is the only one (device-directory.ts, open-store.ts). */
  private directory: DeviceDirectory | undefined;
  /** Device mutations of one event-loop turn, committed together. */
  private readonly mutations = new MutationGroups({
    alone: (m) => this.mutateAlone(m),
    together: (group) => this.mutateTogether(group),
    isUnavailable: (e) => isPapgateError(e) && e.code === 'unavailable',
  });

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    /** What opening did to the schema (from === to: nothing applied). */
    readonly migrations: MigrationReport,
    private readonly busyTimeoutMs: number,
  ) {
    this.calls = new StoreCalls(
      log,
      busyTimeoutMs,
      () => this.closed,
      (ms) => this.lockRelease.pause(ms),
    );
    this.q = prepareStatements(db);
    this.dataVersion = new DataVersion(() => this.q.dataVersion.get()!);
    this.registrations = new SqliteRegistrations(db, this.dataVersion);
    this.webhooks = new SqliteWebhooks(db);
    this.trust = new TrustCache({ load: (tenantId) => this.tx.readTrust(tenantId) }, this.dataVersion);
    this.sites = new SiteCache((id) => mapOrNull(this.q.siteById.get(id), toSite), this.dataVersion);
    this.tx = buildTransactions(
      db,
      this.q,
      this.trust,
      {
        // data_version read inside the write transaction: nothing can commit meanwhile, so a copy exact at it is the row.
        exact: (mac, version) => {
          if (this.directory?.ready !== true) return undefined;
          const now = version();
          this.dataVersion.observe(now);
          return this.directory.find(mac, now);
        },
        forget: (mac) => this.devices.forget(mac),
        followsLog: () => this.directory !== undefined,
      },
      (e) => this.webhooks.add(e),
    );
    this.lastSeen = new LastSeenQueue((values) => {
      this.tx.writeLastSeen.immediate(values);
      for (const [mac, v] of values) {
        this.devices.forget(mac);
        this.directory?.touch(mac, v.ip, v.at);
      }
    }, log);
  }

  /** The schema version recorded in the file (a read: under WAL it never waits for a writer). */
  schemaVersion(): number {
    if (this.closed) throw unavailable('cannot read the schema version: the store is closed');
    return schemaVersion(this.db);
  }

  // tenants

  async createTenant(t: NewTenant): Promise<Tenant> {
    return this.calls.run('create the tenant', () => {
      try {
        const row = this.q.insertTenant.get({ name: t.name, locale: t.locale, token_hash: t.tokenHash, created_at: t.createdAt });
        return toTenant(row!);
      } catch (e) {
        // SQLite names only the first index it tripped on; the name is what a person recognises.
        if (isUnique(e, 'name') || (isUnique(e, 'token_hash') && this.q.tenantByName.get(t.name))) {
          throw conflict(`tenant ${t.name} already exists`, 'name');
        }
        if (isUnique(e, 'token_hash')) throw conflict('that admin token is already used by another tenant', 'token');
        throw e;
      }
    });
  }

  async getTenantByName(name: string): Promise<Tenant | null> {
    return this.calls.run('read the tenant', () => mapOrNull(this.q.tenantByName.get(name), toTenant));
  }

  async getTenantById(id: number): Promise<Tenant | null> {
    return this.calls.run('read the tenant', () => mapOrNull(this.q.tenantById.get(id), toTenant));
  }

  async getTenantByTokenHash(tokenHash: string): Promise<Tenant | null> {
    return this.calls.run('read the tenant', () => mapOrNull(this.q.tenantByTokenHash.get(tokenHash), toTenant));
  }

  async setTenantTokenHash(tenantId: number, tokenHash: string): Promise<void> {
    return this.calls.run('change the tenant token', () => {
      try {
        if (this.q.setTenantTokenHash.run(tokenHash, tenantId).changes === 0) throw noTenant(tenantId);
      } catch (e) {
        if (isUnique(e, 'token_hash')) throw conflict('that admin token is already used by another tenant', 'token');
        throw e;
      }
    });
  }

  async setTenantLocale(tenantId: number, locale: Locale): Promise<void> {
    return this.calls.run('change the tenant locale', () => {
      if (this.q.setTenantLocale.run(locale, tenantId).changes === 0) throw noTenant(tenantId);
    });
  }

  async listTenants(): Promise<Tenant[]> {
    return this.calls.run('list tenants', () => this.q.listTenants.all().map(toTenant));
  }

  // sites

  async createSite(s: NewSite): Promise<Site> {
    return this.calls.run('create the site', () => {
      try {
        const site = toSite(
          this.q.insertSite.get({
            tenant_id: s.tenantId,
            name: s.name,
            locale: s.locale,
            emergency_numbers: emergencyNumbersColumn(s.emergencyNumbers),
          })!,
        );
        this.sites.drop(site.id);
        return site;
      } catch (e) {
        if (isUnique(e, 'name')) throw conflict(`site ${s.name} already exists for ${tenantName(this.q, s.tenantId)}`, 'name');
        if (isForeignKey(e)) throw noTenant(s.tenantId);
        throw e;
      }
    });
  }

  async updateSite(id: number, change: SiteChange): Promise<void> {
    await this.calls.run('change the site', () => {
      this.sites.drop(id);
      if (this.q.updateSite.run(change.locale, emergencyNumbersColumn(change.emergencyNumbers), id).changes === 0) throw notFound(`no site with id ${id}`);
    });
  }

  async getSite(tenantId: number, name: string): Promise<Site | null> {
    return this.calls.run('read the site', () => mapOrNull(this.q.siteByName.get(tenantId, name), toSite));
  }

  async getSiteById(id: number): Promise<Site | null> {
    // Kept: every request of a phone at a site reads it (site-cache.ts).
    return this.calls.run('read the site', () => this.sites.get(id));
  }

  async listSites(tenantId: number): Promise<Site[]> {
    return this.calls.run('list sites', () => this.q.listSites.all(tenantId).map(toSite));
  }

  // devices

  /** Small batches inline; large ones (a CSV import) on a worker thread, still one transaction (bulk-insert.ts). */
  async insertDevices(devices: Device[], audit: NewAudit[]): Promise<void> {
    if (devices.length + audit.length < BULK_ROWS || this.db.memory) {
      return this.calls.run('save the devices', () => {
        for (const d of devices) this.forgetDevice(d.mac); // with the write, which may wait for the lock: no read in between
        return this.tx.insertDevices.immediate(devices, audit);
      });
    }
    if (this.closed) throw unavailable('cannot save the devices: the store is closed');
    const inserting = bulkInsert(resolve(this.db.name), devices, audit, this.busyTimeoutMs);
    this.bulkInserts.add(inserting);
    try {
      const outcome = await inserting;
      if (outcome.ok) {
        this.log.info({ devices: devices.length, lockHeldMs: outcome.lockHeldMs }, 'bulk insert committed');
        return;
      }
      const failed = Object.assign(new Error(outcome.message), { code: outcome.code ?? 'SQLITE_ERROR' });
      throw outcome.at >= 0 ? deviceError(this.q, failed, devices[outcome.at]!, 'insert') : failed;
    } catch (e) {
      throw this.calls.error(e, 'save the devices');
    } finally {
      this.bulkInserts.delete(inserting);
    }
  }

  getDevice(mac: string): Promise<Device | null> {
    return this.calls.run('read the device', () =>
      this.readDevice(
        (version) => this.directory?.find(mac, version),
        this.devices.has(mac),
        (version) => this.devices.get(mac, version),
        () => this.q.deviceByMac.get(mac),
        (device) => this.directory?.settle(mac, device),
      ),
    );
  }

  /** Every digest REGISTER reads its device: kept like a device polled again (device-cache.ts). */
  getDeviceBySipUsername(username: string): Promise<Device | null> {
    return this.calls.run('read the device', () =>
      this.readDevice(
        (version) => this.directory?.findBySipUsername(username, version),
        this.devices.hasSipUsername(username),
        (version) => this.devices.getBySipUsername(username, version),
        () => this.q.deviceBySipUsername.get(username),
        (device) => device && this.directory?.settle(device.mac, device),
      ),
    );
  }

  /**
   * The device from the directory when this process keeps one and has it,
   * else this process's exact copy when it has one still valid at the
   * current data_version, else the row, kept as the new copy (the directory's when it answers). Either way with
   * its address still waiting to be written.
   *
   * Before a row is read, data_version is read afresh (the trust windows
   * that decide the same request go by that reading, so another process's
   * change of them counts at once), and the copy is labelled with it: the
   * row is at least that new, so a commit in between can only retire the
   * copy early, never keep a stale one. (Reading data_version in the row's
   * own statement, through `pragma_data_version()`, prepared a PRAGMA for
   * every row.)
   */
  private readDevice(
    inDirectory: (version: number) => Device | undefined,
    isKept: boolean,
    kept: (version: number) => Device | undefined,
    readRow: () => unknown[] | undefined,
    /** Tells the directory what the row said. */
    settle: (device: Device | null) => void,
  ): Device | null {
    if (this.directory !== undefined) {
      // Not there: another process may have added it since the last reading; its row, after a fresh one, decides.
      const device = inDirectory(this.dataVersion.current());
      if (device !== undefined) return this.lastSeen.overlay(device);
    }
    if (isKept) {
      const copy = kept(this.dataVersion.current());
      if (copy !== undefined) return this.lastSeen.overlay(copy);
    }
    const version = this.dataVersion.fresh();
    const values = readRow();
    const device = values === undefined ? null : toDevice(deviceRowOf(values));
    settle(device);
    if (device === null) return null;
    // A directory that answers keeps the row itself (settle): a second copy here would never be asked for.
    if (this.directory?.ready !== true) this.devices.put(device, version);
    return this.lastSeen.overlay(device);
  }

  async listDevices(tenantId: number, filter: DeviceFilter = {}): Promise<Device[]> {
    const page = {
      limit: filter.limit === undefined ? -1 : count('limit', filter.limit),
      offset: filter.offset === undefined ? 0 : count('offset', filter.offset),
    };
    return this.calls.run('list devices', () => {
      const rows =
        filter.siteId === undefined
          ? this.q.devicesByTenant.all({ tenant_id: tenantId, ...page })
          : this.q.devicesBySite.all({ tenant_id: tenantId, site_id: filter.siteId, ...page });
      return rows.map((r) => this.lastSeen.overlay(toDevice(r)));
    });
  }

  async countDevices(tenantId?: number): Promise<number> {
    return this.calls.run('count devices', () => (tenantId === undefined ? this.q.countAllDevices.get()!.n : this.q.countTenantDevices.get(tenantId)!.n));
  }

  /** Deletes the device; the audit event is written only if it existed. */
  async deleteDevice(mac: string, audit: NewAudit): Promise<boolean> {
    return this.calls.run('delete the device', () => {
      this.forgetDevice(mac); // with the write, which may wait for the lock: no read in between
      return this.tx.deleteDevice.immediate(mac, audit);
    });
  }

  /**
   * Runs `mutate` inside one BEGIN IMMEDIATE transaction. `next` updates the
   * device (or inserts it when `mutate` saw null); it may not change the MAC.
   * If `mutate` throws, nothing is written and the same error is rethrown.
   * Mutations of one event-loop turn share the transaction, each settling
   * after its commit (mutation-groups.ts).
   */
  async mutateDevice<T>(mac: string, mutate: (device: Device | null) => DeviceChange<T>): Promise<T> {
    if (this.closed) throw unavailable('cannot update the device: the store is closed');
    return this.mutations.add(mac, mutate) as Promise<T>;
  }

  /*
   * A copy may not outlive a write. The transaction drops the device cache's
   * copies as it writes; the directory's are replaced by what was written once
   * it committed (`keepWritten`), and dropped when the transaction failed
   * (rolled back, the copy would still be exact; the store does not rely on it).
   */
  private mutateAlone(m: Mutation): Promise<unknown> {
    const one = this.lastSeen.tracking(m);
    return this.calls.run('update the device', () => {
      const written = new Written();
      let result: unknown;
      try {
        result = this.tx.mutateDevice.immediate(one.mac, one.mutate, written);
      } catch (e) {
        this.directory?.forget(one.mac);
        throw e;
      }
      this.keepWritten(written);
      one.settle();
      return result;
    });
  }

  private async mutateTogether(group: readonly Mutation[]): Promise<MutationOutcome[]> {
    const each = group.map((m) => this.lastSeen.tracking(m));
    const outcomes = await this.calls.run('update the devices', () => {
      const written = new Written();
      let committed: MutationOutcome[];
      try {
        committed = this.tx.mutateDevices.immediate(each, written);
      } catch (e) {
        for (const m of group) this.directory?.forget(m.mac);
        throw e;
      }
      this.keepWritten(written);
      return committed;
    });
    return outcomes.map((o, i) => {
      if (!o.ok) return { ok: false, error: this.calls.error(o.error, 'update the device') };
      each[i]!.settle();
      return o;
    });
  }

  /** Written behind, in batches (last-seen.ts); waits only when too many are pending. */
  async recordLastSeen(mac: string, ip: string, at: number): Promise<void> {
    if (this.closed) throw unavailable('cannot record where the phone was seen: the store is closed');
    if (this.lastSeen.add(mac, ip, at)) await this.calls.run('record where phones were seen', () => this.lastSeen.flush());
  }

  // trust

  /** Adds the entry; the audit event is written in the same transaction. */
  async addAllowEntry(e: AllowEntry, audit: NewAudit): Promise<AllowEntry> {
    return this.calls.run('add the allow-list entry', () => {
      try {
        return this.tx.addAllowEntry.immediate(e, audit);
      } finally {
        this.trust.drop(e.tenantId);
      }
    });
  }

  /** Removes the entry; the audit event is written only if it existed. */
  async removeAllowEntry(tenantId: number, cidr: string, audit: NewAudit): Promise<boolean> {
    return this.calls.run('remove the allow-list entry', () => {
      try {
        return this.tx.removeAllowEntry.immediate(tenantId, cidr, audit);
      } finally {
        this.trust.drop(tenantId);
      }
    });
  }

  listAllowEntries(tenantId: number): Promise<AllowEntry[]> {
    return this.calls.run('list the allow-list', () => this.trust.permanent(tenantId));
  }

  listTemporaryTrust(tenantId: number, now: number): Promise<TemporaryTrust[]> {
    return this.calls.run('list temporary trust', () => {
      if (now - this.lastPurge >= PURGE_INTERVAL_MS) this.purgeExpiredTrust(now);
      return this.trust.temporary(tenantId, now);
    });
  }

  // registrations

  async saveRegistration(r: StoredRegistration, now: number): Promise<void> {
    if (this.closed) throw unavailable('cannot save the registration: the store is closed');
    return this.registrationSaves.save(r, now);
  }

  async getRegistration(username: string, now: number): Promise<StoredRegistration | null> {
    return this.calls.run('read the registration', () => this.registrations.get(username, now));
  }

  async deleteRegistration(username: string): Promise<boolean> {
    return this.calls.run('delete the registration', () => this.registrations.delete(username));
  }

  // webhooks

  async setWebhook(w: WebhookConfig): Promise<void> {
    return this.calls.run('save the webhook', () => this.webhooks.set(w));
  }

  async getWebhook(tenantId: number): Promise<WebhookConfig | null> {
    return this.calls.run('read the webhook', () => this.webhooks.get(tenantId));
  }

  async deleteWebhook(tenantId: number): Promise<boolean> {
    return this.calls.run('delete the webhook', () => this.webhooks.deleteTx(tenantId));
  }

  async claimWebhookDeliveries(now: number, limits: ClaimLimits): Promise<WebhookDelivery[]> {
    return this.calls.run('claim webhook deliveries', () => this.webhooks.claim(now, limits));
  }

  async finishWebhookDelivery(o: DeliveryOutcome): Promise<void> {
    return this.calls.run('record the webhook delivery', () => this.webhooks.finished(o));
  }

  async releaseWebhookClaim(seq: number): Promise<void> {
    return this.calls.run('give back a webhook claim', () => this.webhooks.released(seq));
  }

  async listWebhookDeliveries(tenantId: number, limit: number): Promise<WebhookDelivery[]> {
    const n = count('limit', limit);
    return this.calls.run('list webhook deliveries', () => this.webhooks.list(tenantId, n));
  }

  // audit

  async appendAudit(e: NewAudit): Promise<void> {
    return this.calls.run('write the audit log', () => {
      this.q.insertAudit.run(auditParams(e));
    });
  }

  /** Newest first; `tenantId` null lists every tenant's events (and those of none). */
  async listAudit(tenantId: number | null, limit: number): Promise<AuditEvent[]> {
    const n = count('limit', limit);
    return this.calls.run('read the audit log', () => (tenantId === null ? this.q.auditAll.all(n) : this.q.auditByTenant.all(tenantId, n)).map(toAudit));
  }

  /**
   * Checkpoints the WAL on a timer instead of inside whichever commit crosses
   * SQLite's 1000-page threshold: a pass every `ms` rather than one every few
   * hundred provisioning writes, and off the event loop (checkpointer.ts).
   * The automatic checkpoint stays as a backstop (at a higher threshold) in
   * case the timer cannot run. `frames`: the WAL lengths at which the worker
   * finishes the WAL and the backstop runs (RESTART_FRAMES and
   * WAL_BACKSTOP_FRAMES by default; tests make them small).
   */
  startCheckpoints(ms: number, frames: { restart?: number; backstop?: number } = {}): void {
    // An in-memory database has no WAL to checkpoint.
    if (this.closed || this.checkpointer || ms <= 0 || this.db.memory) return;
    this.db.pragma(`wal_autocheckpoint = ${Math.floor(frames.backstop ?? WAL_BACKSTOP_FRAMES)}`);
    this.checkpointer = Checkpointer.start(this.db.name, ms, this.log, () => this.lockRelease.released(), frames.restart);
  }

  /**
   * Keeps every device in memory from now on, loaded in the background
   * (device-directory.ts): for a process that answers phones. About 0.8 KB
   * a device.
   */
  keepDeviceDirectory(): void {
    if (this.closed || this.directory) return;
    this.directory = new DeviceDirectory(directorySource(this.db, this.q), this.log, (version) => this.dataVersion.observe(version));
    this.directory.start();
  }

  /** Whether every device is in memory now, and how many there are (null: this process keeps none). */
  get devicesInMemory(): { ready: boolean; devices: number } | null {
    return this.directory ? { ready: this.directory.ready, devices: this.directory.size } : null;
  }

  /** Takes the write lock without waiting and lets it go at once: proves a write could happen now. */
  async ping(): Promise<void> {
    return this.calls.run(
      'take the write lock',
      () => {
        this.db.exec('BEGIN IMMEDIATE; ROLLBACK');
      },
      0,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const mutationsDone = this.mutations.drain(); // first tries run before `closed` refuses them
    this.closed = true;
    await mutationsDone;
    // A bulk insert's worker has a connection of its own: let it finish (or fail) and close it first.
    await Promise.allSettled([...this.bulkInserts]);
    await this.lastSeen.close(this.busyTimeoutMs);
    await this.directory?.stop();
    await this.checkpointer?.stop();
    this.db.close();
  }

  /**
   * Committed just now: the directory keeps the devices as written, so the
   * next write of one (its next full configuration, a PAP attempt) or a
   * read of it needs no row either. The device cache does not: it keeps
   * only devices read again (device-cache.ts), and forgot these.
   */
  private keepWritten(written: Written): void {
    if (this.directory === undefined) return;
    for (const [mac, device] of written.devices) this.directory.settle(mac, device);
    if (written.newestChange !== undefined && written.version !== undefined) this.directory.ownChanges(written.version, written.newestChange);
  }

  /** This process is about to write the device: no copy may outlive the write, committed or not. */
  private forgetDevice(mac: string): void {
    this.devices.forget(mac);
    this.directory?.forget(mac);
  }

  /** Best effort, never waits for the write lock: a busy database just defers it. */
  private purgeExpiredTrust(now: number): void {
    this.lastPurge = now;
    this.trust.clear();
    try {
      this.q.purgeTrust.run(now);
    } catch (e) {
      if (!isSqliteError(e)) throw e;
      this.log.debug({ code: e.code }, 'expired trust not purged this time');
    }
  }
}

function mapOrNull<R, V>(row: R | undefined, map: (r: R) => V): V | null {
  return row === undefined ? null : map(row);
}

/** Limits and offsets: whole numbers from 0. */
function count(field: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw invalid(field, `${field} must be a whole number of 0 or more`);
  return n;
}
