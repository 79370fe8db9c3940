import { parseMessage } from './message/parse';
import type { SipMessage, SipRequest, SipResponse } from './message/types';

/**
 * The `sip` package (0.0.6, unmaintained) is used ONLY for its transaction
 * layer (makeTransactionLayer), typed here in our own words. Parsing,
 * serializing, URIs, responses and TCP framing are ours (./message/ and
 * ../../domain/sip-uri.ts); sockets and dispatch too (transport.ts).
 */

export type { CSeq, NameAddr, RouteEntry, SipHeaders, SipMessage, SipRequest, SipResponse, SipUri, ViaHeader } from './message/types';
export { parseUri, stringifyUri } from '../../domain/sip-uri';
export { makeResponse, stringify } from './message/serialize';

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
  makeTransactionLayer(options: Record<string, unknown>, transport: unknown): TransactionLayer;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const lib = require('sip') as SipModule;

/** Parses one datagram; undefined when it is not a well-formed SIP message. Never throws. */
export function parseDatagram(data: Buffer): SipMessage | undefined {
  const r = parseMessage(data);
  return r.ok ? r.message : undefined;
}

export function createTransactionLayer(): TransactionLayer {
  return lib.makeTransactionLayer({}, undefined);
}
