import type { Clock } from '../../ports/clock';
import type { Registration, SipEndpointAddress } from '../../ports/signalling';

/**
 * The registrar's memory and rules, the same as the embedded stack's: one
 * binding per SIP username, Min-Expires, `Contact: *` with `Expires: 0`,
 * CSeq order within a Call-ID. Kept in the process: after a restart phones
 * re-register within their short minimal-configuration interval, and NOTIFY
 * falls back to the call's Contact meanwhile.
 */

export interface RegistrarRules {
  minExpires: number;
  maxExpires: number;
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
}

export type RegisterResult =
  | { kind: 'ok'; binding: Registration | undefined; expiresSec: number }
  | { kind: 'too-brief'; minExpires: number }
  | { kind: 'bad'; reason: string }
  | { kind: 'out-of-order' };

interface Stored { registration: Registration; callId: string; cseq: number }

export class Registrations {
  private readonly byUser = new Map<string, Stored>();

  constructor(private readonly clock: Clock, private readonly rules: RegistrarRules, private readonly maxEntries = 100_000) {}

  /** The binding if it has not expired. */
  get(username: string): Registration | undefined {
    const s = this.byUser.get(username);
    if (!s) return undefined;
    if (s.registration.expiresAt <= this.clock.now()) {
      this.byUser.delete(username);
      return undefined;
    }
    return s.registration;
  }

  register(r: RegisterRequest): RegisterResult {
    const current = this.byUser.get(r.username);
    if (current && current.callId === r.callId && r.cseq <= current.cseq) return { kind: 'out-of-order' };
    const headerExpires = parseExpires(r.expiresHeader);
    if (headerExpires === null) return { kind: 'bad', reason: 'malformed Expires header' };
    if (r.contact === '*') {
      if (headerExpires !== 0) return { kind: 'bad', reason: 'Contact: * requires Expires: 0' };
      this.byUser.delete(r.username);
      return { kind: 'ok', binding: undefined, expiresSec: 0 };
    }
    if (!r.contact) {
      const binding = this.get(r.username);
      const left = binding ? Math.max(0, Math.ceil((binding.expiresAt - this.clock.now()) / 1000)) : 0;
      return { kind: 'ok', binding, expiresSec: left };
    }
    const paramExpires = parseExpires(r.contact.expires);
    if (paramExpires === null) return { kind: 'bad', reason: 'malformed expires parameter in Contact' };
    const asked = paramExpires ?? headerExpires ?? this.rules.defaultExpires;
    if (asked === 0) {
      this.byUser.delete(r.username);
      return { kind: 'ok', binding: undefined, expiresSec: 0 };
    }
    if (asked < this.rules.minExpires) return { kind: 'too-brief', minExpires: this.rules.minExpires };
    const expiresSec = Math.min(asked, this.rules.maxExpires);
    const registration: Registration = {
      username: r.username, contact: r.contact.uri, source: { ...r.source },
      expiresAt: this.clock.now() + expiresSec * 1000,
      ...(r.userAgent ? { userAgent: r.userAgent } : {}),
    };
    if (this.byUser.size >= this.maxEntries && !current) this.prune();
    this.byUser.set(r.username, { registration, callId: r.callId, cseq: r.cseq });
    return { kind: 'ok', binding: registration, expiresSec };
  }

  private prune(): void {
    const now = this.clock.now();
    for (const [k, v] of this.byUser) if (v.registration.expiresAt <= now) this.byUser.delete(k);
  }
}

/** undefined when absent, null when malformed, else seconds. */
function parseExpires(v: string | undefined): number | undefined | null {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (!/^\d{1,10}$/.test(t)) return null;
  return Math.min(Number(t), 2 ** 31 - 1);
}
