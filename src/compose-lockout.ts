import type { AttemptListener } from './app/authentication';
import { checkSyncToRegistration, LockoutEndNotifier } from './app/lockout-end-notifier';
import type { Clock } from './ports/clock';
import type { Logger } from './ports/logger';
import type { Signalling } from './ports/signalling';
import type { Store } from './ports/store';

/** Part of the composition root: who tells a phone that its lock-out is over. */

export interface LockoutEndAnnouncer {
  /** Feed of PAP attempts: a lock-out schedules its end's announcement. */
  onAttempt: AttemptListener;
  /** The SIP stack that sends the check-sync, once there is one. */
  attach(signalling: Signalling): void;
  stop(): Promise<void>;
}

/**
 * Announces lock-out ends to the phones (a check-sync) through the SIP stack,
 * once it is attached; without signalling nothing is sent.
 */
export function lockoutEndAnnouncer(store: Store, clock: Clock, log: Logger): LockoutEndAnnouncer {
  let sipStack: Signalling | null = null;
  const notifier = new LockoutEndNotifier({
    store,
    clock,
    log: log.child({ part: 'lockout-end' }),
    sendCheckSync: async (device) => sipStack !== null && checkSyncToRegistration(sipStack, device),
  });
  return {
    onAttempt: (outcome, a) => {
      if (outcome === 'locked' && a.lockedUntil !== null) notifier.lockedOut(a.mac, a.lockedUntil);
    },
    attach: (signalling) => {
      sipStack = signalling;
    },
    stop: async () => notifier.stop(),
  };
}
