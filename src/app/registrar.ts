import type { Clock } from '../ports/clock';
import type { Registration, SipEndpointAddress } from '../ports/signalling';
import type { Store, StoredRegistration } from '../ports/store';

/**
 * The registrar for papgate's per-device accounts (RFC 3261 section 10.3),
 * shared by every SIP stack so they answer alike: one binding per account,
 * Min-Expires, `Contact: *` with `Expires: 0`, CSeq order within a Call-ID.
 * Bindings live in the store, so whichever node handles a phone's call can
 * send its check-sync NOTIFY, through the Path (RFC 3327) a proxy such as
 * Kamailio recorded. A refresh that changes nothing but the expiry is not
 * written while the stored binding has more than half its interval left:
 * REGISTER stays a read. The request has passed the SipGate and the AOR check
 * before it gets here.
 */

export type RegistrationStore = Pick<Store, 'saveRegistration' | 'getRegistration' | 'deleteRegistration'>;

export interface RegistrarOptions {
  clock: Clock;
  store: RegistrationStore;
  minExpires: number;
  maxExpires: number;
  /** Used when neither the Contact nor an Expires header says (RFC 3261 suggests 3600). */
  defaultExpires: number;
}

export interface RegisterRequest {
  username: string;
  /** `*`, the first Contact's URI and expires parameter, or undefined for a query. */
  contact: '*' | { uri: string; expires: string | undefined } | undefined;
  expiresHeader: string | undefined;
  callId: string;
  cseq: number;
  source: SipEndpointAddress;
  userAgent: string | undefined;
  /** Path header URIs, first first (RFC 3327); empty without a proxy. */
  path: string[];
}

export type RegisterResult =
  /** `changed`: a new binding, a removed one, or one that moved (contact, source, Path); false for a plain refresh. */
  | { kind: 'ok'; binding: Registration | undefined; expiresSec: number; changed: boolean }
  | { kind: 'too-brief'; minExpires: number }
  | { kind: 'bad'; reason: string }
  | { kind: 'out-of-order' };

export class Registrar {
  constructor(private readonly o: RegistrarOptions) {}

  /** The live binding of an account, if any. */
  async lookup(username: string): Promise<Registration | undefined> {
    const stored = await this.o.store.getRegistration(username, this.o.clock.now());
    return stored ? toRegistration(stored) : undefined;
  }

  async register(r: RegisterRequest): Promise<RegisterResult> {
    const now = this.o.clock.now();
    const current = await this.o.store.getRegistration(r.username, now);
    if (current && current.callId === r.callId && r.cseq <= current.cseq) return { kind: 'out-of-order' };
    const headerExpires = parseExpires(r.expiresHeader);
    if (headerExpires === null) return { kind: 'bad', reason: 'malformed Expires header' };
    if (r.contact === '*') {
      if (headerExpires !== 0) return { kind: 'bad', reason: 'Contact: * requires Expires: 0' };
      if (current) await this.o.store.deleteRegistration(r.username);
      return { kind: 'ok', binding: undefined, expiresSec: 0, changed: !!current };
    }
    if (!r.contact) {
      // a query: list what is bound
      const left = current ? Math.max(0, Math.ceil((current.expiresAt - now) / 1000)) : 0;
      return { kind: 'ok', binding: current ? toRegistration(current) : undefined, expiresSec: left, changed: false };
    }
    const paramExpires = parseExpires(r.contact.expires);
    if (paramExpires === null) return { kind: 'bad', reason: 'malformed expires parameter in Contact' };
    const asked = paramExpires ?? headerExpires ?? this.o.defaultExpires;
    if (asked === 0) {
      if (current) await this.o.store.deleteRegistration(r.username);
      return { kind: 'ok', binding: undefined, expiresSec: 0, changed: !!current };
    }
    if (asked < this.o.minExpires) return { kind: 'too-brief', minExpires: this.o.minExpires };
    const expiresSec = Math.min(asked, this.o.maxExpires);
    const next: StoredRegistration = {
      username: r.username,
      contact: r.contact.uri,
      sourceAddress: r.source.address,
      sourcePort: r.source.port,
      sourceTransport: r.source.transport,
      path: [...r.path],
      callId: r.callId,
      cseq: r.cseq,
      expiresAt: now + expiresSec * 1000,
      ...(r.userAgent ? { userAgent: r.userAgent } : {}),
    };
    if (!current || !sameBinding(current, next) || current.expiresAt - now <= (expiresSec * 1000) / 2) {
      await this.o.store.saveRegistration(next, now);
    }
    return { kind: 'ok', binding: toRegistration(next), expiresSec, changed: !current || !sameLocation(current, next) };
  }
}

/** Everything but the expiry and CSeq is what it was: a plain refresh. */
function sameBinding(a: StoredRegistration, b: StoredRegistration): boolean {
  return a.callId === b.callId && sameLocation(a, b) && (a.userAgent ?? '') === (b.userAgent ?? '');
}

/** The phone is reached the same way: contact, source and Path. */
function sameLocation(a: StoredRegistration, b: StoredRegistration): boolean {
  return (
    a.contact === b.contact &&
    a.sourceAddress === b.sourceAddress &&
    a.sourcePort === b.sourcePort &&
    a.sourceTransport === b.sourceTransport &&
    a.path.length === b.path.length &&
    a.path.every((p, i) => p === b.path[i])
  );
}

function toRegistration(s: StoredRegistration): Registration {
  return {
    username: s.username,
    contact: s.contact,
    source: { address: s.sourceAddress, port: s.sourcePort, transport: s.sourceTransport },
    expiresAt: s.expiresAt,
    path: [...s.path],
    ...(s.userAgent ? { userAgent: s.userAgent } : {}),
  };
}

/** undefined when absent, null when malformed, else seconds (capped to 2^31-1 as RFC 3261 allows). */
function parseExpires(v: string | undefined): number | undefined | null {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (!/^\d{1,10}$/.test(t)) return null;
  return Math.min(Number(t), 2 ** 31 - 1);
}

/**
 * Bindings in this process only: for a SIP stack used without a store
 * (tests, tools). A server passes its Store, which every node shares.
 */
export class InMemoryRegistrations implements RegistrationStore {
  private readonly bindings = new Map<string, StoredRegistration>();

  constructor(private readonly maxEntries = 100_000) {}

  async saveRegistration(r: StoredRegistration, now: number): Promise<void> {
    if (!this.bindings.has(r.username) && this.bindings.size >= this.maxEntries) {
      for (const [k, v] of this.bindings) if (v.expiresAt <= now) this.bindings.delete(k);
    }
    this.bindings.set(r.username, { ...r, path: [...r.path] });
  }

  async getRegistration(username: string, now: number): Promise<StoredRegistration | null> {
    const b = this.bindings.get(username);
    if (!b) return null;
    if (b.expiresAt <= now) {
      this.bindings.delete(username);
      return null;
    }
    return { ...b, path: [...b.path] };
  }

  async deleteRegistration(username: string): Promise<boolean> {
    return this.bindings.delete(username);
  }
}
