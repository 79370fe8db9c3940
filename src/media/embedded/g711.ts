/** G.711 through `alawmulaw`, in the shape the RTP session uses. */
import { alaw, mulaw } from 'alawmulaw';
import type { Codec } from './sdp';

export const SAMPLES_PER_FRAME = 160; // 20 ms at 8 kHz

/** The byte each codec encodes digital silence (0) as. */
export const SILENCE_BYTE: Record<Codec, number> = { PCMU: 0xff, PCMA: 0xd5 };

export function encodeG711(codec: Codec, samples: Int16Array): Buffer {
  const bytes = codec === 'PCMU' ? mulaw.encode(samples) : alaw.encode(samples);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function decodeG711(codec: Codec, payload: Uint8Array): Int16Array {
  return codec === 'PCMU' ? mulaw.decode(payload) : alaw.decode(payload);
}

/** One 20 ms frame of silence, shared (never mutated). */
export function silenceFrame(codec: Codec): Buffer {
  return codec === 'PCMU' ? PCMU_SILENCE : PCMA_SILENCE;
}
const PCMU_SILENCE = Buffer.alloc(SAMPLES_PER_FRAME, SILENCE_BYTE.PCMU);
const PCMA_SILENCE = Buffer.alloc(SAMPLES_PER_FRAME, SILENCE_BYTE.PCMA);
