/**
 * The slice of the untyped `sip` package (0.0.6) this stack uses, typed in our
 * own words. We use its message parser and serializer, its TCP stream framer
 * and its transaction layer; sockets and dispatch are ours (see transport.ts).
 */

/** A parsed URI (`parseUri`). `port` is NaN when absent. */
export interface SipUri {
  schema: string;
  user?: string;
  password?: string;
  host: string;
  port: number;
  params: Record<string, string | null>;
  headers: Record<string, string>;
}

export interface ViaHeader {
  version: string;
  protocol: string;
  host: string;
  port?: number;
  params: Record<string, string | number | null>;
}

/** A name-addr (From, To, Contact). The URI is a string here; Route/Record-Route carry a parsed URI. */
export interface NameAddr {
  name?: string;
  uri: string;
  params: Record<string, string | null>;
}

export interface RouteEntry {
  name?: string;
  uri: SipUri | string | undefined;
  params: Record<string, string | null>;
}

export interface CSeq {
  seq: number;
  method: string;
}

/** Parsed headers: well-known ones are structured, the rest are strings (repeats joined by commas). */
export interface SipHeaders {
  via?: ViaHeader[];
  from?: NameAddr;
  to?: NameAddr;
  'call-id'?: string;
  cseq?: CSeq;
  contact?: NameAddr[] | '*';
  route?: RouteEntry[] | string;
  'record-route'?: RouteEntry[] | string;
  'content-length'?: number;
  authorization?: Array<Record<string, string>>;
  'proxy-authorization'?: Array<Record<string, string>>;
  [name: string]: unknown;
}

export interface SipMessage {
  method?: string;
  uri?: string;
  status?: number;
  reason?: string;
  version?: string;
  headers: SipHeaders;
  /** Body as a latin1 ('binary') string. */
  content?: string;
}

export interface SipRequest extends SipMessage {
  method: string;
  uri: string;
}

export interface SipResponse extends SipMessage {
  status: number;
  reason: string;
}

/** What the transaction layer sends through: one per peer. */
export interface LibConnection {
  send(m: SipMessage): void;
  release(): void;
  protocol: string;
}

export interface ServerTransaction {
  send(m: SipResponse): void;
  message(m: SipMessage, remote?: unknown): void;
  shutdown(): void;
}

export interface ClientTransaction {
  message(m: SipMessage, remote?: unknown): void;
  shutdown(): void;
}

export interface TransactionLayer {
  createServerTransaction(rq: SipRequest, cn: LibConnection): ServerTransaction;
  createClientTransaction(cn: LibConnection, rq: SipRequest, onResponse: (rs: SipResponse) => void): ClientTransaction;
  getServer(m: SipMessage): ServerTransaction | undefined;
  getClient(m: SipMessage): ClientTransaction | undefined;
  destroy(): void;
}

interface SipModule {
  parse(data: Buffer): SipMessage | undefined;
  stringify(m: SipMessage): string;
  makeResponse(rq: SipMessage, status: number, reason?: string): SipResponse;
  parseUri(s: string): SipUri | undefined;
  stringifyUri(u: SipUri | string): string;
  makeStreamParser(onMessage: (m: SipMessage) => void, onFlood: () => void, maxHeaderBytes?: number, maxContentLength?: number): (data: string) => void;
  makeTransactionLayer(options: Record<string, unknown>, transport: unknown): TransactionLayer;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const lib = require('sip') as SipModule;

/** Parses one datagram; undefined when the start line or a header line does not parse. Never throws. */
export function parseDatagram(data: Buffer): SipMessage | undefined {
  try {
    return lib.parse(data);
  } catch {
    return undefined;
  }
}

export const stringify = (m: SipMessage): string => lib.stringify(m);
export const makeStreamParser = lib.makeStreamParser;

/** Parses a SIP URI; undefined for anything else (tel:, IPv6 literals, garbage). Never throws. */
export function parseUri(s: string | undefined): SipUri | undefined {
  if (!s) return undefined;
  try {
    return lib.parseUri(s.trim());
  } catch {
    return undefined;
  }
}

export const stringifyUri = (u: SipUri | string): string => lib.stringifyUri(u);

/** A response skeleton copying Via, To, From, Call-ID and CSeq (To is copied, not shared). */
export function makeResponse(rq: SipMessage, status: number, reason: string): SipResponse {
  const rs = lib.makeResponse(rq, status, reason);
  if (rq.headers.to) rs.headers.to = { ...rq.headers.to, params: { ...rq.headers.to.params } };
  return rs;
}

export function createTransactionLayer(): TransactionLayer {
  return lib.makeTransactionLayer({}, undefined);
}
