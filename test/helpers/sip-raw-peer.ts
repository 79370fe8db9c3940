import dgram from 'node:dgram';
import { buildAuthorization } from '../../src/domain/digest';

/**
 * A bare UDP socket that speaks SIP as text, for tests that need to see or
 * bend the wire (retransmissions, garbage, NAT'd Vias). Binds an OS-chosen port.
 */
export class RawPeer {
  private readonly inbox: string[] = [];
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly socket: dgram.Socket,
    readonly port: number,
    private readonly host = '127.0.0.1',
  ) {
    socket.on('message', (m) => {
      this.inbox.push(m.toString('latin1'));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /**
   * Binds on `host` and talks to papgate on 127.0.0.1 (or on ::1 when `host`
   * is IPv6): another loopback address stands for another source (a second
   * phone, an attacker).
   */
  static open(host = '127.0.0.1'): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      s.once('error', reject);
      s.bind(0, host, () => resolve(new RawPeer(s, s.address().port, host.includes(':') ? host : '127.0.0.1')));
    });
  }

  /** Everything received and not taken yet (taking it empties the inbox). */
  drain(): string[] {
    return this.inbox.splice(0);
  }

  send(text: string | Buffer, port: number): void {
    this.socket.send(typeof text === 'string' ? Buffer.from(text, 'latin1') : text, port, this.host);
  }

  /** Takes the first received message (oldest first) that matches, waiting up to timeoutMs. */
  async take(match: (m: string) => boolean, timeoutMs = 3000, what = 'a matching message'): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got:\n${this.inbox.join('\n---\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Takes the next response with this status and CSeq method. */
  response(status: number, method: string, timeoutMs?: number): Promise<string> {
    return this.take((m) => statusOf(m) === status && cseqMethod(m) === method, timeoutMs, `${status} for ${method}`);
  }

  request(method: string, timeoutMs?: number): Promise<string> {
    return this.take((m) => m.startsWith(`${method} `), timeoutMs, `a ${method} request`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export const statusOf = (m: string): number | undefined => {
  const r = /^SIP\/2\.0 (\d{3})/.exec(m);
  return r ? Number(r[1]) : undefined;
};

export function header(m: string, name: string): string | undefined {
  const head = m.split('\r\n\r\n', 1)[0]!;
  const re = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'im');
  return re.exec(head)?.[1]?.trim();
}

const cseqMethod = (m: string) => header(m, 'CSeq')?.split(/\s+/)[1];

export const tagOf = (nameAddr: string | undefined): string | undefined => /;tag=([^;\s]+)/.exec(nameAddr ?? '')?.[1];

export interface RequestSpec {
  method: string;
  uri: string;
  callId: string;
  fromTag: string;
  cseq: number;
  from?: string;
  to?: string;
  toTag?: string;
  branch?: string;
  /** host:port written in the Via (a NAT'd phone writes its private address). */
  viaHost: string;
  contact?: string;
  extra?: string[];
  body?: string;
  contentType?: string;
}

/** A request as text, Content-Length computed. */
export function sipRequest(r: RequestSpec): string {
  const body = r.body ?? '';
  const lines = [
    `${r.method} ${r.uri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${r.viaHost};branch=${r.branch ?? `z9hG4bK${Math.random().toString(36).slice(2)}`};rport`,
    `From: ${nameAddr(r.from ?? 'sip:dev1@papgate.test')};tag=${r.fromTag}`,
    `To: <${r.to ?? r.uri}>${r.toTag ? `;tag=${r.toTag}` : ''}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} ${r.method}`,
    'Max-Forwards: 70',
    ...(r.contact ? [`Contact: <${r.contact}>`] : []),
    ...(r.extra ?? []),
    ...(body ? [`Content-Type: ${r.contentType ?? 'application/sdp'}`] : []),
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
    '',
    body,
  ];
  return lines.join('\r\n');
}

/** The nonce of a 401's WWW-Authenticate. */
export function nonceOf(challenge: string): string {
  const n = /nonce="([^"]+)"/.exec(header(challenge, 'WWW-Authenticate') ?? '')?.[1];
  if (!n) throw new Error(`no nonce in:\n${challenge}`);
  return n;
}

export function authorization(o: { username: string; password: string; realm: string; nonce: string; uri: string; method: string; nc?: number }): string {
  return `Authorization: ${buildAuthorization({ ...o, cnonce: 'c0ffee', nc: o.nc ?? 1 })}`;
}

export const OFFER_SDP = [
  'v=0',
  'o=phone 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 15998 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  '',
].join('\r\n');

/** A bare URI in angle brackets; a name-addr (display name and <URI>) as it is. */
function nameAddr(from: string): string {
  return from.includes('<') ? from : `<${from}>`;
}
