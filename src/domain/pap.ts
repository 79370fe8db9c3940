/** Any source of random bytes (the Random port satisfies it). */
export interface RandomSource {
  bytes(n: number): Uint8Array;
}

export const PAP_DIGITS = 6;
const RANGE = 10 ** PAP_DIGITS;
// Largest multiple of RANGE below 2^32: values at or above it are redrawn so every PAP is equally likely.
const LIMIT = Math.floor(0x1_0000_0000 / RANGE) * RANGE;

/** Draws a 6-digit PAP (leading zeros kept) uniformly from the random source. */
export function drawPap(random: RandomSource): string {
  for (;;) {
    const b = random.bytes(4);
    const n = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    if (n < LIMIT) return String(n % RANGE).padStart(PAP_DIGITS, '0');
  }
}

/**
 * Compares an entered PIN with the PAP in time that does not depend on where
 * they differ. Lengths are public (the PAP is always 6 digits).
 */
export function papMatches(expected: string, entered: string): boolean {
  let diff = expected.length ^ entered.length;
  for (let i = 0; i < expected.length; i++) {
    diff |= expected.charCodeAt(i) ^ (entered.charCodeAt(i) | 0);
  }
  return diff === 0;
}
