import { parseHostPort, parseUri } from '../../../domain/sip-uri';
import type { CSeq, NameAddr, RouteEntry, ViaHeader } from './types';

/**
 * Parsers for the structured header values (RFC 3261 section 25). Each takes
 * one unfolded value and returns undefined when it does not follow the
 * grammar; none throws.
 */

export const TOKEN_CHARS = "A-Za-z0-9\\-.!%*_+`'~";
const TOKEN = new RegExp(`^[${TOKEN_CHARS}]+$`);
export const isToken = (s: string): boolean => TOKEN.test(s);

/** Compact header names (RFC 3261 7.3.3 and later extensions). */
export const COMPACT: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  r: 'refer-to',
  u: 'allow-events',
  x: 'session-expires',
};

/** Headers that may appear only once and hold one value. */
export const SINGLE_VALUE: ReadonlySet<string> = new Set(['call-id', 'cseq', 'from', 'to', 'max-forwards', 'content-length', 'content-type']);

const QUOTED = '"(?:[^"\\\\]|\\\\.)*"';
const PARAM = new RegExp(`[ \\t]*;[ \\t]*([${TOKEN_CHARS}]+)(?:[ \\t]*=[ \\t]*([${TOKEN_CHARS}\\[\\]:]+|${QUOTED}))?`, 'y');

/** `;name=value` parameters up to the end of `s` (from `start`); undefined on anything else. */
export function parseParamList(s: string, start = 0): Record<string, string | null> | undefined {
  const params: Record<string, string | null> = {};
  let i = start;
  for (;;) {
    PARAM.lastIndex = i;
    const m = PARAM.exec(s);
    if (!m) break;
    params[m[1]!.toLowerCase()] = m[2] ?? null;
    i = PARAM.lastIndex;
  }
  return s.slice(i).trim() === '' ? params : undefined;
}

/** Splits a list value at commas outside quoted strings and <...>; undefined when a quote or bracket is left open. */
export function splitList(v: string): string[] | undefined {
  const parts: string[] = [];
  let quoted = false;
  let angle = false;
  let from = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"' && !angle) quoted = true;
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (c === ',' && !angle) {
      parts.push(v.slice(from, i));
      from = i + 1;
    }
  }
  if (quoted || angle) return undefined;
  parts.push(v.slice(from));
  return parts.map((p) => p.trim());
}

/** scheme ':' then visible ASCII other than '"', '<' and '>' (anything else in a URI must be %-escaped). */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+\-.]*:[\x21\x23-\x3b\x3d\x3f-\x7e]+$/;
const DISPLAY_TOKENS = new RegExp(`^[${TOKEN_CHARS}]+(?:[ \\t]+[${TOKEN_CHARS}]+)*$`);

/** A name-addr (`"Name" <uri>;p=v`) or addr-spec (`uri;p=v`) with header parameters. */
export function parseNameAddr(value: string): NameAddr | undefined {
  const v = value.trim();
  let name: string | undefined;
  let rest = v;
  if (v.startsWith('"')) {
    const m = LEADING_QUOTED.exec(v);
    if (!m) return undefined;
    name = m[0];
    rest = v.slice(m[0].length).trimStart();
    if (!rest.startsWith('<')) return undefined;
  }
  const lt = rest.indexOf('<');
  if (lt >= 0) {
    const display = rest.slice(0, lt).trim();
    if (display !== '' && (name !== undefined || !DISPLAY_TOKENS.test(display))) return undefined;
    if (display !== '') name = display;
    const gt = rest.indexOf('>', lt);
    if (gt < 0) return undefined;
    const uri = rest.slice(lt + 1, gt);
    const params = parseParamList(rest, gt + 1);
    if (!ABSOLUTE_URI.test(uri) || !params) return undefined;
    return name === undefined ? { uri, params } : { name, uri, params };
  }
  // addr-spec: a URI with ',', '?' or ';' of its own would have needed <...> (RFC 3261 20.10)
  const end = rest.search(/[;\s]/);
  const uri = end < 0 ? rest : rest.slice(0, end);
  const params = parseParamList(rest, uri.length);
  if (!ABSOLUTE_URI.test(uri) || /[,?]/.test(uri) || !params) return undefined;
  return { uri, params };
}

