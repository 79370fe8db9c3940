/**
 * SRTP (RFC 3711) for one direction of one call: AES-CM encryption and
 * HMAC-SHA1 authentication, keyed once from an SDES master key (no re-keying,
 * no MKI, key derivation rate 0). `protect` turns an RTP packet we send into
 * SRTP; `unprotect` checks and decrypts one that arrives, and never throws:
 * a packet that fails any check is a reason string.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AesCm, deriveSessionKeys, MASTER_KEY_BYTES, packetIv, type SessionKeys } from './aes-cm';
import { ReplayWindow } from './replay-window';

export type SrtpSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';

/** Authentication tag length in bytes per suite (80 or 32 bits). */
export const TAG_BYTES: Readonly<Record<SrtpSuite, number>> = {
  AES_CM_128_HMAC_SHA1_80: 10,
  AES_CM_128_HMAC_SHA1_32: 4,
};

/** SSRCs one receiver keeps state for; a phone uses one, a restart may add another. */
const MAX_SOURCES = 4;
const RTP_HEADER_BYTES = 12;

export type UnprotectResult = { ok: true; packet: Buffer } | { ok: false; reason: string };

/** Where the payload starts (after CSRCs and header extension), or -1 when the header overruns `end`. */
export function rtpPayloadOffset(packet: Buffer, end: number): number {
  if (end < RTP_HEADER_BYTES || (packet[0] as number) >> 6 !== 2) return -1;
  let offset = RTP_HEADER_BYTES + 4 * ((packet[0] as number) & 0x0f);
  if ((packet[0] as number) & 0x10) {
    if (offset + 4 > end) return -1;
    offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  }
  return offset > end ? -1 : offset;
}

abstract class SrtpDirection {
  protected readonly keys: SessionKeys;
  protected readonly tagBytes: number;
  protected readonly cipher: AesCm;

  /** `keyAndSalt`: the 30 bytes of an SDES inline key (16-byte master key, 14-byte salt). */
  constructor(
    readonly suite: SrtpSuite,
    keyAndSalt: Buffer,
  ) {
    this.keys = deriveSessionKeys(keyAndSalt.subarray(0, MASTER_KEY_BYTES), keyAndSalt.subarray(MASTER_KEY_BYTES));
    this.tagBytes = TAG_BYTES[suite];
    this.cipher = new AesCm(this.keys.encryption);
  }

  /** HMAC-SHA1 over the authenticated portion followed by the ROC, truncated. */
  protected tag(authenticated: Buffer, roc: number): Buffer {
    const rocBytes = Buffer.alloc(4);
    rocBytes.writeUInt32BE(roc >>> 0, 0);
    return createHmac('sha1', this.keys.authentication).update(authenticated).update(rocBytes).digest().subarray(0, this.tagBytes);
  }
}

/** Our sending side: the ROC counts the wraps of our sequence numbers, from 0. */
export class SrtpSender extends SrtpDirection {
  private roc = 0;
  private lastSeq: number | undefined;

  /** SRTP packet for one RTP packet (a new buffer; `rtp` is left as it is). */
  protect(rtp: Buffer): Buffer {
    const payloadOffset = rtpPayloadOffset(rtp, rtp.length);
    if (payloadOffset < 0) throw new Error('not an RTP packet');
    const seq = rtp.readUInt16BE(2);
    if (this.lastSeq !== undefined && seq < this.lastSeq && this.lastSeq - seq > 0x8000) {
      this.roc = (this.roc + 1) >>> 0;
    }
    this.lastSeq = seq;
    const out = Buffer.alloc(rtp.length + this.tagBytes);
    rtp.copy(out);
    const body = out.subarray(0, rtp.length);
    this.cipher.xor(packetIv(this.keys.salt, rtp.readUInt32BE(8), this.roc * 0x10000 + seq), body.subarray(payloadOffset));
    this.tag(body, this.roc).copy(out, rtp.length);
    return out;
  }
}

/** The phone's sending side as we receive it: authentication first, then replay check, then decryption. */
export class SrtpReceiver extends SrtpDirection {
  private readonly sources = new Map<number, ReplayWindow>();

  unprotect(srtp: Buffer): UnprotectResult {
    const end = srtp.length - this.tagBytes;
    const payloadOffset = rtpPayloadOffset(srtp, end);
    if (payloadOffset < 0) return { ok: false, reason: 'not an SRTP packet' };
    const seq = srtp.readUInt16BE(2);
    const ssrc = srtp.readUInt32BE(8);
    const window = this.sources.get(ssrc);
    const index = window ? window.estimateIndex(seq) : seq;
    if (index < 0) return { ok: false, reason: 'packet index before the stream started' };
    if (window && !window.isFresh(index)) return { ok: false, reason: 'replayed packet' };
    const roc = Math.floor(index / 0x10000);
    const expected = this.tag(srtp.subarray(0, end), roc);
    if (!timingSafeEqual(expected, srtp.subarray(end))) return { ok: false, reason: 'authentication tag mismatch' };
    const packet = Buffer.from(srtp.subarray(0, end));
    this.cipher.xor(packetIv(this.keys.salt, ssrc, index), packet.subarray(payloadOffset));
    this.remember(ssrc, index, window);
    return { ok: true, packet };
  }

  private remember(ssrc: number, index: number, window: ReplayWindow | undefined): void {
    if (window) {
      window.accept(index);
      return;
    }
    if (this.sources.size >= MAX_SOURCES) {
      const oldest = this.sources.keys().next().value as number;
      this.sources.delete(oldest);
    }
    this.sources.set(ssrc, new ReplayWindow(index));
  }
}
