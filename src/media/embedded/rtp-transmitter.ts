/**
 * The sending end of one session's UDP socket. Once the peer is final the
 * socket is connected to it: Node then sends without resolving the address
 * (a lookup and a tick per packet), the kernel without a route lookup, and
 * the kernel drops datagrams from any other source before we read them.
 * Send errors are asked for once a second rather than per packet: a callback
 * costs two more ticks and an object per packet, 25,000 a second at 500 calls.
 */
import type dgram from 'node:dgram';
import type { Logger } from '../../ports/logger';

export interface Endpoint {
  address: string;
  port: number;
}

/** One packet in this many has its send result checked (once a second at 50 packets/s). */
const CHECKED_SEND_EVERY = 50;

type LinkState = 'unconnected' | 'connecting' | 'connected';

export class RtpTransmitter {
  private state: LinkState = 'unconnected';
  /** The frame due while connect() was under way: sent once it completes. */
  private pending: Buffer | undefined;
  private sent = 0;
  private errorLogged = false;
  private refusedLogged = false;
  private readonly checkSend = (err: Error | null) => {
    if (err) this.sendFailed(err);
  };

  constructor(
    private readonly socket: dgram.Socket,
    private readonly log: Logger,
  ) {
    socket.on('error', (err: NodeJS.ErrnoException) => this.socketError(err));
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** Fixes the peer for the rest of the session (the caller never moves it again). */
  connect(to: Endpoint): void {
    if (this.state !== 'unconnected') return;
    this.state = 'connecting';
    this.socket.connect(to.port, to.address, () => {
      if (this.state !== 'connecting') return;
      this.state = 'connected';
      const pending = this.pending;
      this.pending = undefined;
      if (pending) this.send(pending, to);
    });
  }

  /** `to` is used until the socket is connected; after that the connected peer is. */
  send(packet: Buffer, to: Endpoint): void {
    const check = this.sent++ % CHECKED_SEND_EVERY === 0 ? this.checkSend : undefined;
    if (this.state === 'connected') this.socket.send(packet, check);
    else if (this.state === 'connecting')
      this.pending = packet; // a send with an address would fail (EISCONN)
    else this.socket.send(packet, to.port, to.address, check);
  }

  private socketError(err: NodeJS.ErrnoException): void {
    if (err.syscall === 'connect' && this.state === 'connecting') {
      // Sending with an address still works; only the filtering and the saving are lost.
      this.state = 'unconnected';
      this.pending = undefined;
      this.log.warn({ err: err.message }, 'RTP socket not connected to the peer; sending unconnected');
      return;
    }
    if (err.code === 'ECONNREFUSED') return this.refused(err);
    this.log.warn({ err: err.message }, 'RTP socket error');
  }

  private sendFailed(err: NodeJS.ErrnoException): void {
    if (err.code === 'ECONNREFUSED') return this.refused(err);
    if (this.errorLogged) return;
    this.errorLogged = true;
    this.log.warn({ err: err.message }, 'RTP send failed');
  }

  /**
   * A connected socket hears the ICMP "port unreachable" of a phone that has
   * gone (an unconnected one never does): normal at hang-up, logged once.
   */
  private refused(err: Error): void {
    if (this.refusedLogged) return;
    this.refusedLogged = true;
    this.log.debug({ err: err.message }, 'RTP peer port unreachable');
  }
}
