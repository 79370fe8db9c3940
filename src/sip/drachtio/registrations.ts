import type { Clock } from '../../ports/clock';
import type { Registration } from '../../ports/signalling';

/**
 * The registrar's memory: one current binding per SIP username. Kept in the
 * process (like the embedded stack's): a restart loses it until the phones
 * re-register, which they do within their short minimal-configuration
 * interval; NOTIFY falls back to the call's Contact meanwhile.
 */
export class Registrations {
  private readonly byUser = new Map<string, Registration>();

  constructor(private readonly clock: Clock, private readonly maxEntries = 100_000) {}

  set(reg: Registration): void {
    if (this.byUser.size >= this.maxEntries && !this.byUser.has(reg.username)) this.prune();
    this.byUser.set(reg.username, reg);
  }

  remove(username: string): void {
    this.byUser.delete(username);
  }

  /** The binding if it has not expired. */
  get(username: string): Registration | undefined {
    const r = this.byUser.get(username);
    if (!r) return undefined;
    if (r.expiresAt <= this.clock.now()) {
      this.byUser.delete(username);
      return undefined;
    }
    return r;
  }

  private prune(): void {
    const now = this.clock.now();
    for (const [k, v] of this.byUser) if (v.expiresAt <= now) this.byUser.delete(k);
  }
}
