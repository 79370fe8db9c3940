import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../../ports/logger';
import type { SipEndpointAddress } from '../../ports/signalling';
import { RateLimitedLog } from './log-limit';
import { badRequestFor, problemWith } from './malformed';
import { SipStreamFramer } from './message/framer';
import { parseMessage } from './message/parse';
import type { Refusal } from './message/types';
import { stringify } from './sip-lib';
import type { LibConnection, SipMessage } from './sip-lib';
import { TcpAdmission, type TcpLimits } from './tcp-limits';

/**
 * UDP, TCP and TLS sockets for SIP, with our own parser and stream framer. Only
 * well-formed messages are delivered; broken requests get a 400 (505, 513)
 * when they can be answered, and on TCP the connection is then closed.
 * Input is bounded: one message's worth per connection, a capped number of
 * connections, idle ones closed. Nothing here throws to a socket.
 *
 * TLS connections share the TCP limits and framing. We never open a TLS
 * connection ourselves: a phone on TLS is reached over the connection it
 * opened (RFC 5923's idea), since it is usually behind NAT and has no
 * certificate we could verify.
 */

export interface SipTlsOptions {
  /** Port of the TLS listener (5061 by convention; 0: any free port). */
  port: number;
  cert: Buffer;
  key: Buffer;
  /** A client that has not finished its handshake by then is dropped. */
  handshakeMs: number;
}

export interface TransportOptions {
  address: string;
  port: number;
  udp: boolean;
  tcp: boolean;
  log: Logger;
  /** TCP connection limits and idle timeouts; defaults in tcp-limits.ts. */
  tcpLimits?: Partial<TcpLimits>;
  /** SIP over TLS on its own port; absent: no TLS listener. */
  tls?: SipTlsOptions;
  onMessage(m: SipMessage, peer: SipEndpointAddress): void;
}

/** What the UDP socket asks the kernel for (the kernel doubles it for its bookkeeping, up to twice net.core.rmem_max). */
const UDP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** A peer that does not read its responses loses its connection once this much waits to be written. */
const MAX_PENDING_WRITE_BYTES = 1024 * 1024;

export class SipTransport {
  private udp: dgram.Socket | undefined;
  private tcpServer: net.Server | undefined;
  private tlsServer: tls.Server | undefined;
  private boundTlsPort = 0;
  private readonly streams = new Map<string, net.Socket>();
  private boundPort = 0;
  private readonly noisy: RateLimitedLog;
  private readonly admission: TcpAdmission;

  constructor(private readonly o: TransportOptions) {
    this.noisy = new RateLimitedLog(o.log);
    this.admission = new TcpAdmission(o.tcpLimits);
  }

  get port(): number {
    return this.boundPort;
  }

  /** The TLS listener's bound port, 0 when there is none. */
  get tlsPort(): number {
    return this.boundTlsPort;
  }

  /** Uses a renewed certificate for the next TLS handshakes (open connections keep theirs). */
  setSecureContext(pair: { cert: Buffer; key: Buffer }): void {
    this.tlsServer?.setSecureContext(pair);
  }

  async start(): Promise<void> {
    if (!this.o.udp && !this.o.tcp && !this.o.tls) throw new Error('SIP transport: enable UDP, TCP or TLS');
    let port = this.o.port;
    try {
      if (this.o.udp) port = await this.bindUdp(port);
      if (this.o.tcp) port = await this.listenTcp(port);
    } catch (e) {
      await this.stop();
      throw new Error(`SIP transport cannot listen on ${this.o.address}:${this.o.port}: ${(e as Error).message}`);
    }
    this.boundPort = port;
    if (!this.o.tls) return;
    try {
      this.boundTlsPort = await this.listenTls(this.o.tls);
    } catch (e) {
      await this.stop();
      throw new Error(`SIP TLS cannot listen on ${this.o.address}:${this.o.tls.port}: ${(e as Error).message}`);
    }
  }

  /** A sender towards a peer, for the transaction layer and for stateless sends (ACK, 2xx retransmission). */
  connection(peer: SipEndpointAddress, onError?: (e: Error) => void): LibConnection {
    if (peer.transport !== 'udp') return this.streamConnection(peer, onError);
    return {
      protocol: 'UDP',
      release() {},
      send: (m) => {
        const text = this.serialize(m);
        if (text !== undefined) this.sendDatagram(peer, text);
      },
    };
  }

  /** Sends a message already written as text (latin1) in one datagram. */
  sendDatagram(peer: SipEndpointAddress, text: string): void {
    this.sendBytes(peer, Buffer.from(text, 'latin1'));
  }

  /** Sends a message already written out in one datagram (the bytes are not changed: they may be sent again). */
  sendBytes(peer: SipEndpointAddress, bytes: Buffer): void {
    if (!this.udp) return;
    this.udp.send(bytes, peer.port, peer.address, (e) => {
      if (e) this.o.log.warn({ err: e.message, peer: `${peer.address}:${peer.port}` }, 'SIP UDP send failed');
    });
  }

