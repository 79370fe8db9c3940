import { createHmac } from 'node:crypto';
import { digestAlgorithm, expectedResponse, parseDigest, sameHex, type DigestAlgorithm, type DigestCredentials } from '../domain/digest';
import { DEFAULT_EMERGENCY_LOOKUP_MS, isEmergencyNumber } from '../domain/dialplan';
import type { Clock } from '../ports/clock';
import { silentLogger, type Logger } from '../ports/logger';
import type { Random } from '../ports/random';
import type { SipAccount } from '../ports/signalling';
import { withTimeout } from './with-timeout';

/**
 * Admission of SIP requests, shared by every SIP stack so they behave alike:
 * digest authentication with nonces that expire and cannot be replayed, and
 * the emergency rule (an emergency call goes through unproven only when the
 * store cannot answer in time; authentication fails closed).
 */

export interface AdmissionRequest {
  method: string;
  /** User part of the Request-URI (INVITE: the dialled number). */
  dialled: string;
  /** Value of the Authorization (or Proxy-Authorization) header, if any. */
  authorization: string | undefined;
}

export type Admission =
  | { kind: 'accept'; account: SipAccount | null; emergency: boolean }
  | { kind: 'challenge'; status: 401; wwwAuthenticate: string[] }
  | { kind: 'reject'; status: 403 | 503; reason: string };

export interface SipGateOptions {
  realm: string;
  emergencyNumbers: readonly string[];
  /** How long a nonce may be used. */
  nonceTtlMs: number;
  /** The algorithms challenged with, in this order, and the only ones accepted (default MD5 only). */
  digestAlgorithms?: readonly DigestAlgorithm[];
  lookupAccount(username: string): Promise<SipAccount | null>;
  /** How long an emergency INVITE waits for the store before it goes through unproven (default 300 ms). */
  emergencyLookupMs?: number;
  clock: Clock;
  random: Random;
  /** Where a store that cannot answer is reported (default: nowhere). */
  log?: Logger;
}

/**
 * MD5 alone unless configured: phones answer the topmost challenge they know,
 * some read only the first one (SIPp 3.6 gives up on SHA-256), and some fail
 * on a second one whatever the order (baresip 1.0 with libre 1.1).
 */
const DEFAULT_ALGORITHMS: readonly DigestAlgorithm[] = ['MD5'];

export class SipGate {
  private readonly key: Buffer;
  /** Highest nonce-count seen per nonce: a request must bring a higher one. */
  private readonly seen = new Map<string, { nc: number; expires: number }>();

  private readonly emergencyLookupMs: number;
  private readonly algorithms: readonly DigestAlgorithm[];

  constructor(private readonly o: SipGateOptions) {
    this.key = Buffer.from(o.random.bytes(32));
    this.algorithms = o.digestAlgorithms?.length ? o.digestAlgorithms : DEFAULT_ALGORITHMS;
    this.emergencyLookupMs = o.emergencyLookupMs ?? DEFAULT_EMERGENCY_LOOKUP_MS;
  }

  isEmergency(dialled: string): boolean {
    return isEmergencyNumber(dialled, this.o.emergencyNumbers);
  }

  async admit(req: AdmissionRequest): Promise<Admission> {
    if (req.method === 'INVITE' && this.isEmergency(req.dialled)) return this.admitEmergency(req.authorization);
    const creds = parseDigest(req.authorization);
    if (!creds) return this.challenge(false);
    let account: SipAccount | null;
    try {
      account = await this.o.lookupAccount(creds.username);
    } catch (err) {
      (this.o.log ?? silentLogger).warn({ err, method: req.method }, 'device lookup failed: answering 503');
      return { kind: 'reject', status: 503, reason: 'Service Unavailable' };
    }
    const verdict = this.check(req.method, creds, account);
    return verdict.kind === 'accept' ? { ...verdict, emergency: false } : verdict;
  }

