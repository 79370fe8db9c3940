/**
 * The MediaSession port: what the IVR driver needs from a media engine.
 * Embedded: pure Node RTP (src/media/embedded). Production: FreeSWITCH via
 * drachtio-fsmrf (src/media/freeswitch).
 */

import type { EventSource } from './events';

export type DtmfSource = 'rfc4733' | 'info' | 'inband';

/** What a MediaSession tells its user. */
export type MediaSessionEvents = {
  /** A digit 0-9, *, #, A-D, once per key press whatever the transport. */
  digit: [digit: string, source: DtmfSource];
  /** The last file of a play() ended, or stopPlayback() cut it. */
  playbackFinished: [interrupted: boolean];
  /** No RTP from the phone for the configured time (or the media server dropped the channel). */
  inactive: [];
};

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

export interface MediaSession extends EventSource<MediaSessionEvents> {
  readonly answerSdp: string;
  /**
   * Plays the files one after the other (absolute paths of 8 kHz mono WAV).
   * Fires 'playbackFinished' once when the last one ends or stopPlayback() cut it
   * (or close() did). After close() it plays nothing and fires nothing.
   */
  play(files: string[]): void;
  stopPlayback(): void;
  /**
   * The call's digits come another way (SIP INFO): the engine may stop
   * looking for them in the media, which costs per packet. Optional.
   */
  ignoreDigits?(): void;
  close(): Promise<void>;
}
