/**
 * RTP fixed header (RFC 3550 §5.1): encode what we send, decode and validate
 * what arrives. Decoding never throws: a bad datagram yields a reason string.
 */

export const RTP_HEADER_BYTES = 12;

export interface RtpHeader {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
}

export interface RtpPacket extends RtpHeader {
  /** The payload, without CSRCs, header extension or padding (a view, not a copy). */
  payload: Buffer;
}

export type DecodeResult = { ok: true; packet: RtpPacket } | { ok: false; reason: string };

/** Builds a packet: 12-byte header (no CSRC, no extension, no padding) + payload. */
export function encodeRtp(h: RtpHeader, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(RTP_HEADER_BYTES + payload.length);
  buf[0] = 0x80; // version 2
  buf[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  buf.writeUInt16BE(h.sequenceNumber & 0xffff, 2);
  buf.writeUInt32BE(h.timestamp >>> 0, 4);
  buf.writeUInt32BE(h.ssrc >>> 0, 8);
  buf.set(payload, RTP_HEADER_BYTES);
  return buf;
}

const fail = (reason: string): DecodeResult => ({ ok: false, reason });

/** Parses and validates one datagram as RTP. */
export function decodeRtp(buf: Buffer): DecodeResult {
  if (buf.length < RTP_HEADER_BYTES) return fail('shorter than an RTP header');
  const b0 = buf[0] as number;
  const b1 = buf[1] as number;
  if (b0 >> 6 !== 2) return fail('not RTP version 2');
  const payloadType = b1 & 0x7f;
  // 72-76 are RTCP packet types 200-204 with the marker bit: RTCP on the RTP port.
  if (payloadType >= 72 && payloadType <= 76) return fail('RTCP packet on the RTP port');
  let offset = RTP_HEADER_BYTES + 4 * (b0 & 0x0f);
  if (offset > buf.length) return fail('CSRC list longer than the packet');
  if (b0 & 0x10) {
    if (offset + 4 > buf.length) return fail('header extension longer than the packet');
    offset += 4 + 4 * buf.readUInt16BE(offset + 2);
    if (offset > buf.length) return fail('header extension longer than the packet');
  }
  let end = buf.length;
  if (b0 & 0x20) {
    const padding = buf[buf.length - 1] as number;
    if (padding === 0 || offset + padding > buf.length) return fail('bad padding length');
    end -= padding;
  }
  return {
    ok: true,
    packet: {
      payloadType,
      marker: (b1 & 0x80) !== 0,
      sequenceNumber: buf.readUInt16BE(2),
      timestamp: buf.readUInt32BE(4),
      ssrc: buf.readUInt32BE(8),
      payload: buf.subarray(offset, end),
    },
  };
}
