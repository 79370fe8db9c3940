import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../../ports/logger';
import type { SipEndpointAddress } from '../../ports/signalling';
import { badRequestFor, bodyLength, problemWith } from './malformed';
import { makeStreamParser, parseDatagram, stringify } from './sip-lib';
import type { LibConnection, SipMessage } from './sip-lib';

/**
 * UDP and TCP sockets for SIP. The `sip` package's own transport cannot report
 * a failed bind (its sockets have no error listener, so EADDRINUSE kills the
 * process) nor be awaited on stop, so sockets are ours; message parsing and TCP
 * framing are the package's. Only well-formed messages are delivered; broken
 * requests get a 400 when they can be answered. Nothing here throws to a socket.
 */

export interface TransportOptions {
  address: string;
  port: number;
  udp: boolean;
  tcp: boolean;
  log: Logger;
  onMessage(m: SipMessage, peer: SipEndpointAddress): void;
}

const MAX_TCP_HEADER_BYTES = 32 * 1024;
const MAX_TCP_BODY_BYTES = 64 * 1024;
const TCP_IDLE_MS = 10 * 60_000;

export class SipTransport {
  private udp: dgram.Socket | undefined;
  private tcpServer: net.Server | undefined;
  private readonly streams = new Map<string, net.Socket>();
  private boundPort = 0;

  constructor(private readonly o: TransportOptions) {}

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    if (!this.o.udp && !this.o.tcp) throw new Error('SIP transport: enable UDP, TCP or both');
    let port = this.o.port;
    try {
      if (this.o.udp) port = await this.bindUdp(port);
      if (this.o.tcp) port = await this.listenTcp(port);
    } catch (e) {
      await this.stop();
      throw new Error(`SIP transport cannot listen on ${this.o.address}:${this.o.port}: ${(e as Error).message}`);
    }
    this.boundPort = port;
  }

  /** A sender towards a peer, for the transaction layer and for stateless sends (ACK, 2xx retransmission). */
  connection(peer: SipEndpointAddress, onError?: (e: Error) => void): LibConnection {
    if (peer.transport === 'tcp') return this.tcpConnection(peer, onError);
    return {
      protocol: 'UDP',
      release() {},
      send: (m) => {
        const text = this.serialize(m);
        if (text === undefined || !this.udp) return;
        this.udp.send(Buffer.from(text, 'binary'), peer.port, peer.address, (e) => {
          if (e) this.o.log.warn({ err: e.message, peer: `${peer.address}:${peer.port}` }, 'SIP UDP send failed');
        });
      },
    };
  }

  async stop(): Promise<void> {
    const udp = this.udp;
    this.udp = undefined;
    const server = this.tcpServer;
    this.tcpServer = undefined;
    for (const s of this.streams.values()) s.destroy();
    this.streams.clear();
    await Promise.all([
      udp ? new Promise<void>((res) => udp.close(() => res())) : undefined,
      server ? new Promise<void>((res) => server.close(() => res())) : undefined,
    ]);
  }

  private bindUdp(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(net.isIPv6(this.o.address) ? 'udp6' : 'udp4');
      socket.once('error', reject);
      socket.on('message', (data, rinfo) => this.onDatagram(data, { transport: 'udp', address: rinfo.address, port: rinfo.port }));
      socket.bind(port, this.o.address, () => {
        socket.off('error', reject);
        socket.on('error', (e) => this.o.log.warn({ err: e.message }, 'SIP UDP socket error'));
        this.udp = socket;
        resolve(socket.address().port);
      });
    });
  }

  private listenTcp(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((s) => this.adopt(s, { transport: 'tcp', address: s.remoteAddress ?? '', port: s.remotePort ?? 0 }));
      server.once('error', reject);
      server.listen(port, this.o.address, () => {
        server.off('error', reject);
        server.on('error', (e) => this.o.log.warn({ err: e.message }, 'SIP TCP server error'));
        this.tcpServer = server;
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  private onDatagram(data: Buffer, peer: SipEndpointAddress): void {
    try {
      if (data.length < 8 || /^\s*$/.test(data.toString('latin1'))) return; // keep-alive CRLFs
      const m = parseDatagram(data);
      const problem = m ? problemWith(m, bodyLength(data)) : 'unparsable start line or header';
      if (m && problem === null) return this.deliver(m, peer);
      this.refuse(data.toString('latin1'), problem ?? 'malformed', peer);
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

  private refuse(raw: string, problem: string, peer: SipEndpointAddress): void {
    this.o.log.info({ peer: `${peer.address}:${peer.port}`, transport: peer.transport, problem }, 'malformed SIP message');
    const reply = badRequestFor(raw, problem);
    if (reply === undefined) return;
    if (peer.transport === 'udp') this.udp?.send(Buffer.from(reply, 'binary'), peer.port, peer.address, () => {});
    else this.streams.get(key(peer))?.write(reply, 'binary');
  }

  /** Frames and delivers what arrives on a TCP connection, which is kept (keyed by peer) for responses and requests. */
  private adopt(socket: net.Socket, peer: SipEndpointAddress): void {
    this.streams.set(key(peer), socket);
    socket.setEncoding('binary');
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    const parse = makeStreamParser((m) => this.onStreamMessage(m, socket, peer), () => {
      this.o.log.warn({ peer: `${peer.address}:${peer.port}` }, 'SIP TCP message too large; closing connection');
      socket.destroy();
    }, MAX_TCP_HEADER_BYTES, MAX_TCP_BODY_BYTES);
    socket.on('data', (chunk: string) => {
      try {
        parse(chunk);
      } catch (e) {
        this.o.log.warn({ err: (e as Error).message }, 'SIP TCP stream unparsable; closing connection');
        socket.destroy();
      }
    });
    socket.on('error', (e) => this.o.log.debug({ err: e.message }, 'SIP TCP connection error'));
    socket.on('close', () => {
      if (this.streams.get(key(peer)) === socket) this.streams.delete(key(peer));
    });
  }

  private onStreamMessage(m: SipMessage, socket: net.Socket, peer: SipEndpointAddress): void {
    try {
      const problem = problemWith(m);
      if (problem === null) return this.deliver(m, peer);
      const raw = this.serialize(m);
      if (raw !== undefined) this.refuse(raw, problem, peer);
    } catch (e) {
      this.o.log.error({ err: (e as Error).message }, 'SIP TCP message handling failed');
      if (!socket.destroyed) socket.destroy();
    }
  }

  private tcpConnection(peer: SipEndpointAddress, onError?: (e: Error) => void): LibConnection {
    let socket = this.streams.get(key(peer));
    if (!socket || socket.destroyed) {
      socket = net.connect(peer.port, peer.address);
      this.adopt(socket, peer);
    }
    const s = socket;
    if (onError) s.once('error', onError);
    return {
      protocol: 'TCP',
      release: () => {
        if (onError) s.off('error', onError);
      },
      send: (m) => {
        const text = this.serialize(m);
        if (text !== undefined && !s.destroyed) s.write(text, 'binary');
      },
    };
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

const key = (p: SipEndpointAddress) => `${p.address}|${p.port}`;
