import { TypedEmitter } from '../../ports/events';
import type { Logger } from '../../ports/logger';
import {
  UNVERIFIED_CALLER,
  type CallEndReason,
  type CallEvents,
  type ForwardedCaller,
  type InboundCall,
  type SipAccount,
  type SipEndpointAddress,
} from '../../ports/signalling';
import { DTMF_INFO_TYPES, infoDtmf } from '../../domain/dtmf-info';
import { parsedContacts, parsedFrom, sourceOf, userOfUri } from './sip-text';
import type { SrfDialogLike, SrfLike, SrfRequestLike, SrfResponseLike } from './srf-types';

export interface DrachtioCallOptions {
  srf: SrfLike;
  req: SrfRequestLike;
  res: SrfResponseLike;
  account: SipAccount | null;
  log: Logger;
  /** How long answer() waits for the ACK before giving the call up. */
  ackTimeoutMs: number;
}

type CallState = 'offered' | 'answering' | 'answered' | 'forwarded' | 'ended';

/** An INVITE that passed the SipGate, over drachtio-srf's request, response and dialog. */
export class DrachtioInboundCall extends TypedEmitter<CallEvents> implements InboundCall {
  readonly callId: string;
  readonly dialled: string;
  readonly fromUser: string;
  readonly source: SipEndpointAddress;
  readonly contact: string | undefined;
  readonly userAgent: string | undefined;
  readonly offerSdp: string | undefined;
  readonly account: SipAccount | null;

  private state: CallState = 'offered';
  private dialog: SrfDialogLike | undefined;
  private readonly log: Logger;

  constructor(private readonly o: DrachtioCallOptions) {
    super((event, err) => o.log.error({ err: errText(err), event }, 'call event listener threw'));
    const { req } = o;
    this.callId = req.get('Call-ID') ?? '';
    this.dialled = userOfUri(req.uri) ?? '';
    this.fromUser = userOfUri(parsedFrom(req, 'from')?.uri) ?? '';
    this.source = sourceOf(req);
    this.contact = parsedContacts(req)[0]?.uri;
    this.userAgent = req.get('User-Agent');
    this.offerSdp = req.body ? req.body : undefined;
    this.account = o.account;
    this.log = o.log;
    req.on('cancel', () => {
      // drachtio-server has already answered the CANCEL and the INVITE (487).
      if (this.state === 'offered' || this.state === 'answering') this.end('remote-cancel');
    });
  }

  async answer(localSdp: string): Promise<void> {
    if (this.state !== 'offered') throw new Error(`cannot answer a call that is ${this.state}`);
    if (!this.contact) {
      // srf's createUAS would report the error and still send the 200 OK.
      this.reject(400, 'Missing Contact');
      throw new Error('the INVITE has no Contact');
    }
    this.state = 'answering';
    let dialog: SrfDialogLike;
    try {
      dialog = await this.o.srf.createUAS(this.o.req, this.o.res, {
        localSdp,
        headers: { 'Content-Type': 'application/sdp' },
      });
    } catch (err) {
      if (this.state === 'answering') this.end('error');
      throw err;
    }
    this.dialog = dialog;
    if (this.state !== 'answering') {
      // CANCEL crossed our 200 OK: end the dialog we just made.
      await dialog.destroy().catch(() => undefined);
      throw new Error('call ended while answering');
    }
    this.state = 'answered';
    dialog.on('destroy', () => this.end('remote-bye'));
    dialog.on('info', (req, res) => this.onInfo(req, res));
    await this.waitForAck(dialog);
  }

  reject(status: number, reason?: string): void {
    if (this.state !== 'offered' || this.o.res.finalResponseSent) return;
    try {
      if (reason) this.o.res.send(status, reason);
      else this.o.res.send(status);
    } catch (err) {
      this.log.warn({ err: errText(err), status }, 'could not send the final response');
    }
    this.end('local-hangup');
  }

