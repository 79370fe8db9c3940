import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Database } from 'better-sqlite3';
import type { Device } from '../../domain/types';
import type { Logger } from '../../ports/logger';
import { deviceRowOf, toDevice } from './rows';
import type { Statements } from './statements';

/**
 * Every device of the store in this process's memory, exact like the
 * copies of device-cache.ts, so that a phone's first contact reads no row:
 * under load that read (a random B-tree page, its read locks) cost as much
 * as the rest of the request. A papgate that answers phones in one
 * process keeps one (`SqliteStore.keepDeviceDirectory`, main.ts,
 * PAPGATE_DB_DEVICES_IN_MEMORY); provisioning workers only when told, the
 * CLI never.
 *
 * How it stays exact:
 * - loading reads every row in chunks between other work, after noting the
 *   newest entry of `device_changes` (migration 7, written by triggers on
 *   every insert, delete and update of a device);
 * - when `data_version` moved (another connection committed), the entries
 *   after the last one applied name the devices whose copies are dropped
 *   (read in one read transaction with the `data_version` they go with); a
 *   dropped device's row answers the next time it is asked for and becomes
 *   its copy again (`settle`), so a device another process keeps changing
 *   (its full configurations) costs no read here until it is asked for;
 * - this process's own writes do not move its `data_version`: a device
 *   mutation keeps the device as written once it committed (`settle`), and
 *   drops the copy when it failed (`forget`); a deletion or an insert drops
 *   it, and the row answers the next time the device is asked for. Their
 *   log entries are passed over when nothing else committed meanwhile
 *   (`ownChanges`), so they never push the directory's place out of the log;
 * - a device mutation decides on the copy, not the row, when the copy is
 *   exact at the `data_version` read inside its transaction (the write lock
 *   held, no other connection can commit meanwhile: transactions.ts);
 * - where and when a phone last fetched its configuration is not logged
 *   (a first contact would cost every other process a row read): this
 *   process applies its own (`touch`), other processes' show when the device
 *   changes otherwise or the directory loads again.
 * While it loads, while more than STEP changes wait, or when the log was
 * trimmed past its last entry (then it loads again), it answers "cannot
 * tell" and the store reads the row as it would without it.
 *
 * Memory: about 0.8 KB a device in each process that keeps one.
 */

/** Rows read in one turn of the event loop while loading (a few ms). */
const LOAD_CHUNK = 2_000;
/** Changes applied in one go on a request's path; more are applied in the background. */
const STEP = 1_000;
/** After a failed load, the next attempt waits at least this long. */
const RETRY_MS = 10_000;

export interface Changes {
  /** `data_version` in the read transaction that read the entries. */
  version: number;
  /** Entries after the last one applied were trimmed (or the log is not the one it was): load again. */
  lost: boolean;
  /** The number of the last entry read (the one asked after, when none). */
  last: number;
  /** The devices the entries name. */
  macs: readonly string[];
  /** More entries follow `last`. */
  more: boolean;
}

/** What the directory reads, each call one read transaction. */
export interface DirectorySource {
  /** The newest entry of the log (0 when there is none). */
  newestChange(): number;
  /** Up to `limit` devices with a MAC after `after`, by MAC. */
  devicesAfter(after: string, limit: number): Device[];
  /** The MACs named by up to `limit` entries after `after`. */
  changesAfter(after: number, limit: number): Changes;
}

export class DeviceDirectory {
  private readonly byMac = new Map<string, Device>();
  private readonly macBySipUsername = new Map<string, string>();
  /** The `data_version` the copies are exact at; null while loading or catching up. */
  private exactAt: number | null = null;
  /** The last entry of the log applied. */
  private cursor = 0;
  private running: Promise<void> | null = null;
  private retryAt = 0;
  private stopped = false;

