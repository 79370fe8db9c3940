import { SipGate } from '../../src/app/sip-gate';
import { systemClock } from '../../src/ports/clock';
import { cryptoRandom } from '../../src/ports/random';
import type { CallHandler, NotifyTarget, SipAccount, Signalling } from '../../src/ports/signalling';

/**
 * What the Signalling contract suite needs from each adapter's test rig: the
 * adapter itself, and a phone (and an emergency gateway) on the far side of
 * its wire. Each rig says what its stack can and cannot do (capabilities), so
 * the suite states a difference instead of skipping a scenario.
 */

export const REALM = 'papgate.contract';
export const ACCOUNT: SipAccount = { username: 'dev1', password: 'pw-dev1-Contract', mac: '001565c0ffee', tenantId: 1 };
export const EMERGENCY = '112';
export const OFFER = [
  'v=0',
  'o=phone 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  '',
].join('\r\n');
export const ANSWER = OFFER.replace('40000', '41000').replace('o=phone', 'o=papgate');

export interface SignallingCapabilities {
  /**
   * How an emergency call leaves papgate: `b2bua`, papgate dials the gateway
   * itself and names the caller in its From (embedded); `proxy`, the SIP
   * server proxies the caller's INVITE and papgate names the caller in
   * P-Asserted-Identity (drachtio-server).
   */
  emergencyRelay: 'b2bua' | 'proxy';
  /**
   * Who answers the INVITE 487 after the phone's CANCEL: papgate (embedded),
   * or the SIP server before papgate hears of it (drachtio-server; its fake
   * does not model that answer, so the rig can only show that papgate sent none).
   */
  cancelledInviteAnsweredBy: 'papgate' | 'sip-server';
}

/** The phone's side of one INVITE that passed the digest challenge. */
export interface PhoneCall {
  readonly callId: string;
  /** The final response to the INVITE. */
  final(): Promise<{ status: number; body: string }>;
  /** ACK for a 2xx. */
  ack(): void;
  /** An INFO in the dialog; resolves with its final status. */
  info(contentType: string, body: string): Promise<number>;
  /** BYE from the phone; resolves with its final status. */
  bye(): Promise<number>;
  /** CANCEL of the INVITE (before its final response). */
  cancel(): void;
  /** Final statuses papgate itself has sent for the INVITE so far. */
  finalsFromPapgate(): Promise<number[]>;
  /** Resolves when the stack sends a BYE to the phone (answered 200). */
  byeFromPapgate(): Promise<void>;
}

/** What the emergency gateway saw of a forwarded call. */
export interface GatewaySaw {
  requestUri: string;
  header(name: string): string | undefined;
}

export interface SignallingRig {
  readonly capabilities: SignallingCapabilities;
  readonly signalling: Signalling;
  /** The Contact URI the phone writes in its requests. */
  readonly phoneContact: string;
  /** Where the handler forwards emergency calls; the gateway refuses them with 503. */
  readonly gatewayUri: string;
  start(handler: CallHandler): Promise<void>;
  stop(): Promise<void>;
  /** REGISTER without credentials: the status of that one request. */
  registerBare(): Promise<number>;
  /** REGISTER with credentials (after the 401) for `aor`: the final status of the second request. */
  register(o: { aor?: string; expires: string; password?: string }): Promise<number>;
  /** INVITE to `dialled` with credentials (after the 401). */
  invite(dialled: string): Promise<PhoneCall>;
  /** A NOTIFY target at the phone; the phone answers it 200, or never when `answer` is false. */
  notifyTarget(answer: boolean): NotifyTarget;
  /** The forwarded INVITE the gateway refused. */
  gatewayRefused(): Promise<GatewaySaw>;
}

/** The SipGate both rigs put in front of their stack: one account, 112 as the emergency number. */
export function contractGate(): SipGate {
  return new SipGate({
    realm: REALM,
    emergencyNumbers: [EMERGENCY],
    nonceTtlMs: 60_000,
    lookupAccount: async (u) => (u === ACCOUNT.username ? ACCOUNT : null),
    clock: systemClock,
    random: cryptoRandom,
  });
}

/** Polls `check` until it holds (bounded). */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