  /**
   * The gateway is for devices: while the store answers, a caller who does not
   * prove a device's credentials (none, unknown user, wrong response, a nonce
   * we did not issue, a stale or replayed one) gets a challenge like any call;
   * a phone with good credentials answers it at once. Only a store that cannot
   * answer in time lets an unproven call through (account null).
   */
  private async admitEmergency(authorization: string | undefined): Promise<Admission> {
    const creds = parseDigest(authorization);
    let account: SipAccount | null;
    try {
      // Without credentials the lookup only asks whether the store can answer.
      account = await withTimeout(this.o.lookupAccount(creds?.username ?? '\u0000probe'), this.emergencyLookupMs);
    } catch (err) {
      (this.o.log ?? silentLogger).warn({ err }, 'emergency call let through unproven: the store did not answer in time');
      return { kind: 'accept', account: null, emergency: true };
    }
    if (!creds) return this.challenge(false);
    const verdict = this.check('INVITE', creds, account);
    if (verdict.kind === 'accept') return { ...verdict, emergency: true };
    return verdict.kind === 'challenge' ? verdict : this.challenge(false);
  }

  /** Digest verification against the account the store named (null: no such user). */
  private check(method: string, creds: DigestCredentials, account: SipAccount | null): Admission {
    // An algorithm we did not offer (MD5-sess, SHA-512-256, a typo) is refused like a wrong password.
    if (!account || creds.realm !== this.o.realm || !this.offered(creds)) return { kind: 'reject', status: 403, reason: 'Forbidden' };
    const nonceAge = this.nonceAge(creds.nonce);
    if (nonceAge === null) return this.challenge(false);
    if (nonceAge > this.o.nonceTtlMs) return this.challenge(true);
    if (!sameHex(expectedResponse(creds, method, account.password), creds.response.toLowerCase())) {
      return { kind: 'reject', status: 403, reason: 'Forbidden' };
    }
    if (!this.freshUse(creds.nonce, creds.qop ? parseInt(creds.nc ?? '', 16) : NaN)) return this.challenge(true);
    return { kind: 'accept', account, emergency: false };
  }

  private offered(creds: DigestCredentials): boolean {
    const algorithm = digestAlgorithm(creds);
    return algorithm !== null && this.algorithms.includes(algorithm);
  }

  /**
   * A fresh challenge: one WWW-Authenticate value per configured algorithm
   * (RFC 8760), in order, with the same nonce; each goes in its own header line.
   */
  challenge(stale: boolean): { kind: 'challenge'; status: 401; wwwAuthenticate: string[] } {
    const nonce = this.makeNonce();
    return {
      kind: 'challenge',
      status: 401,
      wwwAuthenticate: this.algorithms.map(
        (algorithm) => `Digest realm="${this.o.realm}", nonce="${nonce}", algorithm=${algorithm}, qop="auth"${stale ? ', stale=true' : ''}`,
      ),
    };
  }

  private makeNonce(): string {
    const body = Buffer.alloc(16);
    body.writeBigUInt64BE(BigInt(this.o.clock.now()), 0);
    Buffer.from(this.o.random.bytes(8)).copy(body, 8);
    const mac = createHmac('sha256', this.key).update(body).digest().subarray(0, 12);
    return Buffer.concat([body, mac]).toString('base64url');
  }

  /** Age of a nonce we issued, or null when we did not issue it. */
  private nonceAge(nonce: string): number | null {
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 28) return null;
    const body = raw.subarray(0, 16);
    const mac = createHmac('sha256', this.key).update(body).digest().subarray(0, 12);
    if (!sameHex(mac.toString('hex'), raw.subarray(16).toString('hex'))) return null;
    return this.o.clock.now() - Number(body.readBigUInt64BE(0));
  }

  /** Records a use of the nonce; false when it replays one (same or lower nc, or a second use without qop). */
  private freshUse(nonce: string, nc: number): boolean {
    const now = this.o.clock.now();
    this.forgetExpired(now);
    // Keyed by the nonce's bytes (a string of its own): the nonce as parsed is a slice of the whole
    // request's text, which V8 would keep alive with it for as long as the nonce is remembered.
    const key = Buffer.from(nonce, 'base64url').toString('latin1');
    const prev = this.seen.get(key);
    const count = Number.isFinite(nc) ? nc : Infinity; // without qop a nonce is good once
    if (prev && !(count > prev.nc)) return false;
    // Re-inserted at the end, so the map stays in order of expiry (the TTL is the same for all).
    this.seen.delete(key);
    this.seen.set(key, { nc: count, expires: now + this.o.nonceTtlMs });
    return true;
  }

  /**
   * Drops the nonces past their TTL from the front of the map (oldest
   * first), stopping at the first live one: the cost is the number dropped,
   * not the map's size, however many registrations a TTL holds.
   */
  private forgetExpired(now: number): void {
    for (const [k, v] of this.seen) {
      if (v.expires > now) return;
      this.seen.delete(k);
    }
  }
}
