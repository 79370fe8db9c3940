/**
 * The slice of drachtio-fsmrf 4.1.x the FreeSWITCH adapter calls, typed in our
 * own words (fsmrf ships no types). fsmrf drives FreeSWITCH over the event
 * socket and reaches it for SIP through the drachtio-srf instance it is given.
 */

export interface MrfConnectOptions {
  /** FreeSWITCH event socket host (PAPGATE_FREESWITCH_HOST). */
  address: string;
  port: number;
  secret: string;
  /** Where we listen for FreeSWITCH's outbound event-socket connections. */
  listenAddress: string;
  listenPort: number;
  /** What we tell FreeSWITCH to connect to (X-esl-outbound), when not the listen address. */
  advertisedAddress?: string;
  advertisedPort?: number;
  /** The sofia profile fsmrf sends its INVITEs to (default drachtio_mrf). */
  profile?: string;
}

export interface MrfLike {
  connect(opts: MrfConnectOptions): Promise<MediaServerLike>;
}

/** fsmrf's Mrf class: built over a drachtio-srf instance. */
export type MrfConstructor = new (srf: object) => MrfLike;

export interface MediaServerLike {
  /** Sends an INVITE with the phone's offer to FreeSWITCH and waits for its outbound event socket. */
  createEndpoint(opts: { remoteSdp: string; codecs?: string[] }): Promise<FsEndpointLike>;
  /** The inbound event socket is up (it reconnects by itself after a FreeSWITCH restart). */
  connected(): boolean;
  disconnect(): void;
  on(event: 'end', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

/** A DTMF event as fsmrf reports it. `source` is FreeSWITCH's DTMF-Source: RTP, INBAND_AUDIO, ENDPOINT, ... */
export interface FsDtmfEvent {
  dtmf: string;
  duration?: string;
  source?: string;
}

export interface FsEndpointLike {
  /** FreeSWITCH's channel uuid. */
  readonly uuid: string;
  readonly local: { sdp: string };
  /** FreeSWITCH's variable_dtmf_type: 'rfc2833', 'info' or 'none'. */
  readonly dtmfType: string | undefined;
  readonly connected: boolean;
  /** `playback` of one file, or of several joined by `!`; resolves when it ends or is broken. */
  play(files: string | string[]): Promise<unknown>;
  /** An API command on the channel's connection, e.g. ('uuid_break', uuid). */
  api(command: string, args: string): Promise<unknown>;
  /** A dialplan application on the channel, e.g. ('start_dtmf'). */
  execute(app: string, arg?: string): Promise<unknown>;
  /** Hangs the channel up and waits for FreeSWITCH's BYE. */
  destroy(): Promise<unknown>;
  on(event: 'dtmf', listener: (evt: FsDtmfEvent) => void): this;
  /** FreeSWITCH ended the channel (media timeout, restart, error). */
  on(event: 'destroy', listener: () => void): this;
}
