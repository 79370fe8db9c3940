import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../ports/logger';
import type { SipEndpointAddress, Transport } from '../../ports/signalling';
import { USER_AGENT, viaFor } from './messages';
import type { LocalAddress } from './messages';
import { createTransactionLayer, makeResponse, parseUri } from './sip-lib';
import type { ClientTransaction, SipMessage, SipRequest, SipResponse, ServerTransaction, ViaHeader } from './sip-lib';
import type { TcpLimits } from './tcp-limits';
import { StatelessReplies } from './stateless-replies';
import { SipTransport, type SipTlsOptions } from './transport';

/**
 * The shared machinery of the embedded stack: sockets, the `sip` package's
 * transaction layer, the dialog table and request sending. It knows nothing
 * about calls or registrations; it hands new requests to `onRequest`.
 */

/** Something that owns a dialog on our side (an inbound call, an emergency leg). */
export interface DialogUser {
  readonly remoteTag: string;
  /** An in-dialog request other than ACK; its server transaction already exists. */
  onRequest(rq: SipRequest, st: ServerTransaction, peer: SipEndpointAddress): void;
  /** An ACK for a 2xx (ACKs for non-2xx end in the transaction layer). */
  onAck(rq: SipRequest): void;
}

export interface CoreOptions {
  address: string;
  port: number;
  udp: boolean;
  tcp: boolean;
  log: Logger;
  advertisedAddress?: string;
  /** RFC 3261 T1 (default 500 ms); T2 is 8 * T1. */
  t1Ms: number;
  tcpLimits?: Partial<TcpLimits>;
  /** SIP over TLS on its own port; absent: none. */
  tls?: SipTlsOptions;
  onRequest(rq: SipRequest, st: ServerTransaction, peer: SipEndpointAddress): void;
}

export class SipCore {
  readonly tl = createTransactionLayer();
  readonly transport: SipTransport;
  readonly log: Logger;
  readonly t1Ms: number;
  private readonly dialogs = new Map<string, DialogUser>();
  private readonly stopHooks = new Set<() => void>();
  /** REGISTER's answers, kept for retransmissions instead of a transaction each (stateless-replies.ts). */
  private readonly registerReplies: StatelessReplies;
  private halted = false;
  private localAddr: LocalAddress;

  constructor(private readonly o: CoreOptions) {
    this.log = o.log;
    this.t1Ms = o.t1Ms;
    const host = o.advertisedAddress ?? o.address;
    // an IPv6 literal goes into URIs, Vias and Call-IDs in brackets
    this.localAddr = { host: net.isIPv6(host) ? `[${host}]` : host, port: o.port };
    this.transport = new SipTransport({
      address: o.address,
      port: o.port,
      udp: o.udp,
      tcp: o.tcp,
      log: o.log,
      tcpLimits: o.tcpLimits,
      tls: o.tls,
      onMessage: (m, peer) => this.onMessage(m, peer),
    });
    this.registerReplies = new StatelessReplies({
      keepMs: 64 * o.t1Ms,
      maxEntries: MAX_KEPT_REGISTER_ANSWERS,
      now: () => performance.now(),
      sendBytes: (peer, bytes) => this.transport.sendBytes(peer, bytes),
    });
  }

  /** Advertised host and the bound port (for Via and Contact). */
  get local(): LocalAddress {
    return this.localAddr;
  }

  async start(): Promise<void> {
    await this.transport.start();
    this.localAddr = { host: this.localAddr.host, port: this.transport.port, ...(this.o.tls ? { tlsPort: this.transport.tlsPort } : {}) };
  }

  get stopped(): boolean {
    return this.halted;
  }

  async stop(): Promise<void> {
    this.halted = true;
    for (const hook of [...this.stopHooks]) hook();
    this.stopHooks.clear();
    this.dialogs.clear();
    this.registerReplies.clear();
    this.tl.destroy();
    await this.transport.stop();
  }

  /** Runs `hook` on stop (to settle what waits on the network); returns its removal. */
  onStop(hook: () => void): () => void {
    this.stopHooks.add(hook);
    return () => this.stopHooks.delete(hook);
  }

  addDialog(callId: string, localTag: string, user: DialogUser): void {
    this.dialogs.set(dialogKey(callId, localTag), user);
  }

  removeDialog(callId: string, localTag: string): void {
    this.dialogs.delete(dialogKey(callId, localTag));
  }

