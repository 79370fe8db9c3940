/**
 * The MediaSession port: what the IVR driver needs from a media engine.
 * Embedded: pure Node RTP (src/media/embedded). Production: FreeSWITCH via
 * drachtio-fsmrf (src/media/freeswitch).
 */

export type DtmfSource = 'rfc4733' | 'info' | 'inband';

export interface MediaEngine {
  /**
   * Builds a session for an SDP offer and returns it with the answer SDP.
   * Throws PapgateError('invalid', ..., 'sdp') when the offer is malformed and
   * NoCommonCodec when no codec is shared (the caller answers 488).
   * `signallingAddress` is the IP the call's SIP came from: an engine that
   * receives RTP itself hears a first packet only from it or the SDP's address,
   * and sends nowhere else (FreeSWITCH applies its own rules and ignores it).
   */
  createSession(opts: { callId: string; offerSdp: string; signallingAddress?: string }): Promise<MediaSession>;
  close(): Promise<void>;
  /** False while a remote media server (FreeSWITCH) is not connected; absent: always ready. */
  isReady?(): boolean;
}

export class NoCommonCodec extends Error {
  override readonly name = 'NoCommonCodec';
}

export interface MediaSession {
  readonly answerSdp: string;
  /**
   * Plays the files one after the other (absolute paths of 8 kHz mono WAV).
   * Fires 'playbackFinished' once when the last one ends or stopPlayback() cut it.
   */
  play(files: string[]): void;
  stopPlayback(): void;
  /**
   * The call's digits come another way (SIP INFO): the engine may stop
   * looking for them in the media, which costs per packet. Optional.
   */
  ignoreDigits?(): void;
  /** A digit 0-9, *, #, A-D, once per key press whatever the transport. */
  on(event: 'digit', listener: (digit: string, source: DtmfSource) => void): this;
  on(event: 'playbackFinished', listener: (interrupted: boolean) => void): this;
  /** No RTP from the phone for the configured time. */
  on(event: 'inactive', listener: () => void): this;
  close(): Promise<void>;
}
