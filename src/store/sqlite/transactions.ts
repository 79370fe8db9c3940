import type { Database } from 'better-sqlite3';
import { conflict, invalid, notFound } from '../../domain/errors';
import type { AllowEntry, AuditEvent, Device, TemporaryTrust } from '../../domain/types';
import { TRUST_EXTENSION_STEP_MS, type DeviceChange } from '../../ports/store';
import type { NewWebhookEvent } from '../../ports/webhooks';
import { DeviceUpdates } from './device-update';
import { auditParams, deviceParams, deviceRowOf, toAllowEntry, toDevice, toTrust, type DeviceRow } from './rows';
import { isForeignKey, isUnique } from './sqlite-errors';
import type { Statements } from './statements';
import type { TrustCache, TrustRows } from './trust-cache';
import type { LastSeen } from './last-seen';
import type { Mutation, MutationOutcome } from './mutation-groups';

type NewAudit = Omit<AuditEvent, 'id'>;

/**
 * This process's exact in-memory copies of devices, as a write transaction
 * uses them. Inside the transaction the write lock is held, so a copy exact
 * at the `data_version` read there is the row itself.
 */
export interface DeviceCopies {
  /** The copy exact at `version` (`data_version` inside the transaction), if one is kept (the device directory's). */
  exact(mac: string, version: () => number): Device | undefined;
  /**
   * The transaction writes the device: a copy the store does not replace by
   * what was written, once committed, must go now (the device cache's).
   */
  forget(mac: string): void;
  /** Whether something keeps a place in the change log (the directory): then a transaction notes where the log ends. */
  followsLog(): boolean;
}

/** What a device mutation transaction wrote, for the store to apply once it committed. */
export class Written {
  /**
   * The devices as written, by MAC. Until the commit, a later mutation of
   * the same device in the transaction (a group's) decides on its entry
   * here, not on the older copy.
   */
  readonly devices = new Map<string, Device>();
  /** `data_version` as read in the transaction, once: nothing else can commit while it holds the write lock. */
  version: number | undefined;
  /** The newest entry of `device_changes` at the end of the transaction (when `followsLog`; `version` is read then too). */
  newestChange: number | undefined;
}

/**
 * The lines text of a row made from a copy, which does not keep it: never
 * JSON, so lines that are not the copy's very array always count as changed.
 */
const LINES_NOT_KEPT = '';

/**
 * The store's multi-statement writes, built once. better-sqlite3 wraps each
 * in BEGIN/COMMIT/ROLLBACK; the store calls them with `.immediate`, so the
 * write lock is taken before the first read and a read-check-write cannot
 * interleave with another connection's. Each one is synchronous from BEGIN to
 * COMMIT: no other request's statement can join it on the shared connection.
 */
export function buildTransactions(db: Database, q: Statements, trust: TrustCache, copies: DeviceCopies, enqueue: (e: NewWebhookEvent) => void) {
  const w = new RowWrites(db, q, trust);
  /**
   * Decides on the device as stored now: its exact copy when this process
   * keeps one (no row to read and decode: a tenth of a full configuration),
   * else its row, read inside the transaction (a call retried after a busy
   * answer decides on what is stored then). What it wrote goes into `written`.
   */
  const applyMutation = (mac: string, mutate: (d: Device | null) => DeviceChange<unknown>, written: Written): unknown => {
    const copy = written.devices.get(mac) ?? copies.exact(mac, () => versionIn(written));
    let row: DeviceRow | undefined;
    let stored: Device | null;
    if (copy !== undefined) {
      row = deviceParams(copy, LINES_NOT_KEPT);
      stored = copy;
    } else {
      const values = q.deviceByMac.get(mac);
      row = values && deviceRowOf(values);
      stored = row ? toDevice(row) : null;
    }
    const change = mutate(stored);
    if (change.next) {
      if (change.next.mac !== mac) throw invalid('mac', `a device's MAC cannot change (${mac} to ${change.next.mac})`);
      copies.forget(mac);
      if (row && stored) w.updateDevice(row, stored.lines, change.next, copy !== undefined);
      else w.insertDevice(change.next);
    }
    for (const a of change.audit ?? []) q.insertAudit.run(auditParams(a));
    for (const t of change.trust ?? []) w.upsertTrust(t);
    for (const e of change.webhookEvents ?? []) enqueue(e);
    // Last: a statement that failed above rolls the device back with it (a group's savepoint), and it is not kept.
    if (change.next) written.devices.set(mac, change.next);
    return change.result;
  };
  const versionIn = (written: Written): number => (written.version ??= q.dataVersion.get()!);
  /** Read last, under the write lock: no other connection can have added an entry or moved data_version since. */
  const noteLog = (written: Written): void => {
    if (!copies.followsLog()) return;
    versionIn(written);
    written.newestChange = q.newestChange.get() ?? 0;
  };
  /** One mutation of a group: a savepoint, so that a failing one is rolled back alone. */
  const mutateInGroup = db.transaction(applyMutation);
  return {
    insertDevices: db.transaction((devices: Device[], audit: NewAudit[]) => {
      for (const d of devices) w.insertDevice(d);
      for (const a of audit) q.insertAudit.run(auditParams(a));
    }),
    deleteDevice: db.transaction((mac: string, audit: NewAudit): boolean => {
      if (q.deleteDevice.run(mac).changes === 0) return false;
      q.insertAudit.run(auditParams(audit));
      return true;
    }),
    mutateDevice: db.transaction((mac: string, mutate: (d: Device | null) => DeviceChange<unknown>, written: Written): unknown => {
      const result = applyMutation(mac, mutate, written);
      noteLog(written);
      return result;
    }),
    /**
     * A group of mutations in one transaction (mutation-groups.ts): inside
     * it, each runs under a savepoint (`mutateInGroup`), so a failing one is
     * rolled back alone. An error that ended the whole transaction is thrown.
     */
    mutateDevices: db.transaction((group: readonly Mutation[], written: Written): MutationOutcome[] => {
      const outcomes = group.map(({ mac, mutate }): MutationOutcome => {
        try {
          return { ok: true, value: mutateInGroup(mac, mutate, written) };
        } catch (error) {
          if (!db.inTransaction) throw error;
          return { ok: false, error };
        }
      });
      noteLog(written);
      return outcomes;
    }),
    /** Phones' last addresses (last-seen.ts), never moving a time backwards. */
    writeLastSeen: db.transaction((values: ReadonlyMap<string, LastSeen>) => {
      for (const [mac, v] of values) q.touchDevice.run(v.ip, v.at, mac, v.at);
    }),
    /** One tenant's trust rows in one read transaction, with the data_version they go with. */
    readTrust: db.transaction((tenantId: number): TrustRows => ({
      version: q.dataVersion.get()!,
      permanent: q.listAllowEntries.all(tenantId).map((r) => Object.freeze(toAllowEntry(r))),
      temporary: q.trustByTenant.all(tenantId).map((r) => Object.freeze(toTrust(r))),
    })),
    addAllowEntry: db.transaction((e: AllowEntry, audit: NewAudit): AllowEntry => {
      try {
        q.insertAllowEntry.run(e.tenantId, e.cidr, e.createdAt);
      } catch (err) {
        if (isUnique(err, 'cidr')) {
          throw conflict(`${e.cidr} is already on the allow-list of ${tenantName(q, e.tenantId)}`, 'cidr');
        }
        throw isForeignKey(err) ? noTenant(e.tenantId) : err;
      }
      q.insertAudit.run(auditParams(audit));
      return { tenantId: e.tenantId, cidr: e.cidr, createdAt: e.createdAt };
    }),
    removeAllowEntry: db.transaction((tenantId: number, cidr: string, audit: NewAudit): boolean => {
      if (q.deleteAllowEntry.run(tenantId, cidr).changes === 0) return false;
      q.insertAudit.run(auditParams(audit));
      return true;
    }),
  };
}

