import type { SipUri } from '../../../domain/sip-uri';

/**
 * The shapes of parsed SIP messages used throughout the embedded stack (they
 * match what the `sip` package's transaction layer expects to see).
 */

export type { SipUri };

export interface ViaHeader {
  version: string;
  protocol: string;
  /** An IPv6 host is kept without brackets. */
  host: string;
  port?: number;
  params: Record<string, string | number | null>;
}

/** A name-addr (From, To, Contact). The URI is a string here; Route/Record-Route carry a parsed URI. */
export interface NameAddr {
  /** Display name as written (quotes kept), if any. */
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

/** Parsed headers: well-known ones are structured, the rest are strings (repeats joined by ', '). */
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

/** Why a message was refused before it reached the stack: the status to answer with (requests only) and why. */
export interface Refusal {
  status: 400 | 505 | 513;
  problem: string;
}

/** The limit on one SIP message, headers and body together (UDP and TCP). */
export const MAX_MESSAGE_BYTES = 64 * 1024;
