import type { Clock } from '../../ports/clock';
import type { Registration, SipEndpointAddress } from '../../ports/signalling';
import type { NameAddr } from './sip-lib';

/**
 * The registrar for papgate's per-device accounts (RFC 3261 section 10.3):
 * one binding per account, in memory, expiring lazily by the Clock. The
 * request has passed the SipGate and the AOR check before it gets here.
 */

export interface RegistrarOptions {
  clock: Clock;
  minExpires: number;
  maxExpires: number;
  /** Used when neither the Contact nor an Expires header says (RFC 3261 suggests 3600). */
  defaultExpires: number;
}

export interface RegisterRequest {
  username: string;
  contacts: NameAddr[] | '*' | undefined;
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

interface Stored {
  registration: Registration;
  callId: string;
  cseq: number;
}

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

    if (r.contacts === '*') {
      if (headerExpires !== 0) return { kind: 'bad', reason: 'Contact: * requires Expires: 0' };
      this.bindings.delete(r.username);
      return { kind: 'ok', binding: undefined, expiresSec: 0 };
    }
    const contact = r.contacts?.[0];
    if (!contact) {
      const binding = this.lookup(r.username); // a query: list what is bound
      return { kind: 'ok', binding, expiresSec: binding ? remainingSec(binding, this.o.clock) : 0 };
    }
    const paramExpires = parseExpires(contact.params.expires ?? undefined);
    if (paramExpires === null) return { kind: 'bad', reason: 'malformed expires parameter in Contact' };
    const asked = paramExpires ?? headerExpires ?? this.o.defaultExpires;
    if (asked === 0) {
      this.bindings.delete(r.username);
      return { kind: 'ok', binding: undefined, expiresSec: 0 };
    }
    if (asked < this.o.minExpires) return { kind: 'too-brief', minExpires: this.o.minExpires };
    const expiresSec = Math.min(asked, this.o.maxExpires);
    const registration: Registration = {
      username: r.username,
      contact: contact.uri,
      source: { ...r.source },
      expiresAt: this.o.clock.now() + expiresSec * 1000,
      ...(r.userAgent ? { userAgent: r.userAgent } : {}),
    };
    this.bindings.set(r.username, { registration, callId: r.callId, cseq: r.cseq });
    return { kind: 'ok', binding: registration, expiresSec };
  }
}

/** undefined when absent, null when malformed, else seconds (capped to 2^31-1 as RFC 3261 allows). */
function parseExpires(v: string | undefined): number | undefined | null {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (!/^\d{1,10}$/.test(t)) return null;
  return Math.min(Number(t), 2 ** 31 - 1);
}

const remainingSec = (r: Registration, clock: Clock) => Math.max(0, Math.ceil((r.expiresAt - clock.now()) / 1000));