export type Transactions = ReturnType<typeof buildTransactions>;

/** Single-row writes with SQLite's constraint errors turned into papgate's, in words. */
class RowWrites {
  private readonly updates: DeviceUpdates;

  constructor(
    db: Database,
    private readonly q: Statements,
    private readonly trust: TrustCache,
  ) {
    this.updates = new DeviceUpdates(db);
  }

  insertDevice(d: Device): void {
    try {
      this.q.insertDevice.run(deviceParams(d));
    } catch (e) {
      throw deviceError(this.q, e, d, 'insert');
    }
  }

  /**
   * Writes only what changed (device-update.ts); an unchanged device is not
   * written at all. `storedLines`: the lines parsed from `stored`; a device
   * that still has that very (read-only) array keeps its stored text, without
   * writing it out again (most writes, a full configuration's among them,
   * leave the lines alone). `fromCopy`: `stored` was made from an in-memory
   * copy (device-update.ts, `lastSeenTogether`).
   */
  updateDevice(stored: DeviceRow, storedLines: Device['lines'], d: Device, fromCopy: boolean): void {
    try {
      const next = deviceParams(d, d.lines === storedLines ? stored.lines : undefined);
      this.updates.write(stored, next, fromCopy);
    } catch (e) {
      throw deviceError(this.q, e, d, 'update');
    }
  }

  upsertTrust(t: TemporaryTrust): void {
    let changes: number;
    try {
      changes = this.q.upsertTrust.run(t.tenantId, t.ip, t.until, TRUST_EXTENSION_STEP_MS).changes;
    } catch (e) {
      throw isForeignKey(e) ? noTenant(t.tenantId) : e;
    }
    // A row that changed retires the tenant's copy, whether the transaction commits or rolls back; one left as it was keeps it.
    if (changes > 0) this.trust.drop(t.tenantId);
  }
}

/** A failed device insert or update, in words (or `e` itself when it is something else). */
export function deviceError(q: Statements, e: unknown, d: Device, op: 'insert' | 'update'): unknown {
  // SQLite names only the first index it tripped on; on insert, a taken MAC is the news.
  const macTaken = isUnique(e, 'mac') || (op === 'insert' && isUnique(e, 'sip_username') && q.deviceByMac.get(d.mac));
  if (macTaken) return conflict(`a device with MAC ${d.mac} already exists`, 'mac');
  if (isUnique(e, 'sip_username')) {
    return conflict(`SIP username ${d.sipUsername} is already used by another device`, 'sipUsername');
  }
  if (isForeignKey(e)) {
    if (!q.tenantById.get(d.tenantId)) return noTenant(d.tenantId);
    return notFound(`${tenantName(q, d.tenantId)} has no site with id ${d.siteId}`);
  }
  return e;
}

export function tenantName(q: Statements, id: number): string {
  const t = q.tenantById.get(id);
  return t ? `tenant ${t.name}` : `tenant ${id}`;
}

export function noTenant(id: number) {
  return notFound(`there is no tenant with id ${id}`);
}
