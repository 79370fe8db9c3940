import { effectiveState, isSuspended } from './auth';
import type { AuthRecord, AuthState } from './types';

/** Section 7 of docs/behaviour.md, rules 2-5: what a provisioning request for a known device gets. */

/** What earned a full configuration: a proof of the device (secret, certificate), a trusted network, or a suspension. */
export type FullReason = 'secret' | 'certificate' | 'suspended' | 'trusted';

export type Decision = { config: 'full'; reason: FullReason } | { config: 'minimal'; state: AuthState };

export interface DecisionInput {
  auth: AuthRecord;
  /** The request carried a valid identity secret of this device. */
  secretValid: boolean;
  /** The request came with a device certificate, verified against the configured CA, naming this device's MAC. */
  certificateValid?: boolean;
  /** The client IP is trusted for the device's tenant (permanent or temporary). */
  trusted: boolean;
  now: number;
}

export function decide(i: DecisionInput): Decision {
  if (i.secretValid) return { config: 'full', reason: 'secret' };
  if (i.certificateValid) return { config: 'full', reason: 'certificate' };
  // Trust before suspension: 'suspended' then means the suspension alone earned it (it opens no trust).
  if (i.trusted) return { config: 'full', reason: 'trusted' };
  if (isSuspended(i.auth, i.now)) return { config: 'full', reason: 'suspended' };
  return { config: 'minimal', state: effectiveState(i.auth, i.now) };
}

/** The display label of the minimal configuration. */
export function minimalLabel(state: AuthState): string {
  switch (state) {
    case 'failed':
      return 'Authentication failed';
    case 'blocked':
      return 'Authentication blocked';
    default:
      return 'Authentication needed';
  }
}
