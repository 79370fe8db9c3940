import { hash } from 'node:crypto';

/**
 * SIP digest authentication (RFC 3261 section 22 with qop=auth), pure parts:
 * MD5 (RFC 2617) and SHA-256 (RFC 7616, for SIP RFC 8760). The `-sess`
 * variants and SHA-512-256 are not offered, so not accepted either.
 */

export type DigestAlgorithm = 'SHA-256' | 'MD5';

const KNOWN: readonly DigestAlgorithm[] = ['SHA-256', 'MD5'];

export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm?: string;
  cnonce?: string;
  qop?: string;
  nc?: string;
  opaque?: string;
}

const HASH_NAMES: Record<DigestAlgorithm, string> = { 'SHA-256': 'sha256', MD5: 'md5' };

/** The algorithm the credentials were computed with (none named: MD5, RFC 2617), or null for one we do not offer. */
export function digestAlgorithm(c: Pick<DigestCredentials, 'algorithm'>): DigestAlgorithm | null {
  if (c.algorithm === undefined) return 'MD5';
  const named = c.algorithm.toUpperCase();
  return KNOWN.find((a) => a === named) ?? null;
}

/** Parses the value of an Authorization / Proxy-Authorization header; null if it is not Digest or lacks a field. */
export function parseDigest(header: string | undefined): DigestCredentials | null {
  if (!header || header.length > 4096) return null;
  const m = /^\s*Digest\s+(.*)$/is.exec(header);
  if (!m) return null;
  const fields: Record<string, string> = {};
  const re = /([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*(?:,|$)/g;
  let f: RegExpExecArray | null;
  while ((f = re.exec(m[1]!)) !== null) {
    fields[f[1]!.toLowerCase()] = f[2] !== undefined ? f[2].replace(/\\(.)/g, '$1') : f[3]!;
  }
  const { username, realm, nonce, uri, response } = fields;
  if (!username || realm === undefined || !nonce || !uri || !response) return null;
  return {
    username,
    realm,
    nonce,
    uri,
    response,
    algorithm: fields.algorithm,
    cnonce: fields.cnonce,
    qop: fields.qop,
    nc: fields.nc,
    opaque: fields.opaque,
  };
}

/** The response a client with this password must send (the algorithm the credentials name; call digestAlgorithm first). */
export function expectedResponse(c: DigestCredentials, method: string, password: string): string {
  const hashName = HASH_NAMES[digestAlgorithm(c) ?? 'MD5'];
  // one-shot hash: about half the time of a Hash object per call, three calls per REGISTER
  const h = (s: string) => hash(hashName, s, 'hex');
  const ha1 = h(`${c.username}:${c.realm}:${password}`);
  const ha2 = h(`${method}:${c.uri}`);
  if (c.qop) return h(`${ha1}:${c.nonce}:${c.nc ?? ''}:${c.cnonce ?? ''}:${c.qop}:${ha2}`);
  return h(`${ha1}:${c.nonce}:${ha2}`);
}

/** Constant-time comparison of two hex strings. */
export function sameHex(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

/** Builds the Authorization header a client would send (used by tests and the NOTIFY client side). */
export function buildAuthorization(o: {
  username: string;
  password: string;
  realm: string;
  nonce: string;
  uri: string;
  method: string;
  cnonce: string;
  nc: number;
  algorithm?: DigestAlgorithm;
}): string {
  const algorithm = o.algorithm ?? 'MD5';
  const c: DigestCredentials = {
    username: o.username,
    realm: o.realm,
    nonce: o.nonce,
    uri: o.uri,
    response: '',
    algorithm,
    qop: 'auth',
    nc: o.nc.toString(16).padStart(8, '0'),
    cnonce: o.cnonce,
  };
  c.response = expectedResponse(c, o.method, o.password);
  return (
    `Digest username="${c.username}", realm="${c.realm}", nonce="${c.nonce}", uri="${c.uri}", ` +
    `response="${c.response}", algorithm=${algorithm}, cnonce="${c.cnonce}", qop=auth, nc=${c.nc}`
  );
}