  async stop(): Promise<void> {
    const udp = this.udp;
    this.udp = undefined;
    const servers = [this.tcpServer, this.tlsServer];
    this.tcpServer = undefined;
    this.tlsServer = undefined;
    for (const s of this.streams.values()) s.destroy();
    this.streams.clear();
    await Promise.all([
      udp ? new Promise<void>((res) => udp.close(() => res())) : undefined,
      ...servers.map((server) => (server ? new Promise<void>((res) => server.close(() => res())) : undefined)),
    ]);
  }

  private bindUdp(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: net.isIPv6(this.o.address) ? 'udp6' : 'udp4', lookup: literalLookup });
      socket.once('error', reject);
      socket.on('message', (data, rinfo) => this.onDatagram(data, { transport: 'udp', address: rinfo.address, port: rinfo.port }));
      socket.bind(port, this.o.address, () => {
        socket.off('error', reject);
        socket.on('error', (e) => this.o.log.warn({ err: e.message }, 'SIP UDP socket error'));
        this.widenReceiveBuffer(socket);
        this.udp = socket;
        resolve(socket.address().port);
      });
    });
  }

  /**
   * The kernel's default receive buffer (about 200 KB, some 90 small
   * datagrams) overflows when the process is held up for 20-30 ms at a few
   * thousand REGISTERs a second, and every dropped datagram costs its
   * phone a 500 ms retransmission. Kamailio raises its buffer too. The
   * kernel caps the size at net.core.rmem_max.
   */
  private widenReceiveBuffer(socket: dgram.Socket): void {
    try {
      if (socket.getRecvBufferSize() < UDP_RECEIVE_BUFFER_BYTES) socket.setRecvBufferSize(UDP_RECEIVE_BUFFER_BYTES);
    } catch (e) {
      this.o.log.info({ err: (e as Error).message }, 'SIP UDP receive buffer left at the system default');
    }
  }

  private listenTcp(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((s) => {
        const peer = this.admit(s, 'tcp');
        if (peer) this.adopt(s, peer);
      });
      server.once('error', reject);
      server.listen(port, this.o.address, () => {
        server.off('error', reject);
        server.on('error', (e) => this.o.log.warn({ err: e.message }, 'SIP TCP server error'));
        this.tcpServer = server;
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  /**
   * The raw connection is counted against the TCP limits before its
   * handshake; a handshake that stalls or fails ends with the server's
   * handshake timeout or at once, and is logged (rate-limited).
   */
  private listenTls(t: SipTlsOptions): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = tls.createServer({ cert: t.cert, key: t.key, handshakeTimeout: t.handshakeMs, minVersion: 'TLSv1.2' }, (s) => {
        const peer: SipEndpointAddress = { transport: 'tls', address: s.remoteAddress ?? '', port: s.remotePort ?? 0 };
        if (!s.destroyed) this.adopt(s, peer);
      });
      server.on('connection', (raw: net.Socket) => this.admit(raw, 'tls'));
      server.on('tlsClientError', (e, s) => {
        this.noisy.info({ peer: `${s.remoteAddress ?? ''}:${s.remotePort ?? 0}`, err: e.message }, 'SIP TLS handshake failed');
        s.destroy();
      });
      server.once('error', reject);
      server.listen(t.port, this.o.address, () => {
        server.off('error', reject);
        server.on('error', (e) => this.o.log.warn({ err: e.message }, 'SIP TLS server error'));
        this.tlsServer = server;
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  private onDatagram(data: Buffer, peer: SipEndpointAddress): void {
    try {
      if (data.length < 8 || /^\s*$/.test(data.toString('latin1', 0, 64))) return; // keep-alive CRLFs
      const r = parseMessage(data);
      const problem = r.ok ? problemWith(r.message) : r.problem;
      if (r.ok && problem === null) return this.deliver(r.message, peer);
      this.refuse(data.toString('latin1', 0, 16384), { status: r.ok ? 400 : r.status, problem: problem ?? 'malformed' }, peer);
    } catch (e) {
      this.o.log.error({ err: (e as Error).message, peer: `${peer.address}:${peer.port}` }, 'SIP datagram handling failed');
    }
  }

  private deliver(m: SipMessage, peer: SipEndpointAddress): void {
    if (m.method) {
      // RFC 3261 18.2.1 and RFC 3581: remember where the request really came from.
      const via = m.headers.via![0]!;
      via.params.received = peer.address;
      if ('rport' in via.params) via.params.rport = peer.port;
    }
    this.o.onMessage(m, peer);
  }

  /** Logs (rate-limited) and answers a broken request when it can be answered; on TCP, closes the connection. */
  private refuse(raw: string, why: Refusal, peer: SipEndpointAddress, socket?: net.Socket): void {
    this.noisy.info({ peer: `${peer.address}:${peer.port}`, transport: peer.transport, problem: why.problem, status: why.status }, 'malformed SIP message');
    const reply = badRequestFor(raw, why.problem, why.status);
    if (peer.transport === 'udp') {
      if (reply !== undefined) this.udp?.send(Buffer.from(reply, 'binary'), peer.port, peer.address, () => {});
      return;
    }
    if (!socket || socket.destroyed) return;
    socket.pause(); // whatever else it sends stays in the kernel, not here
    if (reply === undefined) return void socket.destroy();
    socket.end(reply, 'binary');
    socket.once('finish', () => socket.destroy());
    socket.setTimeout(2000, () => socket.destroy());
  }

  /** Counts an accepted connection in (until it closes), or closes it at once when over a connection limit. */
  private admit(socket: net.Socket, transport: 'tcp' | 'tls'): SipEndpointAddress | undefined {
    const peer: SipEndpointAddress = { transport, address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const over = this.admission.admit(peer.address);
    if (over) {
      this.noisy.info({ peer: `${peer.address}:${peer.port}`, transport, limit: over }, 'SIP TCP connection refused: over the limit');
      socket.on('error', () => undefined); // it is being destroyed; a reset is expected
      socket.destroy();
      return undefined;
    }
    socket.once('close', () => this.admission.release(peer.address));
    return peer;
  }

  /** Frames and delivers what arrives on a TCP connection, which is kept (keyed by peer) for responses and requests. */
  private adopt(socket: net.Socket, peer: SipEndpointAddress, outbound = false): void {
    this.streams.set(key(peer), socket);
    const limits = this.admission.limits;
    // a connection we opened is trusted with the long timeout; one from outside must first send a valid message
    let proven = outbound;
    socket.setTimeout(proven ? limits.idleMs : limits.idleNewMs, () => socket.destroy());
    const framer = new SipStreamFramer(
      (message) => {
        const delivered = this.onStreamMessage(message, socket, peer);
        if (delivered && !proven) {
          proven = true; // a valid message earns the longer idle timeout
          socket.setTimeout(limits.idleMs, () => socket.destroy());
        }
      },
      (why, head) => this.refuse(head, why, peer, socket),
    );
    socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk);
      } catch (e) {
        this.o.log.error({ err: (e as Error).message }, 'SIP TCP stream handling failed; closing connection');
        socket.destroy();
      }
    });
    socket.on('error', (e) => this.o.log.debug({ err: e.message }, 'SIP TCP connection error'));
    socket.on('close', () => {
      if (this.streams.get(key(peer)) === socket) this.streams.delete(key(peer));
    });
  }

  /** Handles one framed message; true when it was delivered. */
  private onStreamMessage(data: Buffer, socket: net.Socket, peer: SipEndpointAddress): boolean {
    try {
      const r = parseMessage(data, { framed: true });
      const problem = r.ok ? problemWith(r.message) : r.problem;
      if (r.ok && problem === null) {
        this.deliver(r.message, peer);
        return true;
      }
      this.refuse(data.toString('latin1', 0, 16384), { status: r.ok ? 400 : r.status, problem: problem ?? 'malformed' }, peer, socket);
    } catch (e) {
      this.o.log.error({ err: (e as Error).message }, 'SIP TCP message handling failed');
      if (!socket.destroyed) socket.destroy();
    }
    return false;
  }

  private streamConnection(peer: SipEndpointAddress, onError?: (e: Error) => void): LibConnection {
    let socket = this.streams.get(key(peer));
    if (!socket || socket.destroyed) {
      if (peer.transport === 'tls') return this.noTlsConnection(peer, onError);
      socket = net.connect(peer.port, peer.address);
      this.adopt(socket, peer, true);
    }
    const s = socket;
    if (onError) s.once('error', onError);
    return {
      protocol: peer.transport.toUpperCase(),
      release: () => {
        if (onError) s.off('error', onError);
      },
      send: (m) => {
        const text = this.serialize(m);
        if (text === undefined || s.destroyed) return;
        if (s.writableLength > MAX_PENDING_WRITE_BYTES) {
          this.noisy.info({ peer: `${peer.address}:${peer.port}` }, 'SIP TCP peer does not read its responses; closing connection');
          return void s.destroy();
        }
        s.write(text, 'binary');
      },
    };
  }

  /** A TLS peer whose connection is gone cannot be reached: the sender is told so, once its transaction exists. */
  private noTlsConnection(peer: SipEndpointAddress, onError?: (e: Error) => void): LibConnection {
    const e = new Error(`no open TLS connection from ${peer.address}:${peer.port}`);
    if (onError) setImmediate(() => onError(e));
    return { protocol: 'TLS', release() {}, send: () => undefined };
  }

  private serialize(m: SipMessage): string | undefined {
    try {
      return stringify(m);
    } catch (e) {
      this.o.log.error({ err: (e as Error).message }, 'cannot serialize SIP message');
      return undefined;
    }
  }
}

/**
 * dgram looks up every destination, an IP literal too (through dns.lookup and
 * a next tick per datagram); ours are addresses already (a datagram's source,
 * a resolved target), so they are used as they are. Names still go to DNS.
 */
function literalLookup(
  hostname: string,
  options: dns.LookupOneOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = net.isIP(hostname);
  if (family !== 0) return callback(null, hostname, family);
  dns.lookup(hostname, options, callback);
}

const key = (p: SipEndpointAddress) => `${p.transport}|${p.address}|${p.port}`;
