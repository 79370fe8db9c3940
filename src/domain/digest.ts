import { createHash } from 'node:crypto';

/** SIP digest authentication (RFC 3261 section 22, RFC 2617 MD5 with qop=auth), pure parts. */

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

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

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
    username, realm, nonce, uri, response,
    algorithm: fields.algorithm, cnonce: fields.cnonce, qop: fields.qop, nc: fields.nc, opaque: fields.opaque,
  };
}

/** The response a client with this password must send. */
export function expectedResponse(c: DigestCredentials, method: string, password: string): string {
  const ha1 = md5(`${c.username}:${c.realm}:${password}`);
  const ha2 = md5(`${method}:${c.uri}`);
  if (c.qop) return md5(`${ha1}:${c.nonce}:${c.nc ?? ''}:${c.cnonce ?? ''}:${c.qop}:${ha2}`);
  return md5(`${ha1}:${c.nonce}:${ha2}`);
}

/** Constant-time comparison of two hex strings. */
export function sameHex(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

/** Builds the Authorization header a client would send (used by tests and the NOTIFY client side). */
export function buildAuthorization(
  o: { username: string; password: string; realm: string; nonce: string; uri: string; method: string; cnonce: string; nc: number },
): string {
  const c: DigestCredentials = {
    username: o.username, realm: o.realm, nonce: o.nonce, uri: o.uri, response: '',
    qop: 'auth', nc: o.nc.toString(16).padStart(8, '0'), cnonce: o.cnonce,
  };
  c.response = expectedResponse(c, o.method, o.password);
  return `Digest username="${c.username}", realm="${c.realm}", nonce="${c.nonce}", uri="${c.uri}", ` +
    `response="${c.response}", algorithm=MD5, cnonce="${c.cnonce}", qop=auth, nc=${c.nc}`;
}
