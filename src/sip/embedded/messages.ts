import { randomBytes } from 'node:crypto';
import type { SipEndpointAddress, Transport } from '../../ports/signalling';
import { userOfUri } from '../../domain/sip-uri';
import { makeResponse, stringifyUri } from './sip-lib';
import type { NameAddr, RouteEntry, SipMessage, SipRequest, SipResponse, ViaHeader } from './sip-lib';

/** Small helpers over parsed messages: header access, identifiers, responses. */

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER';
export const ALLOWED_METHODS: ReadonlySet<string> = new Set(ALLOW.split(', '));
/** Methods we know but do not take (405); any other unknown method gets 501 (RFC 3261 8.2.1). */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([...ALLOWED_METHODS, 'SUBSCRIBE', 'NOTIFY', 'PRACK', 'UPDATE', 'REFER', 'MESSAGE', 'PUBLISH']);
export const USER_AGENT = 'papgate';

/** Where our requests come from and answers should go: advertised host and port. */
export interface LocalAddress {
  host: string;
  port: number;
  /** The TLS listener's port, when there is one. */
  tlsPort?: number;
}

// Tags, branches and Call-IDs are drawn from a pool filled by one CSPRNG call per 4 KiB:
// a call into the CSPRNG per tag showed in profiles at thousands of REGISTERs a second.
const POOL_BYTES = 4096;
let pool = randomBytes(POOL_BYTES);
let used = 0;
function token(bytes: number): string {
  if (used + bytes > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  used += bytes;
  return pool.toString('hex', used - bytes, used);
}
export const newTag = (): string => token(6);
export const newCallId = (host: string): string => `${token(12)}@${host}`;
/** RFC 3261 magic cookie plus enough randomness to never collide. */
export const newBranch = (): string => `z9hG4bK${token(10)}`;

/** A generic header as text (first value of a repeated header), or undefined. */
export function headerText(m: SipMessage, name: string): string | undefined {
  const v = m.headers[name.toLowerCase()];
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** Content-Type without parameters, lower case. */
export function contentType(m: SipMessage): string | undefined {
  return headerText(m, 'content-type')?.split(';')[0]?.trim().toLowerCase();
}

/** The Authorization (else Proxy-Authorization) header rebuilt as text for the SipGate. */
export function authorizationText(m: SipMessage): string | undefined {
  const list = m.headers.authorization ?? m.headers['proxy-authorization'];
  const first = Array.isArray(list) ? list[0] : undefined;
  if (!first || typeof first.scheme !== 'string') return undefined;
  const fields = Object.entries(first)
    .filter(([k]) => k !== 'scheme')
    .map(([k, v]) => `${k}=${v}`);
  return `${first.scheme} ${fields.join(', ')}`;
}

/** User part of a SIP URI, or the number of a tel: URI ('' when there is none or the URI does not parse). */
export function userOf(uri: string | undefined): string {
  return userOfUri(uri) ?? '';
}

/** The first Contact URI of a message. */
export function contactUri(m: SipMessage): string | undefined {
  const c = m.headers.contact;
  return Array.isArray(c) && c[0] ? c[0].uri : undefined;
}

/** Route entries as URI text, skipping any the library could not parse. */
export function routeUris(entries: RouteEntry[] | string | undefined): string[] {
  if (typeof entries === 'string') return (entries.match(/<[^>]*>/g) ?? []).map((u) => u.slice(1, -1));
  const out: string[] = [];
  for (const e of entries ?? []) {
    if (e.uri) out.push(typeof e.uri === 'string' ? e.uri : stringifyUri(e.uri));
  }
  return out;
}

export const routeHeader = (uris: readonly string[]): string | undefined => (uris.length ? uris.map((u) => `<${u}>`).join(', ') : undefined);

/** The port we listen on for this transport. */
export const portFor = (local: LocalAddress, transport: Transport): number => (transport === 'tls' ? (local.tlsPort ?? local.port) : local.port);

/**
 * Our Contact for this transport. Over TLS it is `sips:` when the dialog is
 * (RFC 3261 8.1.1.8: a sips Request-URI asks for a sips Contact), else
 * `sip:...;transport=tls`, which is what phones configured for TLS use.
 */
export function contactFor(local: LocalAddress, transport: Transport, user = 'papgate', sips = false): NameAddr {
  const hostPort = `${local.host}:${portFor(local, transport)}`;
  if (transport === 'tls' && sips) return { uri: `sips:${user}@${hostPort}`, params: {} };
  const tp = transport === 'udp' ? '' : `;transport=${transport}`;
  return { uri: `sip:${user}@${hostPort}${tp}`, params: {} };
}

/** A Via for a request we originate; the transaction layer sets a fresh branch. */
export function viaFor(local: LocalAddress, transport: Transport, branch = newBranch()): ViaHeader {
  const params: ViaHeader['params'] = { branch };
  if (transport === 'udp') params.rport = null;
  return { version: '2.0', protocol: transport.toUpperCase(), host: local.host, port: portFor(local, transport), params };
}

/** Whether a URI is a sips: one. */
export const isSips = (uri: string | undefined): boolean => /^sips:/i.test(uri ?? '');

export interface ResponseExtras {
  /** Tag for To when the request has none (dialog-creating or final responses). */
  toTag?: string;
  /** A string[] value goes out as one header line per entry (several WWW-Authenticate challenges). */
  headers?: Record<string, string | string[] | NameAddr[] | undefined>;
  content?: string;
}

/** A response to `rq`. A To tag is added only when `toTag` is given and the request has none. */
export function responseTo(rq: SipRequest, status: number, reason: string, x: ResponseExtras = {}): SipResponse {
  const rs = makeResponse(rq, status, reason);
  if (x.toTag && rs.headers.to && !rs.headers.to.params.tag) rs.headers.to.params.tag = x.toTag;
  rs.headers.server = USER_AGENT;
  // Names keep their case: the serializer only capitalizes lower-case ones (so 'WWW-Authenticate' survives).
  for (const [k, v] of Object.entries(x.headers ?? {})) if (v !== undefined) rs.headers[k] = v;
  if (x.content) rs.content = x.content;
  return rs;
}

/** Reason phrases for the statuses we send. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status < 200 ? 'Session Progress' : status < 300 ? 'OK' : 'Error');
}

const REASONS: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  183: 'Session Progress',
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  415: 'Unsupported Media Type',
  501: 'Not Implemented',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  423: 'Interval Too Brief',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  491: 'Request Pending',
  500: 'Server Internal Error',
  503: 'Service Unavailable',
  603: 'Decline',
};

export const sameEndpoint = (a: SipEndpointAddress, b: SipEndpointAddress): boolean =>
  a.address === b.address && a.port === b.port && a.transport === b.transport;

/** An extra header name and value a caller asked us to send; refuses what would break the message. */
export function checkExtraHeader(name: string, value: string): void {
  if (!/^[A-Za-z0-9!%*_+`'~.-]+$/.test(name)) throw new Error(`invalid SIP header name: ${JSON.stringify(name)}`);
  if (/[\r\n\0]/.test(value)) throw new Error(`invalid value for SIP header ${name}: line breaks are not allowed`);
  const reserved = ['via', 'from', 'to', 'call-id', 'cseq', 'content-length', 'contact', 'max-forwards', 'content-type'];
  if (reserved.includes(name.toLowerCase())) throw new Error(`SIP header ${name} is set by the stack, not by callers`);
}
