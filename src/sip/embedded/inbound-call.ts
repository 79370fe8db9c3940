import { TypedEmitter } from '../../ports/events';
import type { Logger } from '../../ports/logger';
import type { CallEndReason, CallEvents, ForwardedCaller, InboundCall, SipAccount, SipEndpointAddress } from '../../ports/signalling';
import type { DialogUser, SipCore } from './core';
import { inDialogRequest, withoutTag } from './dialog';
import type { Dialog } from './dialog';
import { DTMF_INFO_TYPES, infoDtmf } from '../../domain/dtmf-info';
import type { CallerSide } from './emergency-leg';
import { EmergencyRelay } from './emergency-relay';
import { ALLOW, contactFor, contactUri, isSips, contentType, headerText, newTag, reasonPhrase, responseTo, routeHeader, routeUris, userOf } from './messages';
import { Retransmit2xx } from './retransmit-2xx';
import type { SipRequest, SipResponse, ServerTransaction } from './sip-lib';

/**
 * One INVITE that passed the SipGate, from our side as UAS: answer (2xx
 * retransmitted until ACK), reject, hang up, INFO DTMF: the IVR call. The
 * emergency pass-through is another role: forward() hands the call to an
 * EmergencyRelay (emergency-relay.ts), and this class then only serves it
 * the caller's transaction (CallerSide).
 */

export interface CallSettings {
  byeTimeoutMs: number;
  forwardNoResponseMs: number;
  /** Called once when the call is over and its state can go (router bookkeeping). */
  onGone(): void;
}

/**
 * The caller's side of the call: `offered` (no final response yet),
 * `answering` (2xx sent, awaiting its ACK), `bye-after-ack` (hung up while
 * answering: the BYE follows the ACK, RFC 3261 15), `confirmed`, `closed`
 * (over, dialog still held), `released` (dialog and router entry gone).
 */
type State = 'offered' | 'answering' | 'bye-after-ack' | 'confirmed' | 'closed' | 'released';

interface AwaitingAck {
  seq: number;
  rtx: Retransmit2xx;
  /** With the ACK itself: a late offer's answer is in its body. */
  resolve(ack: SipRequest): void;
  reject(e: Error): void;
}

export class EmbeddedInboundCall extends TypedEmitter<CallEvents> implements InboundCall, DialogUser, CallerSide {
  readonly callId: string;
  readonly dialled: string;
  readonly fromUser: string;
  readonly contact: string | undefined;
  readonly userAgent: string | undefined;
  readonly offerSdp: string | undefined;
  readonly remoteTag: string;
  readonly log: Logger;
  /** Set by the router when a trusted SIP proxy relayed the call (see proxy-client.ts). */
  clientAddress: string | undefined;
  private readonly localTag = newTag();
  private readonly dialog: Dialog;
  private state: State = 'offered';
  private endedWith: CallEndReason | undefined;
  private awaiting: AwaitingAck | undefined;
  private localSdp: string | undefined;
  /** Set by forward(): the call is an emergency pass-through from then on. */
  private relay: EmergencyRelay | undefined;
  private markClosed!: () => void;
  private readonly closed = new Promise<void>((resolve) => {
    this.markClosed = resolve;
  });

  constructor(
    private readonly core: SipCore,
    private readonly invite: SipRequest,
    private readonly st: ServerTransaction,
    readonly source: SipEndpointAddress,
    readonly account: SipAccount | null,
    private readonly settings: CallSettings,
  ) {
    super((event, err) => this.log.error({ err: (err as Error).message, event }, 'call event listener threw'));
    const h = invite.headers;
    this.callId = h['call-id']!;
    this.dialled = userOf(invite.uri);
    this.fromUser = userOf(h.from!.uri);
    this.contact = contactUri(invite);
    this.userAgent = headerText(invite, 'user-agent');
    this.offerSdp = contentType(invite) === 'application/sdp' && invite.content ? invite.content : undefined;
    this.remoteTag = String(h.from!.params.tag ?? '');
    this.log = core.log.child({ callId: this.callId, account: account?.username });
    this.dialog = {
      callId: this.callId,
      localTag: this.localTag,
      remoteTag: this.remoteTag,
      local: withoutTag(h.to!),
      remote: withoutTag(h.from!),
      remoteTarget: this.contact ?? h.from!.uri,
      routeSet: routeUris(h['record-route']),
      localSeq: 0,
      peer: source,
    };
    core.addDialog(this.callId, this.localTag, this);
  }

