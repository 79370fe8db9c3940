import { performance } from 'node:perf_hooks';
import { isPapgateError, unavailable } from '../../domain/errors';
import type { Logger } from '../../ports/logger';
import { isLockError, retryWhileLocked } from './lock-retry';
import { isSqliteError, translateSqliteError } from './sqlite-errors';

/**
 * How the SQLite store runs each call: refuses when closed, waits for
 * another connection's lock without blocking the event loop (lock-retry.ts),
 * turns SQLite errors into PapgateErrors.
 */
export class StoreCalls {
  /** `pause`: between tries (LockRelease's, so that the checkpoint worker's release ends it). */
  constructor(
    private readonly log: Logger,
    private readonly busyTimeoutMs: number,
    private readonly isClosed: () => boolean,
    private readonly pause?: (ms: number) => Promise<void>,
  ) {}

  run<T>(action: string, fn: () => T, deadlineMs = this.busyTimeoutMs): Promise<T> {
    if (this.isClosed()) return Promise.reject(unavailable(`cannot ${action}: the store is closed`));
    // The first try without async machinery: nearly every call gets its answer here (a few promise hops less per request).
    try {
      const value = fn();
      // Every call is synchronous today; a promise would still get its errors translated.
      if (value instanceof Promise) return value.catch((e: unknown) => Promise.reject(this.error(e, action))) as Promise<T>;
      return Promise.resolve(value);
    } catch (e) {
      if (!isLockError(e)) return Promise.reject(this.error(e, action));
    }
    return this.runWaiting(action, fn, deadlineMs);
  }

  /** SQLite errors as PapgateErrors (logged without values); anything else unchanged. */
  error(e: unknown, action: string): unknown {
    if (isPapgateError(e) || !isSqliteError(e)) return e;
    const err = translateSqliteError(e, action);
    this.log.warn({ code: e.code, action, error: err.code }, 'store call failed');
    return err;
  }

  /** `run` once the first try met another connection's lock: tries again now, then from timers. */
  private async runWaiting<T>(action: string, fn: () => T, deadlineMs: number): Promise<T> {
    let waits = 0;
    const started = performance.now();
    try {
      const result = await retryWhileLocked(
        () => {
          if (this.isClosed()) throw unavailable(`cannot ${action}: the store was closed while it waited`);
          return fn();
        },
        {
          deadlineMs,
          onBusy: (n) => {
            waits = n;
          },
          ...(this.pause ? { pause: this.pause } : {}),
        },
      );
      // Tries: the first one in `run`, this one's first, and one after each pause.
      if (waits > 0) this.log.debug({ action, tries: waits + 2, waitedMs: Math.round(performance.now() - started) }, 'store call waited for a lock');
      return result;
    } catch (e) {
      throw this.error(e, action);
    }
  }
}
