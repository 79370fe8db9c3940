/**
 * In-band DTMF detection (ITU-T Q.23/Q.24 style) with the Goertzel algorithm
 * on 8 kHz linear PCM. Audio is cut into 10 ms blocks; a block "hits" a key
 * when one row and one column tone stand out (energy, twist, purity); a key
 * counts once it held for MIN_HIT_BLOCKS blocks, and the same key counts
 * again only after GAP_BLOCKS blocks without it.
 */

const SAMPLE_RATE = 8000;
const ROWS = [697, 770, 852, 941];
const COLS = [1209, 1336, 1477, 1633];
const KEYS = ['123A', '456B', '789C', '*0#D'];

/** 10 ms: short enough to time a 40 ms minimum, long enough to separate 697 from 770 Hz. */
export const BLOCK_SAMPLES = 80;
const MIN_HIT_BLOCKS = 3; // >= 30 ms of clean tone: every press of 40 ms or more passes
const GAP_BLOCKS = 3; // 30 ms of silence before the same key counts again
/** Minimum amplitude of each tone (about -40 dBFS): quieter is line noise. */
const MIN_TONE_AMPLITUDE = 330;
/** The two tones must carry this share of the block's energy (speech spreads it). */
const MIN_TONE_SHARE = 0.7;
/** Strongest tone of a group at least 4x (6 dB) above the rest of its group. */
const MIN_PEAK_RATIO = 4;
/** Twist limits: column may be 8 dB above row (forward), row 4 dB above column (reverse). */
const MAX_FORWARD_TWIST = 10 ** (8 / 10);
const MAX_REVERSE_TWIST = 10 ** (4 / 10);

const coeff = (f: number) => 2 * Math.cos((2 * Math.PI * f) / SAMPLE_RATE);
const ROW_COEFFS = ROWS.map(coeff);
const COL_COEFFS = COLS.map(coeff);
/** Goertzel power of a sine of amplitude A over N samples is (A*N/2)^2. */
const MIN_TONE_POWER = ((MIN_TONE_AMPLITUDE * BLOCK_SAMPLES) / 2) ** 2;

/** Power of one frequency over samples[from, from + BLOCK_SAMPLES). */
function goertzel(samples: Int16Array, from: number, c: number): number {
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < from + BLOCK_SAMPLES; i++) {
    const s0 = (samples[i] as number) + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/** Index of the strongest power if it stands MIN_PEAK_RATIO above the others, else -1. */
function dominant(powers: number[]): number {
  let best = 0;
  for (let i = 1; i < powers.length; i++) if ((powers[i] as number) > (powers[best] as number)) best = i;
  const peak = powers[best] as number;
  for (let i = 0; i < powers.length; i++) {
    if (i !== best && (powers[i] as number) * MIN_PEAK_RATIO > peak) return -1;
  }
  return best;
}

/** The key one 10 ms block holds, or undefined. */
export function detectBlock(samples: Int16Array, from: number): string | undefined {
  let energy = 0;
  for (let i = from; i < from + BLOCK_SAMPLES; i++) energy += (samples[i] as number) ** 2;
  // Two tones at the minimum amplitude carry N*A^2 of energy; skip quieter blocks cheaply.
  if (energy < BLOCK_SAMPLES * MIN_TONE_AMPLITUDE ** 2) return undefined;
  const rowPowers = ROW_COEFFS.map((c) => goertzel(samples, from, c));
  const colPowers = COL_COEFFS.map((c) => goertzel(samples, from, c));
  const r = dominant(rowPowers);
  const k = dominant(colPowers);
  if (r < 0 || k < 0) return undefined;
  const rowPower = rowPowers[r] as number;
  const colPower = colPowers[k] as number;
  if (rowPower < MIN_TONE_POWER || colPower < MIN_TONE_POWER) return undefined;
  if (colPower > rowPower * MAX_FORWARD_TWIST || rowPower > colPower * MAX_REVERSE_TWIST) return undefined;
  // 2|X|^2/N is the energy a pure tone contributes to the block.
  const toneEnergy = (2 * (rowPower + colPower)) / BLOCK_SAMPLES;
  if (toneEnergy < MIN_TONE_SHARE * energy) return undefined;
  return (KEYS[r] as string)[k];
}

/** Streaming detector for one call: feed decoded audio, get each key press once. */
export class InbandDtmfDetector {
  private pending = new Int16Array(BLOCK_SAMPLES);
  private pendingLength = 0;
  private candidate: string | undefined;
  private candidateBlocks = 0;
  /** The key already reported and still held (or released less than GAP_BLOCKS ago). */
  private reported: string | undefined;
  private gapBlocks = 0;

  /** Feeds samples; returns the keys that started in them (usually none). */
  push(samples: Int16Array): string[] {
    const digits: string[] = [];
    let i = 0;
    while (i < samples.length) {
      const n = Math.min(BLOCK_SAMPLES - this.pendingLength, samples.length - i);
      this.pending.set(samples.subarray(i, i + n), this.pendingLength);
      this.pendingLength += n;
      i += n;
      if (this.pendingLength === BLOCK_SAMPLES) {
        this.pendingLength = 0;
        const digit = this.onBlock(detectBlock(this.pending, 0));
        if (digit) digits.push(digit);
      }
    }
    return digits;
  }

  private onBlock(hit: string | undefined): string | undefined {
    if (hit === this.candidate) this.candidateBlocks++;
    else {
      this.candidate = hit;
      this.candidateBlocks = 1;
    }
    if (hit === undefined) {
      if (++this.gapBlocks >= GAP_BLOCKS) this.reported = undefined;
      return undefined;
    }
    this.gapBlocks = 0;
    if (this.candidateBlocks >= MIN_HIT_BLOCKS && hit !== this.reported) {
      this.reported = hit;
      return hit;
    }
    return undefined;
  }
}
