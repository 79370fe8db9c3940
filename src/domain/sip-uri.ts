/**
 * SIP, SIPS and tel URIs (RFC 3261 19.1, RFC 3966), parsed strictly and
 * without ever throwing. Shared by both SIP stacks so they agree on what was
 * dialled. An IPv6 host is kept without its brackets and gets them back when
 * the URI is written out.
 */

export interface SipUri {
  /** 'sip', 'sips' or 'tel', lower case. */
  schema: string;
  /** As written (still %-escaped); for tel: the number. */
  user?: string;
  password?: string;
  /** '' for tel: URIs. */
  host: string;
  /** NaN when absent. */
  port: number;
  params: Record<string, string | null>;
  headers: Record<string, string>;
}

const ESCAPED = '%[0-9A-Fa-f]{2}';
const UNRESERVED = "A-Za-z0-9\\-_.!~*'()";
// # is not allowed unescaped (RFC 3261), but phones dial 112# that way: refusing it would hide an emergency call
const USER = new RegExp(`^(?:[${UNRESERVED}&=+$,;?/#]|${ESCAPED})+$`);
const PASSWORD = new RegExp(`^(?:[${UNRESERVED}&=+$,]|${ESCAPED})*$`);
const PARAM_CHARS = new RegExp(`^(?:[${UNRESERVED}\\[\\]/:&+$]|${ESCAPED})+$`);
const HEADER_CHARS = new RegExp(`^(?:[${UNRESERVED}\\[\\]/?:+$]|${ESCAPED})*$`);
// '_' is not in RFC 3261's hostname, but real PBX names carry it and an emergency call must not be refused for it
const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?';
const HOSTNAME = new RegExp(`^(?:${LABEL}\\.)*${LABEL}\\.?$`);
const IPV6 = /^[0-9A-Fa-f:.]+$/;
// two plain classes (plus a digit check), not one ambiguous pattern that could backtrack for ever
const TEL_NUMBER = /^(?:\+[0-9\-.()]+|[0-9A-Fa-f*#\-.()]+)$/;
const TEL_DIGIT = /[0-9A-Fa-f*#]/;

/** Parses a sip:, sips: or tel: URI; undefined for anything else or anything malformed. */
export function parseUri(text: string | undefined): SipUri | undefined {
  if (typeof text !== 'string') return undefined;
  const s = text.trim();
  const colon = s.indexOf(':');
  if (colon < 0 || /[\s<>"]/.test(s)) return undefined;
  const schema = s.slice(0, colon).toLowerCase();
  const rest = s.slice(colon + 1);
  if (schema === 'tel') return parseTel(rest);
  if (schema !== 'sip' && schema !== 'sips') return undefined;
  return parseSip(schema, rest);
}

function parseSip(schema: string, rest: string): SipUri | undefined {
  // neither host, parameters nor headers may hold an unescaped '@': the first one ends the userinfo
  const at = rest.indexOf('@');
  let user: string | undefined;
  let password: string | undefined;
  if (at >= 0) {
    const info = rest.slice(0, at);
    const pw = info.indexOf(':');
    user = pw < 0 ? info : info.slice(0, pw);
    password = pw < 0 ? undefined : info.slice(pw + 1);
    if (!USER.test(user) || (password !== undefined && !PASSWORD.test(password))) return undefined;
  }
  // the user part may hold '?' itself (RFC 4475 intmeth): headers start after the host
  const afterUser = at >= 0 ? rest.slice(at + 1) : rest;
  const hq = afterUser.indexOf('?');
  const hostAndParams = hq < 0 ? afterUser : afterUser.slice(0, hq);
  const headerText = hq < 0 ? undefined : afterUser.slice(hq + 1);
  const [hostport = '', ...paramParts] = hostAndParams.split(';');
  const hp = parseHostPort(hostport);
  if (!hp) return undefined;
  const params = parseParams(paramParts);
  const headers = headerText === undefined ? {} : parseHeaders(headerText);
  if (!params || !headers) return undefined;
  return { schema, user, password, host: hp.host, port: hp.port, params, headers };
}

function parseTel(rest: string): SipUri | undefined {
  const [number = '', ...paramParts] = rest.split(';');
  if (!TEL_NUMBER.test(number) || !TEL_DIGIT.test(number.replace(/^\+/, ''))) return undefined;
  const params = parseParams(paramParts);
  if (!params) return undefined;
  return { schema: 'tel', user: number, host: '', port: NaN, params, headers: {} };
}

/** host[:port]; the host is a name, IPv4 or a bracketed IPv6 reference. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return undefined;
    host = text.slice(1, end);
    if (!IPV6.test(host) || !host.includes(':')) return undefined;
    const after = text.slice(end + 1);
    if (after !== '' && !after.startsWith(':')) return undefined;
    portText = after ? after.slice(1) : undefined;
  } else {
    const c = text.indexOf(':');
    host = c < 0 ? text : text.slice(0, c);
    portText = c < 0 ? undefined : text.slice(c + 1);
    if (!HOSTNAME.test(host)) return undefined;
  }
  if (portText === undefined) return { host, port: NaN };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return undefined;
  return { host, port: Number(portText) };
}

function parseParams(parts: string[]): Record<string, string | null> | undefined {
  const params: Record<string, string | null> = {};
  for (const p of parts) {
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? null : p.slice(eq + 1);
    if (!PARAM_CHARS.test(name) || (value !== null && !PARAM_CHARS.test(value))) return undefined;
    params[name.toLowerCase()] = value;
  }
  return params;
}

function parseHeaders(text: string): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  for (const h of text.split('&')) {
    const eq = h.indexOf('=');
    if (eq <= 0) return undefined;
    const name = h.slice(0, eq);
    const value = h.slice(eq + 1);
    if (!HEADER_CHARS.test(name) || !HEADER_CHARS.test(value)) return undefined;
    headers[name] = value;
  }
  return headers;
}

/** Writes a URI back as text (a string is returned as is). */
export function stringifyUri(u: SipUri | string): string {
  if (typeof u === 'string') return u;
  const params = Object.entries(u.params)
    .map(([k, v]) => (v === null || v === undefined ? `;${k}` : `;${k}=${v}`))
    .join('');
  if (u.schema === 'tel') return `tel:${u.user ?? ''}${params}`;
  const info = u.user ? `${u.user}${u.password !== undefined ? `:${u.password}` : ''}@` : '';
  const host = u.host.includes(':') ? `[${u.host}]` : u.host;
  const port = Number.isFinite(u.port) && u.port > 0 ? `:${u.port}` : '';
  const headers = Object.entries(u.headers)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return `${u.schema}:${info}${host}${port}${params}${headers ? `?${headers}` : ''}`;
}

/** Decodes %-escapes; text with a broken escape is returned unchanged. */
export function unescapeUriPart(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray '%' is literal text, not an escape
  }
}

/**
 * The user part of a sip:/sips: URI or the number of a tel: URI, unescaped;
 * also accepts a name-addr (`"A" <sip:112@[::1]>`). undefined when there is none.
 */
export function userOfUri(text: string | undefined): string | undefined {
  if (typeof text !== 'string') return undefined;
  const angle = /<([^>]*)>/.exec(text);
  const u = parseUri(angle ? angle[1] : text);
  if (!u || u.user === undefined || u.user === '') return undefined;
  return unescapeUriPart(u.schema === 'tel' ? u.user.replace(/[-.()]/g, '') : u.user);
}