  async hangup(): Promise<void> {
    if (this.state === 'offered') return this.reject(480, 'Temporarily Unavailable');
    if (this.state !== 'answered' && this.state !== 'answering') return;
    const dialog = this.dialog;
    this.end('local-hangup');
    if (dialog) {
      await dialog.destroy().catch((err: unknown) => this.log.warn({ err: errText(err) }, 'BYE failed'));
    }
  }

  /**
   * Emergency pass-through as a stateful proxy in drachtio-server (with
   * Record-Route, so the whole dialog keeps passing the server): nothing of
   * ours stays in the media or signalling path. Resolves when the proxy has
   * its final answer; the dialog that follows is relayed by the server alone.
   * The identity headers we set replace the caller's: an unproven caller's
   * From and asserted identity become papgate's own "unverified".
   */
  async forward(targetUri: string, extraHeaders: Record<string, string>, caller: ForwardedCaller): Promise<void> {
    if (this.state !== 'offered') throw new Error(`cannot forward a call that is ${this.state}`);
    this.state = 'forwarded';
    let ending: CallEndReason = 'error';
    try {
      const result = await this.o.srf.proxyRequest(this.o.req, targetUri, {
        remainInDialog: true,
        headers: { ...extraHeaders, ...identityHeaders(caller, this.o.req) },
      });
      // drachtio-server answers the phone's CANCEL itself (200, then 487 upstream).
      ending = result.connected ? 'remote-bye' : result.finalStatus === 487 ? 'remote-cancel' : 'error';
      this.log.info({ finalStatus: result.finalStatus, connected: result.connected }, 'emergency call proxied');
    } catch (err) {
      this.log.error({ err: errText(err) }, 'emergency proxy failed');
    } finally {
      this.end(ending);
    }
  }

  private waitForAck(dialog: SrfDialogLike): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('no ACK for our 200 OK'));
        void this.hangup();
      }, this.o.ackTimeoutMs);
      timer.unref?.();
      dialog.on('ack', () => {
        clearTimeout(timer);
        resolve();
      });
      this.once('ended', () => {
        clearTimeout(timer);
        reject(new Error('call ended before the ACK'));
      });
    });
  }

  private onInfo(req: SrfRequestLike, res: SrfResponseLike): void {
    const got = infoDtmf(req.get('Content-Type'), req.body);
    try {
      if (got.kind === 'unsupported') return res.send(415, { headers: { Accept: DTMF_INFO_TYPES.join(', ') } });
      if (got.kind === 'invalid') return res.send(400, { headers: { Warning: `399 papgate "${got.problem}"` } });
      res.send(200);
    } catch {
      /* the dialog is gone; a digit still counts */
    }
    if (got.kind === 'digit' && this.state === 'answered') this.emit('dtmf', got.digit);
  }

  private end(reason: CallEndReason): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.emit('ended', reason);
  }
}

/** Host for identities papgate asserts itself (RFC 2606 .invalid: never routable, never the caller's). */
const OWN_IDENTITY_HOST = 'papgate.invalid';

/**
 * P-Asserted-Identity for a device (its SIP account); for an unproven caller
 * also a From of papgate's own with the caller's tag kept (the dialog needs it).
 */
function identityHeaders(caller: ForwardedCaller, req: SrfRequestLike): Record<string, string> {
  if (caller.kind === 'device') return { 'P-Asserted-Identity': `<sip:${caller.username}@${OWN_IDENTITY_HOST}>` };
  const own = `<sip:${UNVERIFIED_CALLER}@${OWN_IDENTITY_HOST}>`;
  const tag = parsedFrom(req, 'from')?.params.tag;
  const safeTag = tag && /^[A-Za-z0-9\-.!%*_+`'~]{1,128}$/.test(tag) ? tag : undefined;
  return { From: safeTag ? `${own};tag=${safeTag}` : own, 'P-Asserted-Identity': own };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
