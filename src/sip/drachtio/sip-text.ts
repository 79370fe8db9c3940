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

export const DTMF_INFO_TYPES = ['application/dtmf-relay', 'application/dtmf'] as const;

const EVENT_KEYS = '0123456789*#ABCD';

/** One key: 0-9, *, #, A-D, or the RFC 4733 event number some phones send instead (10 = *, 11 = #). */
function keyOf(token: string): string | undefined {
  const t = token.trim().toUpperCase();
  if (/^[0-9*#A-D]$/.test(t)) return t;
  if (/^1[0-5]$/.test(t)) return EVENT_KEYS[Number(t)];
  return undefined;
}

export type InfoDtmf =
  | { kind: 'digit'; digit: string }
  | { kind: 'keep-alive' }
  | { kind: 'unsupported' }
  | { kind: 'invalid'; problem: string };

/**
 * What a SIP INFO carries, read as the embedded stack reads it:
 * `application/dtmf-relay` (`Signal=5`, `Duration=160`), `application/dtmf`
 * (a bare key), an empty keep-alive, or something we do not take (415).
 */
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
