import { userOfUri as sharedUserOfUri } from '../../domain/sip-uri';
import type { SipEndpointAddress } from '../../ports/signalling';
import type { SrfNameAddr, SrfRequestLike } from './srf-types';

/**
 * Small, defensive readers of SIP text for the drachtio adapter. Every input
 * here comes from a phone: nothing throws, bad input gives undefined.
 */

/** User part of a SIP URI (`sip:*89@host;x=y` -> `*89`), percent-decoded when valid. */
export function userOfUri(uri: string | undefined): string | undefined {
  return sharedUserOfUri(uri);
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

/** Where drachtio-server says the request came from. */
export function sourceOf(req: SrfRequestLike): SipEndpointAddress {
  return {
    address: req.source_address,
    port: Number(req.source_port) || 5060,
    transport: String(req.protocol).toLowerCase() === 'tcp' ? 'tcp' : 'udp',
  };
}

/**
 * Header options for a 401 carrying several digest challenges. drachtio-srf
 * joins repeated values with commas, which RFC 3261 section 7.3.1 forbids for
 * WWW-Authenticate; each challenge must be a header line of its own, so the
 * later ones ride in the first value after a line break (drachtio-server
 * parses the text we send as a whole message).
 */
export function challengeHeaders(challenges: readonly string[]): { headers: Record<string, string> } {
  const safe = challenges.map((c) => c.replace(/[\r\n]+/g, ' '));
  return { headers: { 'WWW-Authenticate': safe.join('\r\nWWW-Authenticate: ') } };
}
