import { stringifyUri } from '../../../domain/sip-uri';
import { isToken } from './headers';
import type { CSeq, NameAddr, RouteEntry, SipMessage, SipRequest, SipResponse, ViaHeader } from './types';

/**
 * Writes messages as SIP text. Never throws: CR, LF and NUL inside values are
 * replaced (no header injection), headers with unusable names are left out,
 * and Content-Length always states the body's real length.
 */

const clean = (v: unknown): string => String(v).replace(/[\r\n\0]+/g, ' ');

function params(p: Record<string, string | number | null | undefined> | undefined): string {
  let s = '';
  for (const [k, v] of Object.entries(p ?? {})) {
    if (!isToken(k)) continue;
    s += v === null || v === undefined ? `;${k}` : `;${k}=${clean(v)}`;
  }
  return s;
}

const nameAddr = (a: NameAddr | RouteEntry): string => `${a.name ? `${clean(a.name)} ` : ''}<${clean(stringifyUri(a.uri ?? ''))}>${params(a.params)}`;

function via(v: ViaHeader): string {
  const host = v.host.includes(':') && !v.host.startsWith('[') ? `[${v.host}]` : v.host;
  return `SIP/${v.version || '2.0'}/${String(v.protocol).toUpperCase()} ${host}${v.port ? `:${v.port}` : ''}${params(v.params)}`;
}

const auth = (a: Record<string, string>): string =>
  `${a.scheme ?? ''} ${Object.entries(a)
    .filter(([k, v]) => k !== 'scheme' && v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')}`.trim();

const PRETTY: Record<string, string> = { 'call-id': 'Call-ID', cseq: 'CSeq', 'www-authenticate': 'WWW-Authenticate' };
const prettyNames = new Map<string, string>();
/** Header names as written on the wire; remembered, since the same few names go out in every message. */
function prettyName(n: string): string {
  let pretty = prettyNames.get(n);
  if (pretty === undefined) {
    pretty = PRETTY[n] ?? n.replace(/\b([a-z])/g, (c) => c.toUpperCase());
    if (prettyNames.size < 1000) prettyNames.set(n, pretty); // names come from our code and from requests: bounded
  }
  return pretty;
}

/** The header lines for one header (several for Via and credentials). */
function headerValues(name: string, v: unknown): string[] {
  const lower = name.toLowerCase();
  if (typeof v === 'string' || typeof v === 'number') return [String(v)];
  if (lower === 'via' && Array.isArray(v)) return (v as ViaHeader[]).map(via);
  if ((lower === 'from' || lower === 'to') && typeof v === 'object' && v !== null) return [nameAddr(v as NameAddr)];
  if (lower === 'cseq' && typeof v === 'object' && v !== null) return [`${(v as CSeq).seq} ${(v as CSeq).method}`];
  if (Array.isArray(v)) {
    if (/^(contact|route|record-route|path)$/.test(lower)) return v.length ? [(v as NameAddr[]).map(nameAddr).join(', ')] : [];
    return v.map((x) => (typeof x === 'object' && x !== null ? auth(x as Record<string, string>) : String(x)));
  }
  return [];
}

export function stringify(m: SipMessage): string {
  const start =
    m.method !== undefined ? `${clean(m.method)} ${clean(stringifyUri(m.uri ?? ''))} SIP/2.0` : `SIP/2.0 ${m.status ?? 500} ${clean(m.reason ?? '')}`;
  const lines = [start];
  for (const [name, v] of Object.entries(m.headers)) {
    if (v === undefined || name.toLowerCase() === 'content-length' || !isToken(name)) continue;
    for (const value of headerValues(name, v)) lines.push(`${prettyName(name)}: ${clean(value)}`);
  }
  const body = m.content ?? '';
  lines.push(`Content-Length: ${Buffer.byteLength(body, 'latin1')}`, '', body);
  return lines.join('\r\n');
}

/** A response skeleton copying Via, To, From, Call-ID and CSeq (To and Via are copies, not shared). */
export function makeResponse(rq: SipMessage, status: number, reason: string): SipResponse {
  const h = rq.headers;
  return {
    status,
    reason,
    version: '2.0',
    headers: {
      via: h.via?.map((v) => ({ ...v, params: { ...v.params } })),
      to: h.to ? { ...h.to, params: { ...h.to.params } } : undefined,
      from: h.from,
      'call-id': h['call-id'],
      cseq: h.cseq,
    },
  };
}

export type { SipRequest };
