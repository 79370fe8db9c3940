import type { Logger } from '../../ports/logger';
import { UNVERIFIED_CALLER, type CallEndReason, type ForwardedCaller, type SipEndpointAddress } from '../../ports/signalling';
import type { DialogUser, SipCore } from './core';
import { ackFor, inDialogRequest } from './dialog';
import type { Dialog } from './dialog';
import { contactFor, contactUri, contentType, newCallId, newTag, responseTo, routeUris, viaFor } from './messages';
import type { ClientTransaction, SipRequest, SipResponse, ServerTransaction, ViaHeader } from './sip-lib';

/**
 * The gateway side of an emergency pass-through (a small B2BUA): it sends the
 * caller's offer to the gateway, relays provisional and final responses back,
 * ACKs the gateway's 2xx, relays BYE both ways and the caller's CANCEL.
 * A late offer (INVITE without SDP, RFC 3261 13.2.1) has the gateway's offer
 * in its 2xx and the caller's answer in the caller's ACK, so the ACK to the
 * gateway waits for the caller's.
 * Emergency fails open: only the gateway itself can refuse the call.
 */

/** What the leg needs from the caller's side of the call. */
export interface CallerSide {
  readonly callId: string;
  readonly offerSdp: string | undefined;
  readonly log: Logger;
  relayProvisional(status: number, reason: string, sdp: string | undefined): void;
  /** Final non-2xx to the caller; ends the call. */
  relayFailure(status: number, reason: string, end: CallEndReason): void;
  /**
   * 2xx to the caller, retransmitted until the ACK; resolves with the ACK's SDP
   * (the answer to a late offer), rejects when no ACK comes (64*T1).
   */
  relayAnswer(sdp: string | undefined): Promise<string | undefined>;
  byeToCaller(): Promise<void>;
  finish(reason: CallEndReason): void;
}

export interface EmergencyLegOptions {
  /** Named in our From: the device's SIP account, or papgate's "unverified"; never what the caller wrote. */
  caller: ForwardedCaller;
  target: SipEndpointAddress;
  targetUri: string;
  extraHeaders: Record<string, string>;
  /** No response at all from the gateway within this time: 503 to the caller. */
  noResponseMs: number;
  /** Bound on waiting for the gateway's answer to our BYE. */
  byeTimeoutMs: number;
}

/**
 * Where the leg stands. `calling`: INVITE sent, nothing heard; `trying`: 100
 * heard; `early`: a provisional response came (a CANCEL may go now);
 * `answered`: the gateway's 2xx made a dialog; `cancel-pending`: the caller
 * is gone before any provisional response, so the CANCEL waits for one;
 * `over`: the call is over on the caller's side (a late 2xx still gets a BYE).
 */
type LegState = 'calling' | 'trying' | 'early' | 'answered' | 'cancel-pending' | 'over';

export class EmergencyLeg implements DialogUser {
  private readonly callId: string;
  private readonly localTag = newTag();
  private invite: SipRequest | undefined;
  private inviteVia: ViaHeader | undefined;
  private tx: ClientTransaction | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  private state: LegState = 'calling';
  private dialog: Dialog | undefined;
  private ack: SipRequest | undefined;

  constructor(
    private readonly core: SipCore,
    private readonly caller: CallerSide,
    private readonly o: EmergencyLegOptions,
  ) {
    this.callId = newCallId(core.local.host);
  }

  get remoteTag(): string {
    return this.dialog?.remoteTag ?? '';
  }

