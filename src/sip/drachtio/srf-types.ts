/**
 * The slice of drachtio-srf 5.0.x that the drachtio adapter calls, typed in
 * our own words. drachtio-srf ships its own .d.ts, but it drifts from the
 * code (connect() returns the app, not a Promise; request() options; the
 * runtime type of source_port), so nothing outside this folder sees it.
 */

/** A header parsed by srf's parser (From, To, Contact entries). */
export interface SrfNameAddr {
  uri: string;
  name?: string;
  params: Record<string, string | null | undefined>;
}

/** A SIP request: one that arrived from the network, or one we sent. */
export interface SrfRequestLike {
  readonly method: string;
  readonly uri: string;
  readonly body: string | undefined;
  /** Where it came from (drachtio-server applies rport/received). */
  readonly source_address: string;
  /** A number at runtime, whatever srf's .d.ts says. */
  readonly source_port: number | string;
  /** 'udp' | 'tcp' | 'tls' | 'ws' ... as the server reports it. */
  readonly protocol: string;
  get(name: string): string | undefined;
  has(name: string): boolean;
  getParsedHeader(name: 'from' | 'to'): SrfNameAddr;
  getParsedHeader(name: 'contact'): SrfNameAddr[];
  /** INVITE only: the caller sent CANCEL before we answered. */
  on(event: 'cancel', listener: () => void): this;
  /** Requests we sent: each response (provisional and final). */
  on(event: 'response', listener: (res: SrfIncomingResponseLike) => void): this;
}

/** A response that arrived for a request we sent. */
export interface SrfIncomingResponseLike {
  readonly status: number;
  get(name: string): string | undefined;
}

export interface SrfSendOptions {
  headers?: Record<string, string>;
  body?: string;
}

/** The response object handed to us with an incoming request. */
export interface SrfResponseLike {
  readonly finalResponseSent: boolean;
  send(status: number, opts?: SrfSendOptions): void;
  send(status: number, reason: string, opts?: SrfSendOptions): void;
}

/** An established dialog (createUAS, or fsmrf's UAC leg to FreeSWITCH). */
export interface SrfDialogLike {
  readonly id: string;
  readonly sip: { callId: string; localTag: string; remoteTag: string };
  /** The far end hung up (BYE), or the server tore the dialog down. */
  on(event: 'destroy', listener: () => void): this;
  on(event: 'ack', listener: () => void): this;
  on(event: 'info', listener: (req: SrfRequestLike, res: SrfResponseLike) => void): this;
  removeAllListeners(): this;
  /** Sends BYE. */
  destroy(): Promise<unknown>;
}

export interface SrfProxyOptions {
  /** Record-Route, so in-dialog requests pass through drachtio-server. */
  remainInDialog?: boolean;
  headers?: Record<string, string>;
  /** e.g. '5s': time to wait for a final response. */
  finalTimeout?: string;
}

export interface SrfProxyResult {
  connected: boolean;
  finalStatus?: number;
}

export interface SrfConnectOptions {
  host: string;
  port: number;
  secret: string;
  /** WireProtocol's reconnect tuning; without a cap its back-off grows without bound. */
  reconnect?: { retryMaxDelay?: number };
}

export interface SrfRequestOptions {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  /** Send to this address instead of resolving the Request-URI, e.g. 'sip:192.0.2.1:5060;transport=udp'. */
  proxy?: string;
}

export type SrfHandler = (req: SrfRequestLike, res: SrfResponseLike) => void;

export interface SrfLike {
  /** Starts the connection; returns immediately. Wait for 'connect'. */
  connect(opts: SrfConnectOptions): unknown;
  /** Ends the connection (and stops reconnecting). */
  disconnect(): void;
  invite(handler: SrfHandler): void;
  register(handler: SrfHandler): void;
  options(handler: SrfHandler): void;
  info(handler: SrfHandler): void;
  message(handler: SrfHandler): void;
  subscribe(handler: SrfHandler): void;
  publish(handler: SrfHandler): void;
  refer(handler: SrfHandler): void;
  /** `err` set when the secret was refused; `hostport` is the server's SIP address. */
  on(event: 'connect', listener: (err: Error | null | undefined, hostport?: string) => void): this;
  on(event: 'close' | 'reconnecting', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  createUAS(req: SrfRequestLike, res: SrfResponseLike, opts: { localSdp: string; headers?: Record<string, string> }): Promise<SrfDialogLike>;
  proxyRequest(req: SrfRequestLike, destination: string | string[], opts?: SrfProxyOptions): Promise<SrfProxyResult>;
  /**
   * Sends a request outside a dialog. The callback runs synchronously when the
   * server confirms the send, so a 'response' listener attached there cannot
   * miss an answer that arrives in the same read (the Promise form can).
   */
  request(uri: string, opts: SrfRequestOptions, callback: (err: Error | null, sent: SrfRequestLike) => void): unknown;
}
