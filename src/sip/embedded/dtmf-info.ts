/**
 * DTMF carried in SIP INFO bodies. Pure.
 * - application/dtmf-relay: `Signal=5\r\nDuration=160`; Signal may be a digit,
 *   `*`, `#`, A-D, or an RFC 4733 event number (10 = *, 11 = #, 12-15 = A-D).
 * - application/dtmf: the bare digit (some phones send the event number).
 */

export const DTMF_INFO_TYPES = ['application/dtmf-relay', 'application/dtmf'] as const;

const EVENT_DIGITS = '0123456789*#ABCD';

/** A single key from a token: '5', '*', '#', 'A'..'D' or an event number 0-15; undefined otherwise. */
function keyOf(token: string): string | undefined {
  const t = token.trim().toUpperCase();
  if (/^[0-9]$/.test(t) || /^[*#A-D]$/.test(t)) return t;
  if (/^1[0-5]$/.test(t)) return EVENT_DIGITS[Number(t)];
  return undefined;
}

export type InfoDtmf = { kind: 'digit'; digit: string } | { kind: 'unsupported' } | { kind: 'invalid'; problem: string };

/** Reads the digit of an INFO request from its Content-Type (no parameters, lower case) and body. */
export function dtmfFromInfo(contentType: string | undefined, body: string): InfoDtmf {
  if (contentType === 'application/dtmf-relay') {
    const m = /^\s*signal\s*=\s*(\S+)\s*$/im.exec(body);
    const digit = m ? keyOf(m[1]!) : undefined;
    return digit ? { kind: 'digit', digit } : { kind: 'invalid', problem: 'no valid Signal= line in application/dtmf-relay body' };
  }
  if (contentType === 'application/dtmf') {
    const digit = keyOf(body);
    return digit ? { kind: 'digit', digit } : { kind: 'invalid', problem: 'application/dtmf body is not a single key' };
  }
  return { kind: 'unsupported' };
}