  start(): void {
    const named = this.o.caller.kind === 'device' ? this.o.caller.username : UNVERIFIED_CALLER;
    const user = named.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) => encodeURIComponent(c)) || UNVERIFIED_CALLER;
    const headers: SipRequest['headers'] = {
      from: { uri: `sip:${user}@${this.core.local.host}`, params: { tag: this.localTag } },
      to: { uri: this.o.targetUri, params: {} },
      'call-id': this.callId,
      cseq: { seq: 1, method: 'INVITE' },
      contact: [contactFor(this.core.local, this.o.target.transport)],
    };
    for (const [k, v] of Object.entries(this.o.extraHeaders)) headers[k] = v; // sent with the caller's spelling
    if (this.caller.offerSdp) headers['content-type'] = 'application/sdp';
    this.invite = { method: 'INVITE', uri: this.o.targetUri, headers, content: this.caller.offerSdp ?? '' };
    this.inviteVia = viaFor(this.core.local, this.o.target.transport);
    this.tx = this.core.sendRequest(this.o.target, this.invite, (rs) => this.onResponse(rs), this.inviteVia);
    this.silenceTimer = setTimeout(() => this.gatewaySilent(), this.o.noResponseMs);
    this.caller.log.info({ gateway: `${this.o.target.address}:${this.o.target.port}` }, 'emergency call forwarded');
  }

  /** The caller cancelled before the answer: 487 to them, CANCEL (or BYE) to the gateway. */
  callerCancelled(): void {
    if (this.isOver()) return;
    const was = this.state;
    this.state = 'over';
    this.caller.relayFailure(487, 'Request Terminated', 'remote-cancel');
    this.releaseGateway(was);
  }

  /** An in-dialog request from the caller. */
  fromCaller(rq: SipRequest, st: ServerTransaction): void {
    if (rq.method === 'BYE') {
      st.send(responseTo(rq, 200, 'OK'));
      this.state = 'over';
      void this.byeGateway();
      this.caller.finish('remote-bye');
    } else if (rq.method === 'INFO' && this.dialog) {
      this.relayInfo(rq, st, this.dialog);
    } else if (rq.method === 'INVITE') {
      st.send(responseTo(rq, 488, 'Not Acceptable Here')); // no session changes on a relayed emergency call
    } else {
      st.send(responseTo(rq, 200, 'OK'));
    }
  }

  /** A request from the gateway inside its dialog. */
  onRequest(rq: SipRequest, st: ServerTransaction): void {
    if (rq.method === 'BYE') {
      st.send(responseTo(rq, 200, 'OK'));
      if (this.isOver()) return;
      this.state = 'over';
      void this.caller.byeToCaller();
      this.caller.finish('remote-bye');
    } else if (rq.method === 'INVITE') {
      st.send(responseTo(rq, 488, 'Not Acceptable Here'));
    } else {
      st.send(responseTo(rq, 200, 'OK'));
    }
  }

  onAck(): void {
    /* we are the UAC on this leg: no ACK comes to us */
  }

  /** Local hangup (shutdown): end both sides. */
  async hangup(): Promise<void> {
    if (this.isOver()) return;
    const was = this.state;
    this.state = 'over';
    if (this.dialog) await Promise.all([this.byeGateway(), this.caller.byeToCaller()]);
    else {
      this.releaseGateway(was);
      this.caller.relayFailure(480, 'Temporarily Unavailable', 'local-hangup');
    }
    this.caller.finish('local-hangup');
  }

  /** Releases timers and the dialog entry. */
  teardown(): void {
    clearTimeout(this.silenceTimer);
    if (this.dialog) this.core.removeDialog(this.callId, this.localTag);
  }

  private isOver(): boolean {
    return this.state === 'over' || this.state === 'cancel-pending';
  }

  /** The caller is gone (state already `over`): end what the gateway holds, as far as it has got (`was`). */
  private releaseGateway(was: LegState): void {
    if (this.dialog) void this.byeGateway();
    else if (was === 'early') this.sendCancel();
    else this.state = 'cancel-pending'; // CANCEL may only follow a provisional response (RFC 3261 9.1)
  }

  private onResponse(rs: SipResponse): void {
    if (this.state === 'calling') this.state = 'trying';
    clearTimeout(this.silenceTimer);
    if (rs.status < 200) return this.onProvisional(rs);
    if (rs.status < 300) return this.onAnswer(rs);
    if (this.isOver()) return; // the caller already has its final response (487 / 480)
    this.state = 'over';
    this.caller.log.info({ status: rs.status }, 'emergency gateway refused the call');
    this.caller.relayFailure(rs.status, rs.reason || 'Error', 'error');
  }

  private onProvisional(rs: SipResponse): void {
    if (rs.status === 100) return;
    if (this.state === 'cancel-pending') return this.sendCancel();
    if (this.isOver()) return;
    if (this.state !== 'answered') this.state = 'early'; // a late 18x after the 2xx changes nothing
    const sdp = contentType(rs) === 'application/sdp' && rs.content ? rs.content : undefined;
    this.caller.relayProvisional(rs.status, rs.reason || 'Session Progress', sdp);
  }

  private onAnswer(rs: SipResponse): void {
    if (this.dialog) {
      // a retransmitted 2xx: repeat our ACK, unless it still waits for the caller's answer
      if (this.ack) this.core.sendStateless(this.dialog.peer, this.ack);
      return;
    }
    const inv = this.invite!;
    this.dialog = {
      callId: this.callId,
      localTag: this.localTag,
      remoteTag: String(rs.headers.to?.params.tag ?? ''),
      local: { uri: inv.headers.from!.uri, params: {} },
      remote: { uri: this.o.targetUri, params: {} },
      remoteTarget: contactUri(rs) ?? this.o.targetUri,
      routeSet: routeUris(rs.headers['record-route']).reverse(),
      localSeq: 1,
      peer: this.o.target,
    };
    this.core.addDialog(this.callId, this.localTag, this);
    if (this.isOver()) {
      this.state = 'over';
      void this.byeGateway(); // answered after the caller gave up
      return;
    }
    this.state = 'answered';
    const lateOffer = !this.caller.offerSdp;
    if (!lateOffer) this.sendAck();
    const sdp = contentType(rs) === 'application/sdp' ? rs.content : undefined;
    this.caller.log.info({ lateOffer }, 'emergency gateway answered');
    this.caller.relayAnswer(sdp).then(
      (answer) => {
        if (!lateOffer) return;
        if (!answer) this.caller.log.warn('late-offer caller ACKed without an SDP answer');
        this.sendAck(answer);
      },
      () => {
        // the caller never ACKed our 2xx: the call side ends itself; release the gateway too
        this.state = 'over';
        void this.byeGateway();
      },
    );
  }

  /** The ACK for the gateway's 2xx, sent once; `sdp` is the caller's answer to a late offer. */
  private sendAck(sdp?: string): void {
    if (!this.dialog || this.ack) return;
    this.ack = ackFor(this.dialog, 1, sdp ? { content: sdp, contentType: 'application/sdp' } : {});
    this.ack.headers.via = [viaFor(this.core.local, this.o.target.transport)];
    this.ack.headers['max-forwards'] = '70';
    this.core.sendStateless(this.dialog.peer, this.ack);
  }

  private gatewaySilent(): void {
    if (this.state !== 'calling') return; // heard from, or the caller is gone
    this.state = 'over';
    this.tx?.shutdown();
    this.caller.log.warn({ gateway: `${this.o.target.address}:${this.o.target.port}` }, 'emergency gateway did not answer');
    this.caller.relayFailure(503, 'Service Unavailable', 'error');
  }

  private sendCancel(): void {
    this.state = 'over';
    const inv = this.invite!;
    const cancel: SipRequest = {
      method: 'CANCEL',
      uri: inv.uri,
      headers: {
        from: inv.headers.from,
        to: inv.headers.to,
        'call-id': this.callId,
        cseq: { seq: 1, method: 'CANCEL' },
      },
      content: '',
    };
    this.core.sendRequest(this.o.target, cancel, () => {}, { ...this.inviteVia!, params: { ...this.inviteVia!.params } });
  }

  private byeGateway(): Promise<void> {
    const d = this.dialog;
    if (!d) return Promise.resolve();
    this.sendAck(); // a 2xx is ACKed before the BYE; an ACK still held for a late offer's answer goes without one
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.o.byeTimeoutMs).unref();
      this.core.sendRequest(d.peer, inDialogRequest(d, 'BYE'), (rs) => {
        if (rs.status < 200) return;
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private relayInfo(rq: SipRequest, st: ServerTransaction, d: Dialog): void {
    const type = contentType(rq);
    const info = inDialogRequest(d, 'INFO', type ? { contentType: type, content: rq.content ?? '' } : {});
    this.core.sendRequest(d.peer, info, (rs) => {
      if (rs.status >= 200) st.send(responseTo(rq, rs.status, rs.reason || 'OK'));
    });
  }
}
