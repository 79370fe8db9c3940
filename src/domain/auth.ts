import type { AuthRecord, AuthState } from './types';
import type { Policy } from './policy';
import { papMatches } from './pap';

/**
 * The authentication state machine of section 4 of docs/behaviour.md, as pure functions of
 * (record, now, policy). Timers are lazy: a lock-out that has ended reads as
 * `needed` without anything having run.
 */

export function newAuthRecord(pap: string): AuthRecord {
  return { state: 'needed', pap, failures: 0, lockouts: 0, lockedUntil: null, suspendedUntil: null };
}

/** Applies transition 3 (failed -> needed when the lock-out ends), if due. */
export function settle(auth: AuthRecord, now: number): AuthRecord {
  if (auth.state === 'failed' && auth.lockedUntil !== null && auth.lockedUntil <= now) {
    return { ...auth, state: 'needed', failures: 0, lockedUntil: null };
  }
  return auth;
}

export function effectiveState(auth: AuthRecord, now: number): AuthState {
  return settle(auth, now).state;
}

export function isSuspended(auth: AuthRecord, now: number): boolean {
  return auth.suspendedUntil !== null && auth.suspendedUntil > now;
}

export type AttemptOutcome =
  | 'success' // transition 1
  | 'wrong' // wrong PAP, more tries left
  | 'locked' // this wrong PAP locked the device (transition 2)
  | 'blocked' // this wrong PAP blocked the device (transition 4)
  | 'already-failed' // device is locked out: PAP not even compared
  | 'already-blocked'
  | 'already-successful';

export interface AttemptResult {
  outcome: AttemptOutcome;
  auth: AuthRecord;
  /** Tries left before the next lock-out (for 'wrong'). */
  triesLeft: number;
  /** When the lock-out ends (for 'locked' and 'already-failed'). */
  lockedUntil: number | null;
}

/** One PAP attempt. The store runs this inside one transaction. */
export function attempt(stored: AuthRecord, entered: string, now: number, policy: Policy): AttemptResult {
  const auth = settle(stored, now);
  const result = (outcome: AttemptOutcome, next: AuthRecord): AttemptResult => ({
    outcome,
    auth: next,
    triesLeft: Math.max(0, policy.maxFailures - next.failures),
    lockedUntil: next.lockedUntil,
  });
  switch (auth.state) {
    case 'successful':
      return result('already-successful', auth);
    case 'blocked':
      return result('already-blocked', auth);
    case 'failed':
      return result('already-failed', auth);
    case 'needed':
      break;
  }
  if (auth.pap !== null && papMatches(auth.pap, entered)) {
    return result('success', markSuccessful(auth));
  }
  const failures = auth.failures + 1;
  if (failures < policy.maxFailures) return result('wrong', { ...auth, failures });
  const lockouts = auth.lockouts + 1;
  if (lockouts >= policy.maxLockouts) {
    return result('blocked', { ...auth, state: 'blocked', failures, lockouts, lockedUntil: null });
  }
  return result('locked', { ...auth, state: 'failed', failures, lockouts, lockedUntil: now + policy.lockoutMs });
}

/** Transition 1, also taken by a full provisioning: the PAP is gone and counters cleared. */
export function markSuccessful(auth: AuthRecord): AuthRecord {
  return { ...auth, state: 'successful', pap: null, failures: 0, lockouts: 0, lockedUntil: null };
}

/** Transition 5 (admin reset): new PAP, counters cleared. The caller also revokes the identity secret. */
export function resetAuth(auth: AuthRecord, newPap: string): AuthRecord {
  return { ...auth, state: 'needed', pap: newPap, failures: 0, lockouts: 0, lockedUntil: null, suspendedUntil: null };
}

/** Admin action: no PAP needed for `policy.suspendMs` from now. */
export function suspend(auth: AuthRecord, now: number, policy: Policy): AuthRecord {
  return { ...auth, suspendedUntil: now + policy.suspendMs };
}
