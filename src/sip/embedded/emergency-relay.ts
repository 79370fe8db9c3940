import type { ForwardedCaller } from '../../ports/signalling';
import type { SipCore } from './core';
import { EmergencyLeg, type CallerSide } from './emergency-leg';
import { checkExtraHeader } from './messages';
import type { SipRequest, ServerTransaction } from './sip-lib';

/**
 * The emergency pass-through role of an inbound call, apart from its IVR role:
 * from forward() on, the caller's requests, CANCEL and hang-ups go to the
 * relay, which resolves the gateway and hands the call to an EmergencyLeg.
 * `resolving`: looking up the gateway, no leg yet; `relaying`: the leg runs.
 */

type RelayState = 'resolving' | 'relaying';

export interface RelayTarget {
  targetUri: string;
  extraHeaders: Record<string, string>;
  caller: ForwardedCaller;
  noResponseMs: number;
  byeTimeoutMs: number;
}

export class EmergencyRelay {
  private state: RelayState = 'resolving';
  private leg: EmergencyLeg | undefined;

  /** Throws when an extra header would break the message (nothing is sent then). */
  constructor(
    private readonly core: SipCore,
    private readonly callerSide: CallerSide & { stillOffered(): boolean },
    private readonly t: RelayTarget,
  ) {
    for (const [k, v] of Object.entries(t.extraHeaders)) checkExtraHeader(k, v);
  }

  /** Resolves the gateway and starts the leg; a gateway that cannot be used is 503 to the caller. */
  start(): void {
    this.core.resolve(this.t.targetUri).then(
      (target) => {
        if (!this.callerSide.stillOffered()) return;
        this.leg = new EmergencyLeg(this.core, this.callerSide, {
          caller: this.t.caller,
          target,
          targetUri: this.t.targetUri,
          extraHeaders: this.t.extraHeaders,
          noResponseMs: this.t.noResponseMs,
          byeTimeoutMs: this.t.byeTimeoutMs,
        });
        this.state = 'relaying';
        this.leg.start();
      },
      (e: Error) => {
        this.callerSide.log.error({ err: e.message, targetUri: this.t.targetUri }, 'emergency target unusable');
        this.callerSide.relayFailure(503, 'Service Unavailable', 'error');
      },
    );
  }

  /** True once the leg runs: the caller's requests, CANCEL and hang-ups are the leg's. */
  get relaying(): boolean {
    return this.state === 'relaying';
  }

  fromCaller(rq: SipRequest, st: ServerTransaction): void {
    this.leg?.fromCaller(rq, st);
  }

  callerCancelled(): void {
    this.leg?.callerCancelled();
  }

  hangup(): Promise<void> {
    return this.leg ? this.leg.hangup() : Promise.resolve();
  }

  teardown(): void {
    this.leg?.teardown();
  }
}
