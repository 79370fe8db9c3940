import { checkSyncEvent } from '../domain/ivr/check-sync';
import type { Device } from '../domain/types';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { Signalling } from '../ports/signalling';
import { notifyTargetOf } from './notify-target';
import type { Store } from '../ports/store';

/**
 * When a lock-out ends the device reads as `needed` again (lazily, from its
 * stored deadline), but the phone still shows "Authentication failed" until
 * its next poll. This sends it a check-sync at the lock-out's end so it
 * re-fetches the minimal configuration and shows "Authentication needed" at once.
 *
 * One timer per locked device, in this process only: after a restart the
 * pending timers are gone, and the phone learns of the end from its next
 * poll of the minimal configuration, whose re-provisioning interval is short.
 */

export interface LockoutEndDeps {
  store: Pick<Store, 'getDevice'>;
  clock: Clock;
  log: Logger;
  /** Sends the check-sync to the device's registered contact; resolves false when it has none. */
  sendCheckSync(device: Device): Promise<boolean>;
  /** Timers held at once; lock-outs beyond it are left to the phones' polling. */
  maxPending?: number;
}

/** setTimeout's longest delay (about 24.8 days): a longer lock-out is waited for in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;
const DEFAULT_MAX_PENDING = 10_000;

export class LockoutEndNotifier {
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly d: LockoutEndDeps) {}

  /** A PAP attempt locked the device out until `lockedUntil` (epoch ms). */
  lockedOut(mac: string, lockedUntil: number): void {
    if (this.stopped) return;
    this.cancel(mac);
    if (this.pending.size >= (this.d.maxPending ?? DEFAULT_MAX_PENDING)) {
      this.d.log.warn({ mac, pending: this.pending.size }, 'too many lock-outs pending: this phone learns of its end from its next poll');
      return;
    }
    this.schedule(mac, lockedUntil);
  }

  /** Lock-outs whose end is still to be announced (for tests and metrics). */
  get size(): number {
    return this.pending.size;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private cancel(mac: string): void {
    const timer = this.pending.get(mac);
    if (timer) clearTimeout(timer);
    this.pending.delete(mac);
  }

  private schedule(mac: string, lockedUntil: number): void {
    const delay = Math.min(Math.max(0, lockedUntil - this.d.clock.now()), MAX_DELAY_MS);
    const timer = setTimeout(() => {
      this.pending.delete(mac);
      if (this.d.clock.now() < lockedUntil) this.schedule(mac, lockedUntil);
      else void this.announce(mac, lockedUntil);
    }, delay);
    // A pending announcement never keeps the process alive.
    timer.unref();
    this.pending.set(mac, timer);
  }

  /** Sends the check-sync if the device is still in the lock-out that ended (not reset, unlocked or deleted since). */
  private async announce(mac: string, lockedUntil: number): Promise<void> {
    const log = this.d.log.child({ mac });
    try {
      const device = await this.d.store.getDevice(mac);
      if (!device || device.auth.state !== 'failed' || device.auth.lockedUntil !== lockedUntil) return;
      const sent = await this.d.sendCheckSync(device);
      log.info({ sent }, sent ? 'lock-out ended: check-sync sent' : 'lock-out ended: no registration to send a check-sync to');
    } catch (err) {
      log.warn({ err }, 'lock-out ended: check-sync failed');
    }
  }
}

/** Sends a device's check-sync to its current registration through the Signalling port. */
export async function checkSyncToRegistration(signalling: Pick<Signalling, 'notify' | 'registration'>, device: Device): Promise<boolean> {
  const reg = await signalling.registration(device.sipUsername);
  if (!reg) return false;
  await signalling.notify(notifyTargetOf(reg, device.sipUsername), checkSyncEvent(device.vendor));
  return true;
}
