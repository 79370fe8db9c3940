import dgram from 'node:dgram';
import type { MediaEngine, MediaSession } from '../../src/ports/media';
import { encodeTelephoneEvent } from '../../src/media/embedded/rfc4733';
import { encodeRtp } from '../../src/media/embedded/rtp-packet';

/**
 * What the MediaEngine contract suite needs from each adapter's rig: the
 * engine, and what stands in for the far end of the media (the phone's RTP
 * socket; FreeSWITCH where it plays the prompts).
 */

export interface MediaRig {
  readonly engine: MediaEngine;
  /** A prompt long enough to be cut (a few seconds). */
  readonly longPrompt: string;
  /** A prompt that plays to its end by itself in the embedded engine (well under a second). */
  readonly shortPrompt: string;
  stop(): Promise<void>;
  /** The phone's SDP offer: PCMU and telephone-event, or only a codec papgate does not speak. */
  offer(kind: 'pcmu' | 'no-common-codec'): string;
  /** Resolves once the far end is playing `file` for this session (RTP audio heard; the playback running). */
  playing(session: MediaSession, file: string): Promise<void>;
  /** Lets the current prompt end as played out (nothing to do where the engine plays it itself). */
  letPromptEnd(session: MediaSession): void;
  /** The media of this session is gone from the far end (no RTP any more; the channel hung up). */
  farEndGone(session: MediaSession): void;
  /** Resolves once what the session held on the far side is released (RTP port free; channel hung up). */
  released(session: MediaSession): Promise<void>;
}

/** The phone's RTP socket: sends RFC 4733 key presses to the port of the answer SDP. */
export class RtpPhone {
  private seq = 1000;
  private ts = 8000;
  readonly audioPackets: Buffer[] = [];
  private constructor(
    readonly socket: dgram.Socket,
    readonly port: number,
  ) {
    socket.on('message', (m) => {
      if (m.length > 12 && (m[1]! & 0x7f) !== 101) this.audioPackets.push(m);
    });
  }

  static open(): Promise<RtpPhone> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve(new RtpPhone(s, s.address().port)));
    });
  }

  offer(formats = '0 101'): string {
    return [
      'v=0',
      'o=phone 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${this.port} RTP/AVP ${formats}`,
      ...(formats.includes('101') ? ['a=rtpmap:101 telephone-event/8000'] : []),
      'a=sendrecv',
      '',
    ].join('\r\n');
  }

  /** One key press as desk phones send it: three updates and three end packets on one timestamp. */
  press(answerSdp: string, key: string): void {
    const port = Number(/^m=audio (\d+)/m.exec(answerSdp)?.[1]);
    const event = '0123456789*#ABCD'.indexOf(key);
    this.ts += 1600;
    for (const [end, duration] of [
      [false, 160],
      [false, 320],
      [false, 480],
      [true, 640],
      [true, 640],
      [true, 640],
    ] as const) {
      const payload = encodeTelephoneEvent({ event, end, volume: 10, duration });
      this.socket.send(
        encodeRtp({ payloadType: 101, marker: duration === 160 && !end, sequenceNumber: this.seq++, timestamp: this.ts, ssrc: 0xc0ffee }, payload),
        port,
        '127.0.0.1',
      );
    }
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

/** Polls `check` until it holds (bounded). */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