  dialog(callId: string, localTag: string): DialogUser | undefined {
    return this.dialogs.get(dialogKey(callId, localTag));
  }

  /**
   * Sends a request in a client transaction. A fresh Via is added unless one
   * is given (CANCEL reuses its INVITE's). A connection failure answers 503.
   */
  sendRequest(peer: SipEndpointAddress, rq: SipRequest, onResponse: (rs: SipResponse) => void, via?: ViaHeader): ClientTransaction {
    rq.headers.via = [via ?? viaFor(this.local, peer.transport)];
    rq.headers['max-forwards'] ??= '70';
    rq.headers['user-agent'] ??= USER_AGENT;
    let tx: ClientTransaction | undefined;
    const cn = this.transport.connection(peer, (e) => {
      this.log.info({ err: e.message, peer: `${peer.address}:${peer.port}` }, 'SIP connection failed');
      tx?.message(makeResponse(rq, 503, 'Service Unavailable'));
    });
    tx = this.tl.createClientTransaction(cn, rq, (rs) => {
      try {
        onResponse(rs);
      } catch (e) {
        this.log.error({ err: (e as Error).message, method: rq.method }, 'SIP response handler failed');
      }
    });
    return tx;
  }

  /** Sends outside any transaction (ACK for 2xx, 2xx retransmissions). */
  sendStateless(peer: SipEndpointAddress, m: SipMessage): void {
    const cn = this.transport.connection(peer);
    cn.send(m);
    cn.release();
  }

  /** Where to send a request for this URI: `via` when given, else the URI's host, port and transport. */
  async resolve(uri: string, via?: SipEndpointAddress): Promise<SipEndpointAddress> {
    if (via) return via;
    const u = parseUri(uri);
    if (!u) throw new Error(`not a SIP URI: ${uri}`);
    const transport = transportOf(u.params.transport);
    if (!(transport === 'tcp' ? this.o.tcp : this.o.udp)) throw new Error(`${transport.toUpperCase()} is not enabled: cannot reach ${uri}`);
    const address = net.isIP(u.host) ? u.host : (await lookup(u.host)).address;
    return { transport, address, port: Number.isFinite(u.port) && u.port > 0 ? u.port : 5060 };
  }

  private onMessage(m: SipMessage, peer: SipEndpointAddress): void {
    if (m.method === undefined) {
      this.tl.getClient(m)?.message(m, peer);
      return;
    }
    const rq = m as SipRequest;
    if (rq.method === 'REGISTER' && StatelessReplies.handles(rq)) {
      const st = this.registerReplies.open(rq, peer, this.transport.connection(peer));
      return st && this.dispatch(rq, st, peer); // undefined: a retransmission, answered or dropped
    }
    const existing = this.tl.getServer(rq);
    if (existing) return existing.message(rq, peer); // retransmission, or ACK for a non-2xx
    if (rq.method === 'ACK') {
      const user = this.dialog(rq.headers['call-id']!, String(rq.headers.to!.params.tag ?? ''));
      if (user && user.remoteTag === rq.headers.from!.params.tag) user.onAck(rq);
      return;
    }
    this.dispatch(rq, this.tl.createServerTransaction(rq, this.transport.connection(peer)), peer);
  }

  private dispatch(rq: SipRequest, st: ServerTransaction, peer: SipEndpointAddress): void {
    try {
      this.o.onRequest(rq, st, peer);
    } catch (e) {
      this.log.error({ err: (e as Error).message, method: rq.method }, 'SIP request handler failed');
      st.send(makeResponse(rq, 500, 'Server Internal Error'));
    }
  }
}

/**
 * The transport we open towards a URI: TCP when it says so, else UDP. We open
 * no TLS connections (transport.ts): a `;transport=tls` or sips: target (an
 * emergency gateway, say) is reached over UDP as before rather than not at all.
 */
function transportOf(param: unknown): Transport {
  return String(param ?? '').toLowerCase() === 'tcp' ? 'tcp' : 'udp';
}

/**
 * Answers kept for REGISTER retransmissions (about 600 bytes each with their
 * key, some 20 MB, most of it outside V8's heap): at 2,000 registrations a second, 4 to 8 s of answers,
 * which covers a phone's first retransmissions (0.5, 1.5, 3.5 s). Past that
 * a late retransmission is handled as a new request, as after Timer J.
 */
const MAX_KEPT_REGISTER_ANSWERS = 32_768;

const dialogKey = (callId: string, localTag: string) => `${callId}\n${localTag}`;
