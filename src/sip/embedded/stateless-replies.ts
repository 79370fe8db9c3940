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
 * An answer is kept as the bytes that were sent, outside V8's heap, under a
 * key that is a string of its own (keyOf): at 3,000 registrations a second a
 * sampled heap profile found 77 MB live, 26 of it answers kept as text and,
 * through their keys, the requests they answered; every garbage collection
 * copied or marked them. After: 35 MB in all.
 *
 * Requests are matched by the top Via's branch and sent-by, the method, and
 * also Call-ID and CSeq (clients that reuse a branch for a new request exist,
 * as the `sip` package's own matching assumed) and the address the request
 * came from (a stranger who guessed a branch is not sent another phone's answer). A branch without the RFC 3261 magic cookie
 * cannot be matched this way: such a request is left to the transaction layer.
 *
 * Bounded: at most `maxEntries` answers are kept; past that the oldest go
 * first, and a retransmission that comes later is handled as a new request
 * (a fresh challenge, or the registrar's CSeq check), as without a cache.
 */

export interface StatelessRepliesOptions {
  /** How long an answer is kept for retransmissions (Timer J: 64 * T1 over UDP). */
  keepMs: number;
  maxEntries: number;
  now(): number;
  /** Sends a response, written out (latin1), to the peer over UDP. */
  sendBytes(peer: SipEndpointAddress, bytes: Buffer): void;
}

interface Entry {
  /** The final response as sent; undefined while the request is being handled. */
  answer: Buffer | undefined;
}

/** What became of a request: a transaction to answer it with, or nothing to do (a retransmission, handled). */
export type Opened = ServerTransaction | undefined;

/**
 * Answers live in two generations: new ones go into `current`, which becomes
 * `previous` once it is keepMs old or holds half of maxEntries, and the old
 * `previous` is dropped whole (checked when a request comes). So each answer
 * is kept at least keepMs unless the cap pushes it out sooner, and no request pays for
 * walking or evicting single entries (deleting from the front of one big
 * Map and asking it for its first key again showed in profiles).
 */
export class StatelessReplies {
  private current = new Map<string, Entry>();
  private previous = new Map<string, Entry>();
  private currentSince: number;

  constructor(private readonly o: StatelessRepliesOptions) {
    this.currentSince = o.now();
  }

  /** Whether a request can be answered here (a RFC 3261 branch). */
  static handles(rq: SipRequest): boolean {
    const branch = rq.headers.via?.[0]?.params.branch;
    return typeof branch === 'string' && branch.startsWith('z9hG4bK') && branch.length > 7;
  }

  /** Answers a retransmission (undefined), or opens a stateless transaction for a new request. */
  open(rq: SipRequest, peer: SipEndpointAddress, cn: LibConnection): Opened {
    if (peer.transport !== 'udp') return new StreamTransaction(cn);
    const key = keyOf(rq, peer);
    this.age(this.o.now());
    const known = this.current.get(key) ?? this.previous.get(key);
    if (known) {
      if (known.answer !== undefined) this.o.sendBytes(peer, known.answer);
      return undefined;
    }
    const entry: Entry = { answer: undefined };
    this.current.set(key, entry);
    return new DatagramTransaction(this, key, entry, peer);
  }

  /** Answers kept, and requests in progress (tests, metrics). */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  clear(): void {
    this.current.clear();
    this.previous.clear();
  }

  /** @internal a provisional response: sent, not kept. */
  sendOnly(peer: SipEndpointAddress, text: string): void {
    this.o.sendBytes(peer, Buffer.from(text, 'latin1'));
  }

  /** @internal the final answer of an entry, sent now and kept for retransmissions. */
  settle(key: string, entry: Entry, peer: SipEndpointAddress, text: string): void {
    const bytes = Buffer.from(text, 'latin1');
    this.o.sendBytes(peer, bytes);
    // an entry already dropped with its generation is not brought back
    if (this.holds(key, entry)) entry.answer = bytes;
  }

  /** @internal a request dropped without an answer: its retransmission is handled anew. */
  drop(key: string, entry: Entry): void {
    if (this.current.get(key) === entry) this.current.delete(key);
    else if (this.previous.get(key) === entry) this.previous.delete(key);
  }

  private holds(key: string, entry: Entry): boolean {
    return this.current.get(key) === entry || this.previous.get(key) === entry;
  }

  private age(now: number): void {
    const old = now - this.currentSince;
    if (old >= 2 * this.o.keepMs) this.previous = new Map();
    else if (old < this.o.keepMs && this.current.size < this.o.maxEntries / 2) return;
    else this.previous = this.current;
    this.current = new Map();
    this.currentSince = now;
  }
}

/**
 * Joined, not concatenated: `join` copies the parts into a string of its own,
 * while a concatenation would be a tree over slices of the request's text and
 * keep the whole request alive as long as its answer is kept.
 */
const keyOf = (rq: SipRequest, peer: SipEndpointAddress): string => {
  const via = rq.headers.via![0]!;
  const parts = [
    String(via.params.branch),
    `${via.host}:${via.port ?? ''}`,
    rq.headers['call-id']!,
    rq.headers.cseq!.seq,
    rq.method,
    `${peer.address}:${peer.port}`,
  ];
  return parts.join('|');
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
