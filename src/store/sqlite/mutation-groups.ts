import type { Device } from '../../domain/types';
import type { DeviceChange } from '../../ports/store';

/**
 * Group commit of device mutations. Under load (phones fetching their full
 * configuration, each minting a new identity secret) a commit per request
 * was the largest single cost of the request. The mutations that arrive in
 * one turn of the event loop are therefore run in one write transaction,
 * each under a savepoint of its own (transactions.ts, `mutateDevices`):
 *
 * - a caller's promise settles only after the commit that holds its change,
 *   so nothing (a phone's new secret) is handed out before it is stored;
 * - one mutation's failure rolls back to its savepoint and fails that caller
 *   alone; the rest of the group commits;
 * - when the group as a whole fails (an error that ends the transaction, or
 *   the commit itself), nothing of it was kept and each mutation runs again
 *   alone, in a transaction of its own, as it would have without grouping;
 *   except when the store is unavailable (closed, or locked past its
 *   deadline): running alone would only fail the same way, later.
 *
 * A group of one runs alone (no savepoint to pay for).
 */

export type Mutate = (device: Device | null) => DeviceChange<unknown>;

export interface Mutation {
  mac: string;
  mutate: Mutate;
}

/** What one mutation of a committed group came to. */
export type MutationOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface MutationRunner {
  /** One mutation in its own transaction (lock waits and error translation included). */
  alone(m: Mutation): Promise<unknown>;
  /** The group in one transaction; rejects when nothing of it was committed. */
  together(group: readonly Mutation[]): Promise<MutationOutcome[]>;
  /** Whether a group's failure is the store's (closed, locked): no use running each alone. */
  isUnavailable(e: unknown): boolean;
}

interface Pending extends Mutation {
  resolve: (value: unknown) => void;
  reject: (e: unknown) => void;
}

export class MutationGroups {
  private pending: Pending[] = [];
  /** Groups started and not yet settled (close waits for them). */
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly runner: MutationRunner) {}

  add(mac: string, mutate: Mutate): Promise<unknown> {
    return new Promise((resolve, reject) => {
      // setImmediate: after the poll phase, so every request read in this turn has had its say.
      if (this.pending.push({ mac, mutate, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  /**
   * Starts what is queued now (its first try runs before this returns) and
   * resolves once every started group has settled: closing the store lets
   * the requests that came before it finish instead of failing them.
   */
  async drain(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.running]);
  }

  private flush(): void {
    const group = this.pending;
    this.pending = [];
    if (group.length === 0) return;
    if (group.length === 1) return this.runAlone(group[0]!);
    this.track(this.runner.together(group)).then(
      (outcomes) => {
        group.forEach((m, i) => {
          const o = outcomes[i]!;
          if (o.ok) m.resolve(o.value);
          else m.reject(o.error);
        });
      },
      (e: unknown) => {
        if (this.runner.isUnavailable(e)) for (const m of group) m.reject(e);
        else for (const m of group) this.runAlone(m);
      },
    );
  }

  private runAlone(m: Pending): void {
    this.track(this.runner.alone(m)).then(m.resolve, m.reject);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    const done = () => this.running.delete(p);
    p.then(done, done);
    return p;
  }
}
