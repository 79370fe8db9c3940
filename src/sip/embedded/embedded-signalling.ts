import type { Admission, SipGate } from '../../app/sip-gate';
import type { SourceLimits } from '../../app/source-limits';
import type { Clock } from '../../ports/clock';
import type { Logger } from '../../ports/logger';
import { TypedEmitter } from '../../ports/events';
import {
  DEFAULT_NOTIFY_TIMEOUT_MS,
  type CallHandler,
  type NotifyTarget,
  type Registration,
  type Signalling,
  type SignallingEvents,
  type SipEndpointAddress,
} from '../../ports/signalling';
import { SipCore } from './core';
import { EmbeddedInboundCall } from './inbound-call';
import {
  ALLOW,
  ALLOWED_METHODS,
  KNOWN_METHODS,
  authorizationText,
  headerText,
  newTag,
  reasonPhrase,
  responseTo,
  routeHeader,
  routeUris,
  userOf,
} from './messages';
import { sendNotify } from './notifier';
import { SipProxies } from './proxy-client';
import { InMemoryRegistrations, Registrar, type RegisterRequest, type RegistrationStore } from '../../app/registrar';
import type { SipRequest, ServerTransaction, NameAddr } from './sip-lib';
import type { TcpLimits } from './tcp-limits';
import type { SipTlsOptions } from './transport';

/**
 * The embedded SIP stack behind the Signalling port: routes each new request
 * (OPTIONS, REGISTER, INVITE, CANCEL, in-dialog requests), consults the
 * SipGate for REGISTER and out-of-dialog INVITE, keeps registrations, sends
 * check-sync NOTIFYs.
 */

export interface EmbeddedSignallingOptions {
  address: string;
  port: number;
  udp: boolean;
  tcp: boolean;
  gate: SipGate;
  log: Logger;
  clock: Clock;
  /** Host put in Via and Contact when `address` is not what phones should use (0.0.0.0, NAT). */
  advertisedAddress?: string;
  /** NOTIFY without a final answer in this time resolves 0 (default DEFAULT_NOTIFY_TIMEOUT_MS). */
  notifyTimeoutMs?: number;
  minExpires?: number;
  maxExpires?: number;
  /** RFC 3261 T1 (default 500 ms); tests shorten it. 2xx retransmission gives up after 64*T1. */
  t1Ms?: number;
  /** How long the emergency gateway may stay silent before the caller gets 503 (default 8000 ms). */
  forwardNoResponseMs?: number;
  /** Per-source request rate; none: unlimited. */
  limits?: Pick<SourceLimits, 'sipRequest'>;
  /** SIP TCP connection limits and idle timeouts (defaults in tcp-limits.ts). */
  tcpLimits?: Partial<TcpLimits>;
  /** SIP over TLS on its own port with this certificate (shares the TCP limits); absent: none. */
  tls?: SipTlsOptions;
  /** Where bindings live: the shared store on a server (default: this process only). */
  registrations?: RegistrationStore;
  /** IPs/CIDRs of SIP proxies in front (Kamailio) whose Vias tell the phone's address. */
  trustedProxies?: readonly string[];
}

/** An INVITE between its arrival and its call's end, found again by CANCEL (same branch and Call-ID). */
interface PendingInvite {
  st: ServerTransaction;
  rq: SipRequest;
  cancelled: boolean;
  call?: EmbeddedInboundCall;
}

export class EmbeddedSignalling extends TypedEmitter<SignallingEvents> implements Signalling {
  private readonly core: SipCore;
  private readonly registrar: Registrar;
  private readonly proxies: SipProxies;
  private readonly pending = new Map<string, PendingInvite>();
  private readonly calls = new Set<EmbeddedInboundCall>();
  private handler: CallHandler | undefined;
  private stopping = false;

