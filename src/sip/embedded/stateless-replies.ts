import type { SipEndpointAddress } from '../../ports/signalling';
import type { LibConnection, ServerTransaction, SipRequest, SipResponse } from './sip-lib';
import { stringify } from './sip-lib';

/**
 * REGISTER answered without the `sip` package's server transactions (like
 * Kamailio's stateless replies): at thousands of registrations a second the
 * transaction objects, their timers and their lookups were a visible share
 * of the CPU. What a non-INVITE server transaction does for a REGISTER
 * (RFC 3261 17.2.2) is kept with less: over UDP, the final response is kept
 * as text for 64*T1 (Timer J), and a retransmitted request gets that same
 * text again; one that arrives while the first is still being worked on is
 * dropped (the Trying state). So a retransmission is answered identically and
 * handled once: no second nonce use, no second binding event. Over TCP and
 * TLS nothing is kept (a reliable transport does not retransmit).
 *
 * Requests are matched by the top Via's branch and sent-by, the method, and
 * also Call-ID and CSeq (clients that reuse a branch for a new request exist,
 * as the `sip` package's own matching assumed) and the address the request
 * came from (a stranger who guessed a branch is not sent another phone's answer). A branch without the RFC 3261 magic cookie
 * cannot be matched this way: such a request is left to the transaction layer.
 *
 * Bounded: at most `maxEntries` answers are kept; past that the oldest goes
 * first, and a retransmission that comes later is handled as a new request
 * (a fresh challenge, or the registrar's CSeq check), as without a cache.
 */

export interface StatelessRepliesOptions {
  /** How long an answer is kept for retransmissions (Timer J: 64 * T1 over UDP). */
  keepMs: number;
  maxEntries: number;
  now(): number;
  /** Sends a response's text to the peer over UDP. */
  sendText(peer: SipEndpointAddress, text: string): void;
}

interface Entry {
  expires: number;
  /** The final response's text; undefined while the request is being handled. */
  answer: string | undefined;
}

/** What became of a request: a transaction to answer it with, or nothing to do (a retransmission, handled). */
export type Opened = ServerTransaction | undefined;

export class StatelessReplies {
  private readonly entries = new Map<string, Entry>();
  private nextSweep = 0;

  constructor(private readonly o: StatelessRepliesOptions) {}

  /** Whether a request can be answered here (a RFC 3261 branch). */
  static handles(rq: SipRequest): boolean {
    const branch = rq.headers.via?.[0]?.params.branch;
    return typeof branch === 'string' && branch.startsWith('z9hG4bK') && branch.length > 7;
  }

  /** Answers a retransmission (undefined), or opens a stateless transaction for a new request. */
  open(rq: SipRequest, peer: SipEndpointAddress, cn: LibConnection): Opened {
    if (peer.transport !== 'udp') return new StreamTransaction(cn);
    const key = keyOf(rq, peer);
    const now = this.o.now();
    this.forgetExpired(now);
    const known = this.entries.get(key);
    if (known) {
      if (known.answer !== undefined) this.o.sendText(peer, known.answer);
      return undefined;
    }
    if (this.entries.size >= this.o.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const entry: Entry = { expires: now + this.o.keepMs, answer: undefined };
    this.entries.set(key, entry);
    return new DatagramTransaction(this, key, entry, peer);
  }

  /** Entries kept (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  /** @internal a provisional response: sent, not kept. */
  sendOnly(peer: SipEndpointAddress, text: string): void {
    this.o.sendText(peer, text);
  }

  /** @internal the final answer of an entry, sent now and kept for retransmissions. */
  settle(key: string, entry: Entry, peer: SipEndpointAddress, text: string): void {
    this.o.sendText(peer, text);
    // an entry already pushed out (cache full, or expired) is not brought back
    if (this.entries.get(key) === entry) entry.answer = text;
  }

  /** @internal a request dropped without an answer: its retransmission is handled anew. */
  drop(key: string, entry: Entry): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }

  /**
   * Entries are in order of expiry (one lifetime for all): drop from the
   * front while expired, at most once a second (a sweep per request showed
   * in profiles; an answer kept a second longer does no harm).
   */
  private forgetExpired(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + 1000;
    for (const [k, v] of this.entries) {
      if (v.expires > now) return;
      this.entries.delete(k);
    }
  }
}

const keyOf = (rq: SipRequest, peer: SipEndpointAddress): string => {
  const via = rq.headers.via![0]!;
  return `${String(via.params.branch)}|${via.host}:${via.port ?? ''}|${rq.headers['call-id']!}|${rq.headers.cseq!.seq}|${rq.method}|${peer.address}:${peer.port}`;
};

const isFinal = (rs: SipResponse): boolean => rs.status >= 200;

/** One request over UDP: its first final response is the only one sent, and is kept. */
class DatagramTransaction implements ServerTransaction {
  private done = false;

  constructor(
    private readonly replies: StatelessReplies,
    private readonly key: string,
    private readonly entry: Entry,
    private readonly peer: SipEndpointAddress,
  ) {}

  send(rs: SipResponse): void {
    if (this.done) return;
    const text = stringify(rs);
    if (!isFinal(rs)) return this.replies.sendOnly(this.peer, text);
    this.done = true;
    this.replies.settle(this.key, this.entry, this.peer, text);
  }

  message(): void {} // retransmissions are matched in StatelessReplies.open

  shutdown(): void {
    if (this.done) return;
    this.done = true;
    this.replies.drop(this.key, this.entry);
  }
}

/** One request over TCP or TLS: the first final response goes out on the connection; nothing is kept. */
class StreamTransaction implements ServerTransaction {
  private done = false;

  constructor(private readonly cn: LibConnection) {}

  send(rs: SipResponse): void {
    if (this.done) return;
    if (isFinal(rs)) this.done = true;
    this.cn.send(rs);
    if (this.done) this.cn.release();
  }

  message(): void {}

  shutdown(): void {
    if (this.done) return;
    this.done = true;
    this.cn.release();
  }
}
