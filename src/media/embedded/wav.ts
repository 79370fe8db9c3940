/**
 * WAV (RIFF/WAVE) reader for voice prompts: 8 kHz mono, 16-bit PCM or G.711
 * µ-law / A-law. Walks the chunk list properly (LIST, fact, odd sizes) and
 * rejects anything else with a message an operator can act on.
 */
import { alaw, mulaw } from 'alawmulaw';

export const PROMPT_SAMPLE_RATE = 8000;

const FORMAT_PCM = 1;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

export class WavFormatError extends Error {
  override readonly name = 'WavFormatError';
}

interface WavFormat {
  audioFormat: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
}

const FIX = 'convert it with: sox in.wav -r 8000 -c 1 -b 16 -e signed-integer out.wav';

/** Decodes a WAV file's bytes into 8 kHz linear 16-bit samples. Throws WavFormatError. */
export function decodeWav(buf: Buffer): Int16Array {
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    throw new WavFormatError('not a WAV file (no RIFF/WAVE header)');
  }
  let format: WavFormat | undefined;
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('latin1', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > buf.length) throw new WavFormatError('truncated fmt chunk');
      format = readFormat(buf, body, size);
    } else if (id === 'data') {
      if (!format) throw new WavFormatError('data chunk before the fmt chunk');
      if (body + size > buf.length) throw new WavFormatError('truncated file: the data chunk is shorter than its header says');
      return decodeSamples(format, buf.subarray(body, body + size));
    }
    offset = body + size + (size & 1); // chunks are padded to an even length
  }
  throw new WavFormatError(format ? 'no data chunk (truncated file?)' : 'no fmt chunk (truncated file?)');
}

function readFormat(buf: Buffer, at: number, size: number): WavFormat {
  let audioFormat = buf.readUInt16LE(at);
  if (audioFormat === FORMAT_EXTENSIBLE) {
    // The real format code is the first two bytes of the SubFormat GUID.
    if (size < 40) throw new WavFormatError('truncated WAVE_FORMAT_EXTENSIBLE fmt chunk');
    audioFormat = buf.readUInt16LE(at + 24);
  }
  return {
    audioFormat,
    channels: buf.readUInt16LE(at + 2),
    sampleRate: buf.readUInt32LE(at + 4),
    bitsPerSample: buf.readUInt16LE(at + 14),
  };
}

function decodeSamples(f: WavFormat, data: Buffer): Int16Array {
  if (f.channels !== 1) throw new WavFormatError(`${f.channels} channels, prompts must be mono; ${FIX}`);
  if (f.sampleRate !== PROMPT_SAMPLE_RATE) {
    throw new WavFormatError(`sample rate ${f.sampleRate} Hz, prompts must be 8000 Hz; ${FIX}`);
  }
  if (f.audioFormat === FORMAT_PCM && f.bitsPerSample === 16) {
    const samples = new Int16Array(data.length >> 1);
    for (let i = 0; i < samples.length; i++) samples[i] = data.readInt16LE(2 * i);
    return samples;
  }
  if ((f.audioFormat === FORMAT_MULAW || f.audioFormat === FORMAT_ALAW) && f.bitsPerSample === 8) {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length);
    return f.audioFormat === FORMAT_MULAW ? mulaw.decode(bytes) : alaw.decode(bytes);
  }
  throw new WavFormatError(`unsupported sample format (format code ${f.audioFormat}, ${f.bitsPerSample} bits); ` + `use 16-bit PCM, µ-law or A-law; ${FIX}`);
}

/** Writes a 16-bit PCM mono WAV (tests and tools). */
export function encodeWavPcm16(samples: Int16Array, sampleRate = PROMPT_SAMPLE_RATE): Buffer {
  const data = samples.length * 2;
  const buf = Buffer.alloc(44 + data);
  buf.write('RIFF', 0, 'latin1');
  buf.writeUInt32LE(36 + data, 4);
  buf.write('WAVEfmt ', 8, 'latin1');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(FORMAT_PCM, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'latin1');
  buf.writeUInt32LE(data, 40);
  for (let i = 0; i < samples.length; i++) buf.writeInt16LE(samples[i] as number, 44 + 2 * i);
  return buf;
}