/** A comma-separated list of name-addrs; undefined when any element is malformed or empty. */
export function parseNameAddrList(values: readonly string[]): NameAddr[] | undefined {
  const out: NameAddr[] = [];
  for (const v of values) {
    const parts = splitList(v);
    if (!parts) return undefined;
    for (const p of parts) {
      const na = parseNameAddr(p);
      if (!na) return undefined;
      out.push(na);
    }
  }
  return out;
}

/** Route, Record-Route, Path: name-addrs in <...>, with the URI parsed when it is a SIP URI. */
export function parseRouteList(values: readonly string[]): RouteEntry[] | undefined {
  const out: RouteEntry[] = [];
  for (const v of values) {
    for (const p of splitList(v) ?? ['']) {
      const na = p.includes('<') ? parseNameAddr(p) : undefined;
      if (!na) return undefined;
      out.push({ ...(na.name !== undefined ? { name: na.name } : {}), uri: parseUri(na.uri) ?? na.uri, params: na.params });
    }
  }
  return out;
}

const VIA = new RegExp(
  `^SIP[ \\t]*/[ \\t]*(\\d+\\.\\d+)[ \\t]*/[ \\t]*([${TOKEN_CHARS}]+)[ \\t]+(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_\\-.]+)(?:[ \\t]*:[ \\t]*(\\d{1,5}))?`,
);

/** One via-parm: `SIP/2.0/UDP host:port;branch=...`. */
export function parseVia(value: string): ViaHeader | undefined {
  const v = value.trim();
  const m = VIA.exec(v);
  if (!m) return undefined;
  const hp = parseHostPort(m[4] ? `${m[3]}:${m[4]}` : m[3]!);
  const params = parseParamList(v, m[0].length);
  if (!hp || !params) return undefined;
  const via: ViaHeader = { version: m[1]!, protocol: m[2]!.toUpperCase(), host: hp.host, params };
  if (Number.isFinite(hp.port)) via.port = hp.port;
  return via;
}

export function parseViaList(values: readonly string[]): ViaHeader[] | undefined {
  const out: ViaHeader[] = [];
  for (const v of values) {
    for (const p of splitList(v) ?? [undefined]) {
      const via = p === undefined ? undefined : parseVia(p);
      if (!via) return undefined;
      out.push(via);
    }
  }
  return out;
}

// Patterns built once: a RegExp made per call showed as garbage at thousands of messages a second.
const CSEQ = new RegExp(`^(\\d{1,10})[ \\t]+([${TOKEN_CHARS}]+)$`);
const AUTH_SCHEME = new RegExp(`^([${TOKEN_CHARS}]+)(?:[ \\t]+([\\s\\S]*))?$`);
const LEADING_QUOTED = new RegExp(`^${QUOTED}`);

export function parseCSeq(value: string): CSeq | undefined {
  const m = CSEQ.exec(value.trim());
  return m ? { seq: Number(m[1]), method: m[2]! } : undefined;
}

const AUTH_PARAM = new RegExp(`^([${TOKEN_CHARS}]+)[ \\t]*=[ \\t]*([${TOKEN_CHARS}/:@?=&+$,;\\[\\]]+|${QUOTED})$`);

/** `Scheme k=v, k="v"`: values are kept as written (quotes included). */
export function parseAuth(value: string): Record<string, string> | undefined {
  const m = AUTH_SCHEME.exec(value.trim());
  if (!m) return undefined;
  const out: Record<string, string> = { scheme: m[1]! };
  const rest = m[2]?.trim();
  if (!rest) return out;
  for (const part of splitList(rest) ?? []) {
    const p = AUTH_PARAM.exec(part);
    if (!p) return undefined;
    out[p[1]!] = p[2]!;
  }
  return out;
}