  constructor(private readonly o: EmbeddedSignallingOptions) {
    super((event, err) => o.log.error({ err: (err as Error).message, event }, 'signalling event listener threw'));
    this.core = new SipCore({
      address: o.address,
      port: o.port,
      udp: o.udp,
      tcp: o.tcp,
      log: o.log,
      advertisedAddress: o.advertisedAddress,
      t1Ms: o.t1Ms ?? 500,
      tcpLimits: o.tcpLimits,
      tls: o.tls,
      onRequest: (rq, st, peer) => this.onRequest(rq, st, peer),
    });
    this.proxies = new SipProxies(o.trustedProxies ?? []);
    this.registrar = new Registrar({
      store: o.registrations ?? new InMemoryRegistrations(),
      clock: o.clock,
      minExpires: o.minExpires ?? 60,
      maxExpires: o.maxExpires ?? 3600,
      defaultExpires: 3600,
    });
  }

  /** The port actually bound (useful when configured as 0). */
  get port(): number {
    return this.core.local.port;
  }

  /** The TLS port actually bound; undefined without TLS. */
  get tlsPort(): number | undefined {
    return this.core.local.tlsPort;
  }

  /** Takes a renewed certificate for new TLS connections. */
  setTlsCertificate(pair: { cert: Buffer; key: Buffer }): void {
    this.core.transport.setSecureContext(pair);
  }

  async start(handler: CallHandler): Promise<void> {
    if (this.handler) throw new Error('EmbeddedSignalling already started');
    this.handler = handler;
    await this.core.start();
    this.o.log.info(
      { address: this.o.address, port: this.core.local.port, udp: this.o.udp, tcp: this.o.tcp, tlsPort: this.core.local.tlsPort ?? null },
      'SIP listening',
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const call of [...this.calls]) call.shutdown();
    this.pending.clear();
    await this.core.stop();
  }

  async notify(target: NotifyTarget, event: string): Promise<number> {
    const status = await sendNotify(this.core, target, event, this.o.notifyTimeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS);
    this.emit('notify', { username: target.username, event, status });
    return status;
  }

  registration(username: string): Promise<Registration | undefined> {
    return this.registrar.lookup(username);
  }

  private onRequest(rq: SipRequest, st: ServerTransaction, peer: SipEndpointAddress): void {
    const reply = (status: number, headers: Record<string, string> = {}) => st.send(responseTo(rq, status, reasonPhrase(status), { toTag: newTag(), headers }));
    // An emergency INVITE is never refused for an extension we do not know, nor for its source's rate.
    const emergency = rq.method === 'INVITE' && this.o.gate.isEmergency(userOf(rq.uri));
    if (!emergency && !this.withinRate(rq, st, peer)) return;
    if (!ALLOWED_METHODS.has(rq.method)) return reply(KNOWN_METHODS.has(rq.method) ? 405 : 501, { allow: ALLOW });
    // tel: is taken where a number is dialled (an emergency call may come as tel:112)
    if (!/^sips?:/i.test(rq.uri) && !(rq.method === 'INVITE' && /^tel:/i.test(rq.uri))) return reply(416);
    if (rq.method === 'REGISTER' && !/^sips?:/i.test(rq.headers.to!.uri)) return reply(400, { warning: '399 papgate "To must be a SIP URI"' });
    // Path (RFC 3327) is the one extension a request may require of us.
    const require = rq.method === 'CANCEL' ? undefined : withoutPath(headerText(rq, 'require'));
    if (require && !emergency) return reply(420, { unsupported: require });
    if (rq.method === 'CANCEL') return this.onCancel(rq, st);

    const toTag = rq.headers.to!.params.tag;
    if (toTag) {
      const user = this.core.dialog(rq.headers['call-id']!, String(toTag));
      if (user && user.remoteTag === String(rq.headers.from!.params.tag ?? '')) return user.onRequest(rq, st, peer);
      return reply(481);
    }
    switch (rq.method) {
      case 'OPTIONS':
        return reply(200, { allow: ALLOW, accept: 'application/sdp', 'accept-language': 'en' });
      case 'REGISTER':
        return this.guard(st, rq, this.onRegister(rq, st, peer));
      case 'INVITE':
        return this.guard(st, rq, this.onInvite(rq, st, peer));
      default:
        return reply(481); // BYE, INFO outside any dialog
    }
  }