  answer(localSdp: string): Promise<void> {
    if (this.state !== 'offered' || this.relay) {
      return Promise.reject(new Error(`cannot answer call ${this.callId}: it is ${this.relay ? 'forwarded' : this.state}`));
    }
    this.localSdp = localSdp;
    return this.send2xx(this.invite, this.st, localSdp, true).then(() => undefined);
  }

  reject(status: number, reason?: string): void {
    if (!Number.isInteger(status) || status < 300 || status > 699) throw new Error(`reject needs a final non-2xx status, got ${status}`);
    if (this.over) return;
    if (this.relay?.relaying) {
      void this.relay.hangup();
      return;
    }
    if (this.state !== 'offered') {
      this.log.warn({ status, state: this.state }, 'reject() on a call past its offer: hanging up instead');
      void this.hangup();
      return;
    }
    this.sendFinal(status, reason ?? reasonPhrase(status));
    this.finish('local-hangup');
  }

  async hangup(): Promise<void> {
    if (this.relay?.relaying) return this.relay.hangup();
    switch (this.state) {
      case 'closed':
      case 'released':
        return;
      case 'offered':
        return this.reject(480);
      case 'answering':
        // RFC 3261 15: no BYE before the ACK arrives (or we give up waiting for it)
        this.emitEnded('local-hangup');
        this.state = 'bye-after-ack';
        return this.closed;
      case 'bye-after-ack':
        return this.closed;
      case 'confirmed':
        this.emitEnded('local-hangup');
        this.state = 'closed';
        await this.byeToCaller();
        this.teardown();
    }
  }

  forward(targetUri: string, extraHeaders: Record<string, string>, caller: ForwardedCaller): Promise<void> {
    if (this.state !== 'offered' || this.relay) return Promise.reject(new Error(`cannot forward call ${this.callId}: it is ${this.state}`));
    try {
      this.relay = new EmergencyRelay(this.core, this, {
        targetUri,
        extraHeaders,
        caller,
        noResponseMs: this.settings.forwardNoResponseMs,
        byeTimeoutMs: this.settings.byeTimeoutMs,
      });
    } catch (e) {
      return Promise.reject(e);
    }
    this.relay.start();
    return this.closed;
  }

  // ---- from the router ----

  onRequest(rq: SipRequest, st: ServerTransaction): void {
    if (this.relay?.relaying) return this.relay.fromCaller(rq, st);
    switch (rq.method) {
      case 'BYE':
        st.send(responseTo(rq, 200, 'OK'));
        this.awaiting?.reject(new Error('the caller hung up before the call was confirmed'));
        this.finish('remote-bye');
        return;
      case 'INFO':
        return this.onInfo(rq, st);
      case 'OPTIONS':
        return st.send(responseTo(rq, 200, 'OK', { headers: { allow: ALLOW } }));
      case 'INVITE':
        return this.onReInvite(rq, st);
      default:
        st.send(responseTo(rq, 405, 'Method Not Allowed', { headers: { allow: ALLOW } }));
    }
  }

  onAck(rq: SipRequest): void {
    const a = this.awaiting;
    if (!a || rq.headers.cseq!.seq !== a.seq) return;
    a.rtx.stop();
    this.awaiting = undefined;
    const byeNow = this.state === 'bye-after-ack';
    if (this.state === 'answering' || byeNow) this.state = 'confirmed';
    a.resolve(rq);
    if (byeNow) this.closeWithBye();
  }

  onCancel(rq: SipRequest, st: ServerTransaction): void {
    st.send(responseTo(rq, 200, 'OK'));
    if (this.state !== 'offered') return; // too late: the INVITE has its final response
    if (this.relay?.relaying) return this.relay.callerCancelled();
    this.sendFinal(487, 'Request Terminated');
    this.finish('remote-cancel');
  }

  /** Server shutdown: end the call as gracefully as closing sockets allow. */
  shutdown(): void {
    if (this.over) return;
    if (this.relay?.relaying) void this.relay.hangup();
    else if (this.state === 'offered') this.sendFinal(503, 'Service Unavailable');
    else void this.byeToCaller();
    this.finish('local-hangup');
  }

  // ---- CallerSide, for the emergency relay and its leg ----

  /** No final response yet: the relay may still start its leg. */
  stillOffered(): boolean {
    return this.state === 'offered';
  }

  relayProvisional(status: number, reason: string, sdp: string | undefined): void {
    if (this.state !== 'offered') return;
    const rs = responseTo(this.invite, status, reason, { toTag: this.localTag, content: sdp });
    if (sdp) rs.headers['content-type'] = 'application/sdp';
    rs.headers.contact = [contactFor(this.core.local, this.source.transport, undefined, isSips(this.invite.uri))];
    this.st.send(rs);
  }

