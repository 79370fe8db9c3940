/**
 * The Signalling port: what the call handler needs from a SIP stack. The
 * embedded stack (src/sip/embedded) and the drachtio stack (src/sip/drachtio)
 * both implement it, and both consult the same SipGate (src/app/sip-gate.ts)
 * for digest authentication and emergency classification, so they behave alike.
 */

import type { EventSource } from './events';

/** 'tls' is SIP over TLS (RFC 3261 26.2, RFC 5630): requests to such a phone go back over its own connection. */
export type Transport = 'udp' | 'tcp' | 'tls';

export interface SipEndpointAddress {
  address: string;
  port: number;
  transport: Transport;
}

/** A per-device account on papgate's SIP service (minimal configuration). */
export interface SipAccount {
  username: string;
  password: string;
  mac: string;
  tenantId: number;
}

/** The caller a forwarded emergency call names: a device's SIP account, or papgate's own "unverified". */
export type ForwardedCaller = { kind: 'device'; username: string } | { kind: 'unverified' };

/** User part of papgate's own From for an emergency call that proved no device. */
export const UNVERIFIED_CALLER = 'unverified';

export type CallEndReason = 'remote-bye' | 'remote-cancel' | 'local-hangup' | 'timeout' | 'error';

/** What an InboundCall tells its user. */
export type CallEvents = {
  /** A digit that arrived as SIP INFO (application/dtmf-relay or application/dtmf). */
  dtmf: [digit: string];
  /** The call is over, whoever ended it. Fired once. */
  ended: [reason: CallEndReason];
};

/** An INVITE that passed the SipGate, before any final response. */
export interface InboundCall extends EventSource<CallEvents> {
  readonly callId: string;
  /** User part of the Request-URI: the number the phone dialled. */
  readonly dialled: string;
  readonly fromUser: string;
  /** Where the INVITE came from (after rport/received handling). */
  readonly source: SipEndpointAddress;
  /** The phone's own IP when the call came through a trusted SIP proxy (from its Via), else absent. */
  readonly clientAddress?: string;
  /** The caller's Contact URI, if any. */
  readonly contact: string | undefined;
  readonly userAgent: string | undefined;
  readonly offerSdp: string | undefined;
  /** The authenticated account; null only for an emergency call let through because the store is down. */
  readonly account: SipAccount | null;

  /** Sends 200 OK with this SDP (retransmitted until ACK); resolves when the ACK arrives. */
  answer(localSdp: string): Promise<void>;
  /** Final non-2xx response (e.g. 488, 403, 480). */
  reject(status: number, reason?: string): void;
  /** Sends BYE on an answered call (or CANCEL semantics are not ours: we are the UAS). */
  hangup(): Promise<void>;
  /**
   * Emergency pass-through: relays the call to `targetUri` (SDP, answer, BYE in
   * both directions, CANCEL) until it ends. Resolves when the call has ended.
   * `caller` is whom the forwarded call names as its caller: never an identity
   * the caller chose when it proved none.
   */
  forward(targetUri: string, extraHeaders: Record<string, string>, caller: ForwardedCaller): Promise<void>;
}

export interface CallHandler {
  handle(call: InboundCall): Promise<void>;
}

/** Where to send a check-sync NOTIFY. */
export interface NotifyTarget {
  /** The registered contact, else the call's Contact, as a SIP URI. */
  uri: string;
  /** Send to this address instead of resolving the URI (phones behind NAT). */
  via?: SipEndpointAddress;
  /** The device's SIP username (put in To:). */
  username: string;
  /**
   * Route set (the Path a proxy recorded at REGISTER, RFC 3327): when given,
   * the NOTIFY carries these as Route headers and goes to the first of them.
   */
  route?: string[];
}

export interface Registration {
  username: string;
  contact: string;
  source: SipEndpointAddress;
  expiresAt: number;
  userAgent?: string;
  /** Path URIs recorded by proxies on the way (RFC 3327), first first. */
  path?: string[];
}

/** A REGISTER that got its final answer from us (not from drachtio-server itself). */
export interface RegisterOutcome {
  /** The account it authenticated as; undefined before (401) or without one. */
  username: string | undefined;
  status: number;
  source: SipEndpointAddress;
}

/** A check-sync NOTIFY that ended: its final status, 0 when none came in time. */
export interface NotifyOutcome {
  username: string;
  event: string;
  status: number;
}

/** What a Signalling stack tells whoever watches it (metrics, tests). */
export type SignallingEvents = {
  /** An INVITE passed the SipGate and goes to the call handler now. */
  call: [call: InboundCall, emergency: boolean];
  register: [outcome: RegisterOutcome];
  notify: [outcome: NotifyOutcome];
};

/** How long a check-sync NOTIFY waits for its final answer (either stack), unless configured. */
export const DEFAULT_NOTIFY_TIMEOUT_MS = 8000;

export interface Signalling extends EventSource<SignallingEvents> {
  start(handler: CallHandler): Promise<void>;
  stop(): Promise<void>;
  /** Sends NOTIFY with the given Event header value; resolves with the final status (0 when none came in the NOTIFY timeout). */
  notify(target: NotifyTarget, event: string): Promise<number>;
  /** The current registration of a device's SIP account, if any (from the shared store: any node's REGISTER counts). */
  registration(username: string): Promise<Registration | undefined>;
  /** False while a remote SIP server (drachtio-server) is not connected; absent: always ready. */
  isReady?(): boolean;
}
