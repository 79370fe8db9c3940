import type { Device } from '../../domain/types';

/**
 * Devices recently read by MAC, so that a phone polling again costs at most
 * a `PRAGMA data_version` (one read-lock round trip, no row to convert, and
 * shared by the requests of 5 ms: data-version.ts) instead of the device
 * lookup (about three times that, in the provisioning profile).
 *
 * Like the trust cache (trust-cache.ts), a copy is used only while
 * - `data_version` still reads what it read with the copy: any commit by
 *   another connection (the CLI, another papgate process, the bulk-import
 *   worker) changes it and retires every copy at once (seen here within the
 *   5 ms a reading stands for);
 * - this process has not written the device: the store calls `forget` for
 *   every device it writes (mutations, deletions, inserts, last-seen
 *   batches), since its own commits do not change its `data_version`.
 * Writes never use copies: a mutation reads the row inside its transaction.
 */

/** Devices kept; the oldest goes first. */
const MAX_DEVICES = 10_000;
/** Slots of the doorkeeper (a power of two). */
const DOOR_SLOTS = 8192;

interface Copy {
  device: Device;
  version: number;
}

export class DeviceCache {
  private readonly copies = new Map<string, Copy>();
  /** SIP username to MAC of the kept copies (SIP digest looks devices up by username); checked against the copy on use. */
  private readonly macBySipUsername = new Map<string, string>();
  /**
   * A device is kept only from its second read: a flood of first contacts
   * would otherwise fill the cache with devices read once, and keeping an
   * object costs more than reading it (it outlives young-generation
   * collections). Each slot holds the hash of the last MAC that missed there.
   */
  private readonly door = new Uint32Array(DOOR_SLOTS);

  constructor(private readonly max = MAX_DEVICES) {}

  /** Whether a copy of `mac` exists (then `get` with the current version decides). */
  has(mac: string): boolean {
    return this.copies.has(mac);
  }

  /** The copy, if it was read at `version`; a copy of another version is dropped. */
  get(mac: string, version: number): Device | undefined {
    const copy = this.copies.get(mac);
    if (copy === undefined) return undefined;
    if (copy.version === version) return copy.device;
    this.copies.delete(mac);
    return undefined;
  }

  /** The copy of the device with this SIP username, if it was read at `version`. */
  getBySipUsername(username: string, version: number): Device | undefined {
    const mac = this.macBySipUsername.get(username);
    const device = mac === undefined ? undefined : this.get(mac, version);
    if (device?.sipUsername === username) return device;
    this.macBySipUsername.delete(username);
    return undefined;
  }

  /** Whether a copy may exist for this SIP username (then `getBySipUsername` with the current version decides). */
  hasSipUsername(username: string): boolean {
    return this.macBySipUsername.has(username);
  }

  /** Keeps `device` as read at `version` (from its second read on). Frozen: callers share it. */
  put(device: Device, version: number): void {
    if (!this.seenBefore(device.mac)) return;
    if (this.copies.size >= this.max) this.dropOldest();
    if (this.macBySipUsername.size >= 2 * this.max) this.macBySipUsername.clear(); // only names of dropped copies can pile up
    this.macBySipUsername.set(device.sipUsername, device.mac);
    Object.freeze(device.auth);
    for (const line of device.lines) Object.freeze(line);
    Object.freeze(device.lines);
    this.copies.set(device.mac, { device: Object.freeze(device), version });
  }

  /** This process wrote the device. */
  forget(mac: string): void {
    this.copies.delete(mac);
  }

  clear(): void {
    this.copies.clear();
    this.macBySipUsername.clear();
  }

  private dropOldest(): void {
    const oldest = this.copies.keys().next().value!;
    const copy = this.copies.get(oldest);
    this.copies.delete(oldest);
    if (copy && this.macBySipUsername.get(copy.device.sipUsername) === oldest) this.macBySipUsername.delete(copy.device.sipUsername);
  }

  private seenBefore(mac: string): boolean {
    let h = 0x811c9dc5;
    for (let i = 0; i < mac.length; i++) h = Math.imul(h ^ mac.charCodeAt(i), 0x01000193);
    h >>>= 0;
    const slot = h & (DOOR_SLOTS - 1);
    if (this.door[slot] === h) return true;
    this.door[slot] = h;
    return false;
  }
}
