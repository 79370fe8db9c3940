import type { Clock } from '../ports/clock';
import type { Registration, SipEndpointAddress } from '../ports/signalling';

/**
 * The registrar for papgate's per-device accounts (RFC 3261 section 10.3),
 * shared by every SIP stack so they answer alike: one binding per account,
 * Min-Expires, `Contact: *` with `Expires: 0`, CSeq order within a Call-ID.
 * Bindings live in the process and expire lazily by the Clock: after a
 * restart phones re-register within their short minimal-configuration
 * interval, and check-sync falls back to the call's Contact meanwhile.
 * The request has passed the SipGate and the AOR check before it gets here.
 */

export interface RegistrarOptions {
  clock: Clock;
  minExpires: number;
  maxExpires: number;
  /** Used when neither the Contact nor an Expires header says (RFC 3261 suggests 3600). */
  defaultExpires: number;
  /** Above this many bindings, expired ones are swept before adding another. */
  maxEntries?: number;
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
}

export type RegisterResult =
  | { kind: 'ok'; binding: Registration | undefined; expiresSec: number }
  | { kind: 'too-brief'; minExpires: number }
  | { kind: 'bad'; reason: string }
  | { kind: 'out-of-order' };

interface Stored { registration: Registration; callId: string; cseq: number }

export class Registrar {
  private readonly bindings = new Map<string, Stored>();

  constructor(private readonly o: RegistrarOptions) {}

  /** The live binding of an account, if any (an expired one is dropped here). */
  lookup(username: string): Registration | undefined {
    const b = this.bindings.get(username);
    if (!b) return undefined;
    if (b.registration.expiresAt <= this.o.clock.now()) {
      this.bindings.delete(username);
      return undefined;
    }
    return b.registration;
  }

  register(r: RegisterRequest): RegisterResult {
    const current = this.bindings.get(r.username);
    if (current && current.callId === r.callId && r.cseq <= current.cseq) return { kind: 'out-of-order' };
    const headerExpires = parseExpires(r.expiresHeader);
    if (headerExpires === null) return { kind: 'bad', reason: 'malformed Expires header' };
    if (r.contact === '*') {
      if (headerExpires !== 0) return { kind: 'bad', reason: 'Contact: * requires Expires: 0' };
      this.bindings.delete(r.username);
      return { kind: 'ok', binding: undefined, expiresSec: 0 };
    }
    if (!r.contact) {
      const binding = this.lookup(r.username); // a query: list what is bound
      const left = binding ? Math.max(0, Math.ceil((binding.expiresAt - this.o.clock.now()) / 1000)) : 0;
      return { kind: 'ok', binding, expiresSec: left };
    }
    const paramExpires = parseExpires(r.contact.expires);
    if (paramExpires === null) return { kind: 'bad', reason: 'malformed expires parameter in Contact' };
    const asked = paramExpires ?? headerExpires ?? this.o.defaultExpires;
    if (asked === 0) {
      this.bindings.delete(r.username);
      return { kind: 'ok', binding: undefined, expiresSec: 0 };
    }
    if (asked < this.o.minExpires) return { kind: 'too-brief', minExpires: this.o.minExpires };
    const expiresSec = Math.min(asked, this.o.maxExpires);
    const registration: Registration = {
      username: r.username, contact: r.contact.uri, source: { ...r.source },
      expiresAt: this.o.clock.now() + expiresSec * 1000,
      ...(r.userAgent ? { userAgent: r.userAgent } : {}),
    };
    if (!current && this.bindings.size >= (this.o.maxEntries ?? 100_000)) this.sweep();
    this.bindings.set(r.username, { registration, callId: r.callId, cseq: r.cseq });
    return { kind: 'ok', binding: registration, expiresSec };
  }

  private sweep(): void {
    const now = this.o.clock.now();
    for (const [k, v] of this.bindings) if (v.registration.expiresAt <= now) this.bindings.delete(k);
  }
}

/** undefined when absent, null when malformed, else seconds (capped to 2^31-1 as RFC 3261 allows). */
function parseExpires(v: string | undefined): number | undefined | null {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (!/^\d{1,10}$/.test(t)) return null;
  return Math.min(Number(t), 2 ** 31 - 1);
}
