import { performance } from 'node:perf_hooks';

/**
 * SQLite's `PRAGMA data_version` as this connection last saw it. Every copy
 * the store keeps in memory (devices, registrations, trust rows) is valid
 * only while `data_version` reads what it read with the copy: another
 * connection's commit (the CLI, another papgate process) changes it.
 *
 * Reading it costs a read transaction of its own (two `fcntl` calls and a
 * look at the WAL index: a tenth of a polled request). A reading therefore
 * stands for "now" during OBSERVATION_MS: at thousands of requests a second,
 * one read in that time instead of one per request (a device read from its
 * row takes a fresh one: sqlite-store.ts). So another process's commit shows at most
 * that much later here. This process's own writes retire its copies
 * directly, at once. Writes never decide on copies: they read inside their
 * transaction.
 */

/** How long a reading of `data_version` stands for "now". */
export const OBSERVATION_MS = 5;

export class DataVersion {
  private seen = -1;
  private seenAt = -Infinity;

  /** `now`: milliseconds of a monotonic clock (tests pass their own). */
  constructor(
    private readonly read: () => number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records a reading taken just now (along with a row, inside a transaction). */
  observe(version: number): void {
    this.seen = version;
    this.seenAt = this.now();
  }

  /** A reading no older than OBSERVATION_MS, or a new one. */
  current(): number {
    if (this.now() - this.seenAt <= OBSERVATION_MS) return this.seen;
    return this.fresh();
  }

  /** A new reading, whatever the age of the last one. */
  fresh(): number {
    const version = this.read();
    this.observe(version);
    return version;
  }
}