  /**
   * False when the source is over its request rate: answered 503 with
   * Retry-After, or, far over it, not at all. Requests of a call or
   * registration attempt in progress (in-dialog, CANCEL) are not counted.
   */
  private withinRate(rq: SipRequest, st: ServerTransaction, peer: SipEndpointAddress): boolean {
    if (!this.o.limits || this.partOfCall(rq)) return true;
    // Behind our own proxy every phone arrives from the proxy's address: count each phone, not the proxy.
    const verdict = this.o.limits.sipRequest(this.proxies.clientBehind(peer.address, rq.headers.via) ?? peer.address);
    if (verdict.kind === 'pass') return true;
    if (verdict.kind === 'refuse') {
      st.send(responseTo(rq, 503, reasonPhrase(503), { toTag: newTag(), headers: { 'retry-after': String(verdict.retryAfterSeconds) } }));
    } else {
      st.shutdown(); // no answer, and no transaction kept for it
    }
    return false;
  }

  private partOfCall(rq: SipRequest): boolean {
    if (rq.method === 'CANCEL') return this.pending.has(inviteKey(rq));
    const toTag = rq.headers.to?.params.tag;
    return !!toTag && !!this.core.dialog(rq.headers['call-id'] ?? '', String(toTag));
  }

  /** An async handler must not fail silently nor leave the request unanswered. */
  private guard(st: ServerTransaction, rq: SipRequest, work: Promise<void>): void {
    work.catch((e: Error) => {
      this.o.log.error({ err: e.message, method: rq.method }, 'SIP request failed');
      st.send(responseTo(rq, 500, 'Server Internal Error', { toTag: newTag() }));
    });
  }

  private async admit(rq: SipRequest): Promise<Admission> {
    return this.o.gate.admit({ method: rq.method, dialled: userOf(rq.uri), authorization: authorizationText(rq) });
  }

  private async onRegister(rq: SipRequest, st: ServerTransaction, peer: SipEndpointAddress): Promise<void> {
    // Built only when something is logged: a child logger per REGISTER costs at thousands a second.
    const log = () => this.o.log.child({ method: 'REGISTER', source: `${peer.address}:${peer.port}` });
    let username: string | undefined;
    const reply = (status: number, headers: Record<string, string | string[]> = {}, contact?: SipRequest['headers']['contact']) => {
      const rs = responseTo(rq, status, reasonPhrase(status), { toTag: newTag(), headers });
      if (contact) rs.headers.contact = contact;
      st.send(rs);
      this.emit('register', { username, status, source: peer });
    };
    const admission = await this.admit(rq);
    if (admission.kind === 'challenge') return reply(401, { 'WWW-Authenticate': admission.wwwAuthenticate });
    if (admission.kind === 'reject') return reply(admission.status);
    const account = admission.account;
    username = account?.username;
    if (!account || userOf(rq.headers.to!.uri) !== account.username) {
      log().info({ username: account?.username }, 'REGISTER for another address-of-record refused');
      return reply(403);
    }
    // The library parses Path like Route (a list of name-addrs with parsed URIs).
    const path = routeUris(rq.headers.path as Parameters<typeof routeUris>[0]);
    const result = await this.registrar.register({
      username: account.username,
      contact: contactOf(rq.headers.contact),
      expiresHeader: headerText(rq, 'expires'),
      callId: rq.headers['call-id']!,
      cseq: rq.headers.cseq!.seq,
      source: peer,
      userAgent: headerText(rq, 'user-agent'),
      path,
    });
    switch (result.kind) {
      case 'too-brief':
        return reply(423, { 'min-expires': String(result.minExpires) });
      case 'bad':
        return reply(400, { warning: `399 papgate "${result.reason}"` });
      case 'out-of-order':
        return reply(500, { warning: '399 papgate "CSeq out of order"' });
      case 'ok': {
        // A plain refresh is routine (thousands a second at scale): only a new, moved or removed binding is info.
        // The child logger is built only for a line that is written (a plain refresh at level info is not).
        const level = result.changed ? 'info' : 'debug';
        if (this.o.log.isLevelEnabled?.(level) ?? true) {
          log()[level]({ username: account.username, expires: result.expiresSec }, result.binding ? 'registered' : 'unregistered');
        }
        const b = result.binding;
        return reply(
          200,
          { date: new Date(this.o.clock.now()).toUTCString(), supported: 'path', ...pathEcho(rq, path) },
          b ? [{ uri: b.contact, params: { expires: String(result.expiresSec) } }] : undefined,
        );
      }
    }
  }

