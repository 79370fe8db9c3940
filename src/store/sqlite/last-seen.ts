import type { Device } from '../../domain/types';
import type { Logger } from '../../ports/logger';
import { isLockError, retryWhileLocked } from './lock-retry';
import type { Mutate, Mutation } from './mutation-groups';

/**
 * Write-behind for "where and when did this phone last fetch its
 * configuration". A phone's first contact used to cost a write transaction of
 * its own (about half of such a request); now the address and time wait here
 * and up to MAX_PENDING of them are written together in one transaction every
 * FLUSH_MS.
 *
 * What this process reads never lags: the store lays pending values over the
 * devices it returns, and a device mutation (a PAP attempt, a full
 * configuration) writes them along with its own change. Other processes (the
 * CLI, other workers) see them up to FLUSH_MS late; a crash loses at most the
 * values of the last FLUSH_MS (docs/store.md). A write never moves the time
 * backwards, so a late flush cannot undo a newer value.
 */

/** How long a value may wait before it is written. */
export const FLUSH_MS = 10;
/** Values waiting at most; past it the caller waits for a flush (back-pressure, nothing dropped). */
export const MAX_PENDING = 5_000;
/** Longest pause between two flushes while another connection holds the write lock. */
const MAX_RETRY_MS = 200;

export interface LastSeen {
  ip: string;
  at: number;
}

export class LastSeenQueue {
  private pending = new Map<string, LastSeen>();
  private timer: NodeJS.Timeout | undefined;
  private retryMs = FLUSH_MS;

  /** `write` runs every value in one transaction (synchronous); it throws SQLITE_BUSY while another connection writes. */
  constructor(
    private readonly write: (values: ReadonlyMap<string, LastSeen>) => void,
    private readonly log: Logger,
  ) {}

  /** Queues the value (a newer one for the same device replaces it); true when the queue is full and wants a flush now. */
  add(mac: string, ip: string, at: number): boolean {
    const queued = this.pending.get(mac);
    if (queued === undefined || queued.at <= at) this.pending.set(mac, { ip, at });
    if (this.pending.size >= MAX_PENDING) return true;
    this.timer ??= setTimeout(() => this.onTimer(), this.retryMs).unref();
    return false;
  }

  /**
   * A transaction wrote the device with the address seen at `at` (the pending
   * value, overlaid, or a later one): a pending value no newer is superseded
   * and must not overwrite it when the batch is written.
   */
  supersede(mac: string, at: number): void {
    const queued = this.pending.get(mac);
    if (queued !== undefined && queued.at <= at) this.pending.delete(mac);
  }

  /**
   * A device mutation that sees the pending value (`overlay`); `settle`,
   * called once it committed, keeps a queued older value from overwriting
   * the address it wrote.
   */
  tracking({ mac, mutate }: Mutation): Mutation & { settle: () => void } {
    let writtenAt: number | null | undefined;
    const seeing: Mutate = (device) => {
      const change = mutate(device && this.overlay(device));
      writtenAt = change.next?.lastProvisionedAt;
      return change;
    };
    const settle = () => {
      if (writtenAt !== null && writtenAt !== undefined) this.supersede(mac, writtenAt);
    };
    return { mac, mutate: seeing, settle };
  }

  /** The device as this process knows it: with the pending address and time, when they are newer. */
  overlay(device: Device): Device {
    if (this.pending.size === 0) return device;
    const queued = this.pending.get(device.mac);
    if (queued === undefined || (device.lastProvisionedAt ?? -Infinity) > queued.at) return device;
    return { ...device, lastProvisionedIp: queued.ip, lastProvisionedAt: queued.at };
  }

  /**
   * Writes every pending value in one transaction. Throws what `write` threw
   * (the values stay queued); values queued meanwhile stay for the next one.
   */
  flush(): void {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      this.write(batch);
    } catch (e) {
      // Put them back under anything newer that arrived meanwhile.
      for (const [mac, v] of batch) if (!this.pending.has(mac)) this.pending.set(mac, v);
      throw e;
    }
  }

  /** Stops the timer and writes what is pending, waiting for a lock up to `deadlineMs`; what cannot be written is logged as lost. */
  async close(deadlineMs: number): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    try {
      await retryWhileLocked(() => this.flush(), { deadlineMs });
    } catch (e) {
      this.log.warn({ error: e instanceof Error ? e.message : String(e), lost: this.pending.size }, 'last-seen values not written at close');
    }
  }

  private onTimer(): void {
    this.timer = undefined;
    try {
      this.flush();
      this.retryMs = FLUSH_MS;
    } catch (e) {
      if (isLockError(e)) {
        // Another connection writes: try again later, a little later each time.
        this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
      } else {
        // A store that cannot write at all (closed, disk full) would fail the same way forever: the values are only a phone's last address, drop them.
        this.log.warn({ error: e instanceof Error ? e.message : String(e), dropped: this.pending.size }, 'last-seen values not written');
        this.pending.clear();
        return;
      }
    }
    if (this.pending.size > 0) this.timer = setTimeout(() => this.onTimer(), this.retryMs).unref();
  }
}
