import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeWavPcm16 } from '../../src/media/embedded/wav';

/**
 * A WAV of `seconds` of steady tone in `dir` (written once): the embedded
 * engine sends RTP only while a prompt plays, so a test that watches where
 * packets go plays one.
 */
export function writeTonePrompt(dir: string, seconds: number): string {
  const file = join(dir, `tone-${seconds}s.wav`);
  if (!existsSync(file)) writeFileSync(file, encodeWavPcm16(Int16Array.from({ length: seconds * 8000 }, () => 3000)));
  return file;
}