  private async onInvite(rq: SipRequest, st: ServerTransaction, peer: SipEndpointAddress): Promise<void> {
    st.send(responseTo(rq, 100, 'Trying'));
    const key = inviteKey(rq);
    const entry: PendingInvite = { st, rq, cancelled: false };
    this.pending.set(key, entry);
    const fail = (status: number, headers: Record<string, string | string[]> = {}) => {
      this.pending.delete(key);
      st.send(responseTo(rq, status, reasonPhrase(status), { toTag: newTag(), headers }));
    };
    if (this.stopping || !this.handler) return fail(503);
    const handler = this.handler;
    const admission = await this.admit(rq);
    if (entry.cancelled || this.stopping) return;
    if (admission.kind === 'challenge') return fail(401, { 'WWW-Authenticate': admission.wwwAuthenticate });
    if (admission.kind === 'reject') return fail(admission.status);

    const call: EmbeddedInboundCall = new EmbeddedInboundCall(this.core, rq, st, peer, admission.account, {
      byeTimeoutMs: 16 * this.core.t1Ms,
      forwardNoResponseMs: this.o.forwardNoResponseMs ?? 8000,
      onGone: () => {
        this.pending.delete(key);
        this.calls.delete(call);
      },
    });
    call.clientAddress = this.proxies.clientBehind(peer.address, rq.headers.via);
    entry.call = call;
    this.calls.add(call);
    // Only emergency numbers are logged: a phone may dial its PAP as digits, and PAPs never reach a log.
    call.log.info(
      { emergency: admission.emergency, ...(admission.emergency ? { dialled: call.dialled } : {}), source: `${peer.address}:${peer.port}` },
      'call admitted',
    );
    this.emit('call', call, admission.emergency);
    handler.handle(call).catch((e: Error) => {
      call.log.error({ err: e.message }, 'call handler failed');
      void call.hangup();
    });
  }

  private onCancel(rq: SipRequest, st: ServerTransaction): void {
    const entry = this.pending.get(inviteKey(rq));
    if (!entry) return st.send(responseTo(rq, 481, reasonPhrase(481), { toTag: newTag() }));
    if (entry.call) return entry.call.onCancel(rq, st);
    // still being admitted: end it here; onInvite sees `cancelled` and stops
    entry.cancelled = true;
    this.pending.delete(inviteKey(rq));
    st.send(responseTo(rq, 200, 'OK', { toTag: newTag() }));
    entry.st.send(responseTo(entry.rq, 487, 'Request Terminated', { toTag: newTag() }));
  }
}

const inviteKey = (rq: SipRequest) => `${String(rq.headers.via![0]!.params.branch ?? '')}\n${rq.headers['call-id']!}`;

/** The first Contact of a REGISTER in the shared registrar's terms. */
function contactOf(contacts: NameAddr[] | '*' | undefined): RegisterRequest['contact'] {
  if (contacts === '*') return '*';
  const first = contacts?.[0];
  return first ? { uri: first.uri, expires: first.params.expires ?? undefined } : undefined;
}

/** Require without `path`, which we support; undefined when nothing else is left. */
function withoutPath(require: string | undefined): string | undefined {
  const rest = require
    ?.split(',')
    .map((t) => t.trim())
    .filter((t) => t && t.toLowerCase() !== 'path');
  return rest?.length ? rest.join(', ') : undefined;
}

/** RFC 3327 5.3: the 200 repeats the stored Path when the phone said it supports path. */
function pathEcho(rq: SipRequest, path: string[]): Record<string, string> {
  const supported = headerText(rq, 'supported')
    ?.split(',')
    .some((t) => t.trim().toLowerCase() === 'path');
  const value = supported ? routeHeader(path) : undefined;
  return value ? { path: value } : {};
}
