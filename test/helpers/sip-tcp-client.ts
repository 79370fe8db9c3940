import net from 'node:net';
import tls from 'node:tls';
import { REALM } from './sip-embedded-harness';
import { authorization, nonceOf, sipRequest, statusOf } from './sip-raw-peer';

/**
 * A SIP client over one TCP connection for attack tests: writes raw text,
 * collects what comes back, notices when papgate closes the connection.
 */
export class TcpSipClient {
  private received = '';
  private closedFlag = false;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.received += d.toString('latin1');
      this.wake();
    });
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
    socket.on('error', () => undefined); // resets are expected when papgate closes on an attacker
  }

  static connect(port: number, localAddress?: string, host = '127.0.0.1'): Promise<TcpSipClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host, localAddress });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new TcpSipClient(s));
      });
    });
  }

  /** A TLS connection that trusts only `ca`; rejects when the handshake fails. */
  static connectTls(port: number, ca: string | Buffer, o: { localAddress?: string; host?: string; servername?: string } = {}): Promise<TcpSipClient> {
    return new Promise((resolve, reject) => {
      const host = o.host ?? '127.0.0.1';
      // node:tls takes no local address: bind the TCP connection first
      const socket = o.localAddress ? net.connect({ port, host, localAddress: o.localAddress }) : undefined;
      const s = tls.connect({ port, host, socket, ca, servername: o.servername ?? 'sip.test' });
      s.once('error', reject);
      s.once('secureConnect', () => {
        s.off('error', reject);
        resolve(new TcpSipClient(s));
      });
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get text(): string {
    return this.received;
  }

  write(data: string | Buffer): Promise<void> {
    if (this.closedFlag || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const ok = this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, () => resolve());
      if (!ok) this.socket.once('drain', () => resolve());
    });
  }

  /** Waits (bounded) until `done()` holds; returns whether it does. */
  async until(done: () => boolean, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** The first response with this status, waiting for it (bounded). */
  async response(status: number, timeoutMs = 5000): Promise<string | undefined> {
    const find = () => this.received.split(/(?=SIP\/2\.0 \d{3} )/).find((m) => statusOf(m) === status && m.includes('\r\n\r\n'));
    await this.until(() => find() !== undefined || this.closedFlag, timeoutMs);
    return find();
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** A real digest REGISTER over a TCP connection: 401, then with credentials; resolves with the final status. */
export async function registerOverTcp(
  port: number,
  o: { username: string; password: string; localAddress?: string; host?: string },
): Promise<number | undefined> {
  const c = await TcpSipClient.connect(port, o.localAddress, o.host);
  try {
    const uri = `sip:${o.host?.includes(':') ? `[${o.host}]` : (o.host ?? '127.0.0.1')}`;
    const base = {
      method: 'REGISTER',
      uri,
      callId: `reg-${Math.random().toString(36).slice(2)}`,
      fromTag: 'ft1',
      from: `sip:${o.username}@${REALM}`,
      to: `sip:${o.username}@${REALM}`,
      viaHost: 'client.invalid',
      contact: `sip:${o.username}@client.invalid;transport=tcp`,
    };
    await c.write(sipRequest({ ...base, cseq: 1 }).replace('SIP/2.0/UDP', 'SIP/2.0/TCP'));
    const challenge = await c.response(401);
    if (!challenge) return undefined;
    const auth = authorization({ username: o.username, password: o.password, realm: REALM, nonce: nonceOf(challenge), uri, method: 'REGISTER' });
    await c.write(sipRequest({ ...base, cseq: 2, extra: [auth] }).replace('SIP/2.0/UDP', 'SIP/2.0/TCP'));
    const ok = await c.response(200);
    return ok ? 200 : statusOf(c.text.split(/(?=SIP\/2\.0 \d{3} )/).pop() ?? '');
  } finally {
    c.close();
  }
}
