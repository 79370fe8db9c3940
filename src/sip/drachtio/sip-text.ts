import type { SrfNameAddr, SrfRequestLike } from './srf-types';

/**
 * Small, defensive readers of SIP text for the drachtio adapter. Every input
 * here comes from a phone: nothing throws, bad input gives undefined.
 */

/** User part of a SIP URI (`sip:*89@host;x=y` -> `*89`), percent-decoded when valid. */
export function userOfUri(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  const m = /^\s*<?\s*sips?:([^@>]*)@/i.exec(uri) ?? /^\s*<?\s*tel:([^;>]+)/i.exec(uri);
  const raw = m?.[1];
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Host (and port) of a SIP URI (`sip:u@10.0.0.1:5062;transport=udp` -> `10.0.0.1:5062`). */
export function hostOfUri(uri: string): string | undefined {
  const m = /^\s*<?\s*sips?:(?:[^@>]*@)?(\[[0-9a-fA-F:.]+\]|[^;>?:]+)(?::(\d+))?/i.exec(uri);
  if (!m) return undefined;
  return m[2] ? `${m[1]}:${m[2]}` : m[1];
}

/** A parsed header, or undefined when it is missing or unparsable. */
export function parsedFrom(req: SrfRequestLike, name: 'from' | 'to'): SrfNameAddr | undefined {
  try {
    return req.has(name) ? req.getParsedHeader(name) : undefined;
  } catch {
    return undefined;
  }
}

export function parsedContacts(req: SrfRequestLike): SrfNameAddr[] {
  try {
    return req.has('contact') ? req.getParsedHeader('contact') : [];
  } catch {
    return [];
  }
}

const DIGITS = /^[0-9*#A-D]$/;
/** Some phones send the RFC 4733 event number instead of the key. */
const EVENT_NUMBER: Record<string, string> = { 10: '*', 11: '#', 12: 'A', 13: 'B', 14: 'C', 15: 'D' };

function normaliseDigit(value: string): string | undefined {
  const v = value.trim().toUpperCase();
  if (DIGITS.test(v)) return v;
  return EVENT_NUMBER[v];
}

/**
 * The key carried by a SIP INFO: `application/dtmf-relay` (`Signal=5`,
 * `Duration=160`) or `application/dtmf` (a bare key). Undefined for
 * anything else.
 */
export function digitOfInfo(contentType: string | undefined, body: string | undefined): string | undefined {
  if (!contentType || !body || body.length > 1024) return undefined;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/dtmf-relay') {
    const m = /^\s*signal\s*=\s*(\S+)\s*$/im.exec(body);
    return m ? normaliseDigit(m[1]!) : undefined;
  }
  if (type === 'application/dtmf') return normaliseDigit(body);
  return undefined;
}
