import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waiting for another connection's write lock, without blocking the event
 * loop. The connection runs with busy_timeout 0: a statement that meets a
 * lock fails at once with SQLITE_BUSY (or SQLITE_LOCKED) instead of SQLite
 * sleeping inside the call, which would stall every other request of the
 * process for as long. The whole store call is then run again later, from a
 * timer, until its deadline. Re-running is safe because every call is one
 * statement or one transaction: a transaction that failed to start ran
 * nothing, and one that failed later was rolled back; a read-modify-write
 * re-reads its row when it runs again.
 */

/** First pause after a busy answer; doubles per retry up to QUICK_PAUSE_MS, later MAX_PAUSE_MS. */
const FIRST_PAUSE_MS = 1;
/**
 * Longest pause while the wait is young (under QUICK_FOR_MS). The locks met
 * most are short: a sibling worker's group commit, the checkpoint worker's
 * finishing pass (a few to some tens of ms), and a pause grown to 50 ms
 * after one of those added up to 50 ms to the waiting request for nothing.
 * With two provisioning workers serving full configurations, their p99 was
 * 109-136 ms with pauses up to 50 ms and 15-16 ms with pauses up to 5 ms,
 * at the same rate.
 */
const QUICK_PAUSE_MS = 5;
/** A wait this old is for a long lock (a bulk import, another program's transaction): pauses grow on. */
const QUICK_FOR_MS = 250;
/**
 * Longest pause between two tries. A lock held for long is retried ~20 times
 * a second per waiting call: each try costs a few microseconds, and a write
 * gets the lock at most this late after it is free.
 */
const MAX_PAUSE_MS = 50;

/** SQLite's answer when another connection holds a lock this one needs. */
export function isLockError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code: unknown = (e as Error & { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

export interface LockRetryOptions {
  /** Overall time to get the lock, from the first try; then the last busy error is thrown. */
  deadlineMs: number;
  /** Called before each pause (for metrics or debug logs). */
  onBusy?: (attempt: number) => void;
  /** Uniform in [0, 1): the jitter that keeps waiting calls from retrying in step. */
  random?: () => number;
  /** Waits `ms` between tries; a LockRelease's `pause` also ends when the holder says it let go. */
  pause?: (ms: number) => Promise<void>;
  /** The clock the deadline and the wait's age are read from, in ms (tests). */
  now?: () => number;
}

/**
 * Pauses between tries that the lock's holder can end early. papgate's own
 * checkpoint worker holds the write lock for one short pass now and then
 * and says when it lets go (checkpointer.ts): every call waiting for it then
 * tries again at once, instead of at the end of its doubled pause (up to
 * MAX_PAUSE_MS later, with the server idle meanwhile). Another process's
 * lock says nothing: its waits end on their timers, as before.
 */
export class LockRelease {
  private readonly waiting = new Set<() => void>();

  pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiting.add(done);
    });
  }

  /** The lock was let go: every pause ends now. */
  released(): void {
    for (const done of [...this.waiting]) done();
  }
}

/**
 * Runs `fn` (synchronous: it holds no lock across an await) and, while it
 * fails because the database is locked, again after a growing, jittered
 * pause, until `deadlineMs` has passed since the first try. The first try runs
 * synchronously, as a plain call would.
 */
export async function retryWhileLocked<T>(fn: () => T, o: LockRetryOptions): Promise<T> {
  const now = o.now ?? (() => performance.now());
  const start = now();
  const random = o.random ?? Math.random;
  let pause = FIRST_PAUSE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return fn();
    } catch (e) {
      if (!isLockError(e)) throw e;
      const waited = now() - start;
      const left = o.deadlineMs - waited;
      if (left <= 0) throw e;
      o.onBusy?.(attempt);
      // Full jitter in [pause/2, pause): spreads calls that met the same lock.
      const ms = Math.min(left, pause * (0.5 + random() / 2));
      await (o.pause ? o.pause(ms) : sleep(ms));
      pause = Math.min(pause * 2, waited < QUICK_FOR_MS ? QUICK_PAUSE_MS : MAX_PAUSE_MS);
    }
  }
}
