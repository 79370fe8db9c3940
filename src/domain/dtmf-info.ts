/**
 * DTMF carried in SIP INFO bodies, read the same way by every SIP stack.
 * - application/dtmf-relay: `Signal=5\r\nDuration=160`; Signal may be a digit,
 *   `*`, `#`, A-D, or an RFC 4733 event number (10 = *, 11 = #, 12-15 = A-D).
 * - application/dtmf: the bare key (some phones send the event number).
 * - no type and no body: a keep-alive.
 */

export const DTMF_INFO_TYPES = ['application/dtmf-relay', 'application/dtmf'] as const;

const EVENT_KEYS = '0123456789*#ABCD';

/** One key from a token, or undefined. */
function keyOf(token: string): string | undefined {
  const t = token.trim().toUpperCase();
  if (/^[0-9*#A-D]$/.test(t)) return t;
  if (/^1[0-5]$/.test(t)) return EVENT_KEYS[Number(t)];
  return undefined;
}

export type InfoDtmf = { kind: 'digit'; digit: string } | { kind: 'keep-alive' } | { kind: 'unsupported' } | { kind: 'invalid'; problem: string };

/** What an INFO request carries, from its Content-Type header (parameters allowed) and body. */
export function infoDtmf(contentType: string | undefined, body: string | undefined): InfoDtmf {
  const text = body ?? '';
  const type = contentType?.split(';')[0]!.trim().toLowerCase();
  if (!type && text.trim() === '') return { kind: 'keep-alive' };
  if (text.length > 1024) return { kind: 'invalid', problem: 'INFO body too long' };
  if (type === 'application/dtmf-relay') {
    const m = /^\s*signal\s*=\s*(\S+)\s*$/im.exec(text);
    const digit = m ? keyOf(m[1]!) : undefined;
    return digit ? { kind: 'digit', digit } : { kind: 'invalid', problem: 'no valid Signal= line in application/dtmf-relay body' };
  }
  if (type === 'application/dtmf') {
    const digit = keyOf(text);
    return digit ? { kind: 'digit', digit } : { kind: 'invalid', problem: 'application/dtmf body is not a single key' };
  }
  return { kind: 'unsupported' };
}
