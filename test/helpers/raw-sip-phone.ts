import { OFFER_SDP, RawPeer, authorization, header, nonceOf, sipRequest, statusOf, tagOf } from './sip-raw-peer';

/**
 * A phone over a raw UDP socket on a chosen loopback address, for the attack
 * tests: registers and calls with digest credentials, like a desk phone.
 */

export interface PhoneAccount {
  sipUsername: string;
  sipPassword: string;
}

let seq = 0;
const uniq = (p: string) => `${p}-${process.pid}-${++seq}`;

export class RawPhone {
  private constructor(
    readonly peer: RawPeer,
    readonly address: string,
    private readonly sipPort: number,
    private readonly realm: string,
  ) {}

  static async open(address: string, sipPort: number, realm: string): Promise<RawPhone> {
    return new RawPhone(await RawPeer.open(address), address, sipPort, realm);
  }

  private get viaHost(): string {
    return `${this.address}:${this.peer.port}`;
  }

  /** REGISTER, 401, REGISTER with credentials: the final status of the second. */
  async register(account: PhoneAccount, timeoutMs = 5000): Promise<number> {
    const callId = uniq('reg');
    const uri = `sip:127.0.0.1:${this.sipPort}`;
    const base = {
      method: 'REGISTER',
      uri,
      callId,
      fromTag: 'r1',
      viaHost: this.viaHost,
      from: `sip:${account.sipUsername}@127.0.0.1`,
      to: `sip:${account.sipUsername}@127.0.0.1`,
      contact: `sip:${account.sipUsername}@${this.viaHost}`,
    };
    const challenge = await this.exchange(sipRequest({ ...base, cseq: 1 }), 'REGISTER', callId, timeoutMs);
    if (statusOf(challenge) !== 401) return statusOf(challenge)!;
    const auth = authorization({
      username: account.sipUsername,
      password: account.sipPassword,
      realm: this.realm,
      nonce: nonceOf(challenge),
      uri,
      method: 'REGISTER',
    });
    return statusOf(await this.exchange(sipRequest({ ...base, cseq: 2, extra: [auth, 'Expires: 3600'] }), 'REGISTER', callId, timeoutMs))!;
  }

  /**
   * Calls `dial` with credentials (after the 401). A 200 is acknowledged and
   * hung up at once (BYE answered); any final status is ACKed. Resolves with it.
   */
  async call(account: PhoneAccount, dial: string, timeoutMs = 8000): Promise<number> {
    const callId = uniq('call');
    const uri = `sip:${dial}@127.0.0.1:${this.sipPort}`;
    const base = {
      method: 'INVITE',
      uri,
      callId,
      fromTag: 'c1',
      viaHost: this.viaHost,
      from: `sip:${account.sipUsername}@127.0.0.1`,
      contact: `sip:${account.sipUsername}@${this.viaHost}`,
      body: OFFER_SDP.replace(/127\.0\.0\.1/g, this.address),
    };
    const first = `z9hG4bKa${callId}`;
    const challenge = await this.exchange(sipRequest({ ...base, cseq: 1, branch: first }), 'INVITE', callId, timeoutMs);
    this.ack(challenge, base, 1, first);
    if (statusOf(challenge) !== 401) return statusOf(challenge)!;
    const auth = authorization({
      username: account.sipUsername,
      password: account.sipPassword,
      realm: this.realm,
      nonce: nonceOf(challenge),
      uri,
      method: 'INVITE',
    });
    const second = `z9hG4bKb${callId}`;
    const answer = await this.exchange(sipRequest({ ...base, cseq: 2, branch: second, extra: [auth] }), 'INVITE', callId, timeoutMs);
    const status = statusOf(answer)!;
    if (status !== 200) {
      this.ack(answer, base, 2, second);
      return status;
    }
    this.ack(answer, base, 2, `z9hG4bKc${callId}`);
    const toTag = tagOf(header(answer, 'To'));
    const bye = await this.exchange(
      sipRequest({ method: 'BYE', uri, callId, fromTag: 'c1', toTag, cseq: 3, viaHost: this.viaHost, from: base.from }),
      'BYE',
      callId,
      timeoutMs,
    );
    if (statusOf(bye) !== 200) throw new Error(`BYE answered ${statusOf(bye)}`);
    return 200;
  }

  /**
   * Sends a request and retransmits it as a UA over UDP does (500 ms, doubling
   * up to 4 s: a datagram may be lost, e.g. to a flood filling the server's
   * socket buffer), until its final response arrives or `timeoutMs` passes.
   */
  async exchange(text: string, method: string, callId: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (let interval = 500; ; interval = Math.min(interval * 2, 4000)) {
      this.peer.send(text, this.sipPort);
      const left = deadline - Date.now();
      try {
        return await this.final(method, callId, Math.min(interval, Math.max(left, 1)));
      } catch (e) {
        if (Date.now() >= deadline) throw e;
      }
    }
  }

  /** A final response (>= 200) to `method` of this Call-ID. */
  final(method: string, callId: string, timeoutMs: number): Promise<string> {
    return this.peer.take(
      (m) => (statusOf(m) ?? 0) >= 200 && header(m, 'Call-ID') === callId && (header(m, 'CSeq') ?? '').endsWith(method),
      timeoutMs,
      `a final response to ${method} ${callId}`,
    );
  }

  private ack(rs: string, base: { uri: string; callId: string; from: string }, cseq: number, branch: string): void {
    this.peer.send(
      sipRequest({
        method: 'ACK',
        uri: base.uri,
        callId: base.callId,
        fromTag: 'c1',
        toTag: tagOf(header(rs, 'To')),
        cseq,
        viaHost: this.viaHost,
        branch,
        from: base.from,
      }),
      this.sipPort,
    );
  }

  close(): Promise<void> {
    return this.peer.close();
  }
}