  constructor(
    private readonly source: DirectorySource,
    private readonly log: Logger,
    /** Told each `data_version` read along with rows (it stands for "now" there too). */
    private readonly observe: (version: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts loading in the background. */
  start(): void {
    this.background(() => this.load());
  }

  /** Stops loading and catching up; resolves once the background work ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.exactAt = null;
    await this.running;
  }

  /** Whether it answers now (tests and metrics). */
  get ready(): boolean {
    return this.exactAt !== null;
  }

  get size(): number {
    return this.byMac.size;
  }

  /**
   * The device with this MAC as of `version` (`data_version` now) or later.
   * Undefined when the directory has none or cannot tell yet: the row
   * decides (another process may have added the device since the reading).
   */
  find(mac: string, version: number): Device | undefined {
    if (!this.upTo(version)) return undefined;
    return this.byMac.get(mac);
  }

  /** Like `find`, by SIP username (digest authentication). */
  findBySipUsername(username: string, version: number): Device | undefined {
    if (!this.upTo(version)) return undefined;
    const mac = this.macBySipUsername.get(username);
    if (mac === undefined) return undefined;
    const device = this.byMac.get(mac);
    return device?.sipUsername === username ? device : undefined;
  }

  /** This process writes (or failed to write) the device: its row answers until it is read, or written, again. */
  forget(mac: string): void {
    this.drop(mac);
  }

  /** The store read the device's row just now (null: there is none): it replaces the copy. */
  settle(mac: string, device: Device | null): void {
    if (this.stopped) return;
    if (device === null) this.drop(mac);
    else this.keep(device);
  }

  /**
   * This process committed a transaction after which the log's newest entry
   * is `newest`, `data_version` reading `version` inside it. If no other
   * connection committed since the copies were exact, every entry after the
   * last one applied is this process's own, and its writes are already here
   * (kept as written, or dropped): they are passed over. Otherwise a process
   * writing much between other connections' commits (a burst of full
   * configurations) would find the log trimmed past its place at the next
   * one, and load everything again.
   */
  ownChanges(version: number, newest: number): void {
    if (this.exactAt === version && newest > this.cursor) this.cursor = newest;
  }

  /** This process wrote where and when the phone was seen, under the statement's own condition (never backwards). */
  touch(mac: string, ip: string, at: number): void {
    const device = this.byMac.get(mac);
    if (device === undefined || (device.lastProvisionedAt !== null && device.lastProvisionedAt > at)) return;
    this.keep({ ...device, lastProvisionedIp: ip, lastProvisionedAt: at });
  }

  /** Whether the copies are exact at `version` or later, bringing them up to date when one step does it. */
  private upTo(version: number): boolean {
    if (this.exactAt === null) {
      if (this.running === null && !this.stopped && this.now() >= this.retryAt) this.background(() => this.load());
      return false;
    }
    return this.exactAt === version || this.step();
  }

  /** Applies up to STEP changes; true when that brought the copies up to date. */
  private step(): boolean {
    const changes = this.source.changesAfter(this.cursor, STEP);
    if (changes.lost) {
      this.exactAt = null;
      this.background(() => this.load());
      return false;
    }
    this.applyChanges(changes);
    if (changes.more) {
      this.exactAt = null;
      this.background(() => this.catchUp());
      return false;
    }
    return true;
  }

  private applyChanges(changes: Changes): void {
    for (const mac of changes.macs) this.drop(mac);
    this.cursor = changes.last;
    if (!changes.more) {
      this.exactAt = changes.version;
      this.observe(changes.version);
    }
  }

  private async load(): Promise<void> {
    const started = this.now();
    this.exactAt = null;
    this.byMac.clear();
    this.macBySipUsername.clear();
    // Every change after this entry is applied once the rows are read: a row read before it changed is dropped again.
    const mark = this.source.newestChange();
    for (let after = ''; !this.stopped; await nextTurn()) {
      const chunk = this.source.devicesAfter(after, LOAD_CHUNK);
      for (const device of chunk) this.keep(device);
      if (chunk.length < LOAD_CHUNK) break;
      after = chunk[chunk.length - 1]!.mac;
    }
    this.cursor = mark;
    await this.catchUp();
    if (this.exactAt !== null) this.log.info({ devices: this.byMac.size, ms: Math.round(this.now() - started) }, 'every device in memory');
  }

  private async catchUp(): Promise<void> {
    while (!this.stopped) {
      const changes = this.source.changesAfter(this.cursor, STEP);
      if (changes.lost) return this.load();
      this.applyChanges(changes);
      if (!changes.more) return;
      await nextTurn();
    }
  }

  /** Runs `work` unless something already runs; a failure is logged and the directory waits RETRY_MS before loading again. */
  private background(work: () => Promise<void>): void {
    if (this.running !== null || this.stopped) return;
    this.running = work()
      .catch((e: unknown) => {
        this.exactAt = null;
        this.retryAt = this.now() + RETRY_MS;
        if (!this.stopped)
          this.log.warn({ error: e instanceof Error ? e.message : String(e) }, 'device directory not loaded: devices are read from their rows');
      })
      .finally(() => {
        this.running = null;
      });
  }

  private keep(device: Device): void {
    const old = this.byMac.get(device.mac);
    if (old !== undefined && old.sipUsername !== device.sipUsername) this.unindex(old);
    Object.freeze(device.auth);
    for (const line of device.lines) Object.freeze(line);
    Object.freeze(device.lines);
    this.byMac.set(device.mac, Object.freeze(device));
    this.macBySipUsername.set(device.sipUsername, device.mac);
  }

  private drop(mac: string): void {
    const old = this.byMac.get(mac);
    if (old === undefined) return;
    this.byMac.delete(mac);
    this.unindex(old);
  }

  private unindex(device: Device): void {
    if (this.macBySipUsername.get(device.sipUsername) === device.mac) this.macBySipUsername.delete(device.sipUsername);
  }
}

/** The directory's reads over this store's connection. */
export function directorySource(db: Database, q: Statements): DirectorySource {
  const changesAfter = db.transaction((after: number, limit: number): Changes => {
    // data_version first: the rows read after it are at least that new, so a label can only be too old (another step), never too new.
    const version = q.dataVersion.get()!;
    const [oldest, newest] = q.changeBounds.get()!;
    if ((oldest !== null && oldest > after + 1) || (newest ?? 0) < after) return { version, lost: true, last: after, macs: [], more: false };
    const entries = q.changesAfter.all(after, limit + 1);
    const more = entries.length > limit;
    if (more) entries.pop();
    return { version, lost: false, last: entries.at(-1)?.[0] ?? after, macs: entries.map(([, mac]) => mac), more };
  });
  return {
    newestChange: () => q.newestChange.get() ?? 0,
    devicesAfter: (after, limit) => q.devicesAfter.all(after, limit).map((values) => toDevice(deviceRowOf(values))),
    changesAfter: (after, limit) => changesAfter(after, limit),
  };
}