  relayFailure(status: number, reason: string, end: CallEndReason): void {
    if (this.state === 'offered') this.sendFinal(status, reason);
    this.finish(end);
  }

  relayAnswer(sdp: string | undefined): Promise<string | undefined> {
    if (this.state !== 'offered') return Promise.reject(new Error('the caller is gone'));
    return this.send2xx(this.invite, this.st, sdp, true).then((ack) => (contentType(ack) === 'application/sdp' && ack.content ? ack.content : undefined));
  }

  byeToCaller(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.settings.byeTimeoutMs).unref();
      this.core.sendRequest(this.dialog.peer, inDialogRequest(this.dialog, 'BYE'), (rs) => {
        if (rs.status < 200) return;
        clearTimeout(timer);
        resolve();
      });
    });
  }

  finish(reason: CallEndReason): void {
    this.emitEnded(reason);
    if (this.state !== 'released') this.state = 'closed';
    this.teardown();
  }

  // ---- internals ----

  /** Closed or released: nothing more is sent to the caller. */
  private get over(): boolean {
    return this.state === 'closed' || this.state === 'released';
  }

  /** Resolves with the ACK. */
  private send2xx(rq: SipRequest, st: ServerTransaction, sdp: string | undefined, initial: boolean): Promise<SipRequest> {
    const rs: SipResponse = responseTo(rq, 200, 'OK', { toTag: this.localTag, content: sdp, headers: { allow: ALLOW } });
    rs.headers.contact = [contactFor(this.core.local, this.source.transport, undefined, isSips(this.invite.uri))];
    if (sdp) rs.headers['content-type'] = 'application/sdp';
    const recordRoute = routeHeader(routeUris(rq.headers['record-route']));
    if (recordRoute) rs.headers['record-route'] = recordRoute;
    st.send(rs);
    if (initial) this.state = 'answering';
    return new Promise<SipRequest>((resolve, reject) => {
      const rtx = new Retransmit2xx(
        (peer, m) => this.core.sendStateless(peer, m),
        this.source,
        rs,
        this.core.t1Ms,
        () => {
          this.awaiting = undefined;
          this.log.warn('no ACK for 200 OK: ending the call');
          this.emitEnded('timeout');
          reject(new Error(`no ACK for the 200 OK of call ${this.callId}`));
          this.closeWithBye();
        },
      );
      this.awaiting = { seq: rq.headers.cseq!.seq, rtx, resolve, reject };
    });
  }

  private sendFinal(status: number, reason: string): void {
    this.st.send(responseTo(this.invite, status, reason, { toTag: this.localTag }));
  }

  private onInfo(rq: SipRequest, st: ServerTransaction): void {
    const type = contentType(rq);
    const body = rq.content ?? '';
    const got = infoDtmf(type, body);
    if (got.kind === 'keep-alive') return st.send(responseTo(rq, 200, 'OK'));
    if (got.kind === 'unsupported') {
      return st.send(responseTo(rq, 415, 'Unsupported Media Type', { headers: { accept: DTMF_INFO_TYPES.join(', ') } }));
    }
    if (got.kind === 'invalid') return st.send(responseTo(rq, 400, 'Bad Request', { headers: { warning: `399 papgate "${got.problem}"` } }));
    st.send(responseTo(rq, 200, 'OK'));
    this.emit('dtmf', got.digit);
  }

  private onReInvite(rq: SipRequest, st: ServerTransaction): void {
    if (this.state !== 'confirmed' || this.awaiting) return st.send(responseTo(rq, 491, 'Request Pending'));
    // Keep the session as it is: answer a refresh or hold with our current SDP.
    this.send2xx(rq, st, this.localSdp, false).catch((e: Error) => this.log.info({ err: e.message }, 're-INVITE not acknowledged'));
  }

  /** Confirmed (or given up) dialog that we end: BYE, then release. */
  private closeWithBye(): void {
    if (this.over) return;
    this.state = 'closed';
    void this.byeToCaller().then(() => this.teardown());
  }

  private emitEnded(reason: CallEndReason): void {
    if (this.endedWith) return;
    this.endedWith = reason;
    this.log.info({ reason }, 'call ended');
    this.emit('ended', reason);
  }

  private teardown(): void {
    if (this.state === 'released') return;
    this.state = 'released';
    this.awaiting?.rtx.stop();
    this.relay?.teardown();
    this.core.removeDialog(this.callId, this.localTag);
    this.settings.onGone();
    this.markClosed();
  }
}
