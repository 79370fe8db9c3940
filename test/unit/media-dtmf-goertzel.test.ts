import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InbandDtmfDetector } from '../../src/media/embedded/dtmf-goertzel';
import { decodeG711, encodeG711 } from '../../src/media/embedded/g711';
import { decodeWav } from '../../src/media/embedded/wav';
import { LOCALES } from '../../src/domain/types';

const FREQS: Record<string, [number, number]> = {};
['123A', '456B', '789C', '*0#D'].forEach((row, r) => {
  [...row].forEach((key, c) => {
    FREQS[key] = [[697, 770, 852, 941][r] as number, [1209, 1336, 1477, 1633][c] as number];
  });
});

/** Samples of a DTMF key (or silence for key ''), amplitudes per tone. */
function tone(key: string, ms: number, rowAmp = 6000, colAmp = 6000, phase = 0): Int16Array {
  const n = Math.round(ms * 8);
  const out = new Int16Array(n);
  if (key === '') return out;
  const [fr, fc] = FREQS[key] as [number, number];
  for (let i = 0; i < n; i++) {
    const t = (i + phase) / 8000;
    out[i] = Math.round(rowAmp * Math.sin(2 * Math.PI * fr * t) + colAmp * Math.sin(2 * Math.PI * fc * t));
  }
  return out;
}

function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Feeds audio in RTP-sized chunks of 160 samples, like the session does. */
function detect(samples: Int16Array, chunk = 160): string {
  const d = new InbandDtmfDetector();
  let digits = '';
  for (let i = 0; i < samples.length; i += chunk) digits += d.push(samples.subarray(i, i + chunk)).join('');
  return digits;
}

/** Deterministic pseudo-random numbers (tests must be reproducible). */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('media in-band DTMF (Goertzel)', () => {
  const keys = Object.keys(FREQS);

  for (const codec of ['PCMU', 'PCMA'] as const) {
    it(`detects every key once through ${codec}`, () => {
      for (const key of keys) {
        const audio = concat(tone('', 40), tone(key, 100), tone('', 60));
        const through = decodeG711(codec, encodeG711(codec, audio));
        assert.equal(detect(through), key, `key ${key} through ${codec}`);
      }
    });
  }

  it('detects a whole PIN typed at a normal pace, misaligned to the blocks', () => {
    const parts = [tone('', 13)];
    for (const key of '0123456789#') parts.push(tone(key, 70 + (key.charCodeAt(0) % 5) * 7), tone('', 55));
    assert.equal(detect(decodeG711('PCMU', encodeG711('PCMU', concat(...parts))), 80), '0123456789#');
  });

  it('counts a key held for a second once', () => {
    assert.equal(detect(concat(tone('5', 1000), tone('', 100))), '5');
  });

  it('counts the same key twice when there is a gap between presses', () => {
    assert.equal(detect(concat(tone('7', 80), tone('', 60), tone('7', 80), tone('', 60))), '77');
  });

  it('does not count a one-block dropout inside a press as a second press', () => {
    assert.equal(detect(concat(tone('9', 100), tone('', 10), tone('9', 100, 6000, 6000, 880))), '9');
  });

  it('detects a 40 ms press and ignores a 25 ms one, whatever their alignment to the blocks', () => {
    for (let lead = 0; lead < 80; lead += 8) {
      const silence = new Int16Array(lead);
      assert.equal(detect(concat(silence, tone('6', 40), tone('', 60))), '6', `40 ms, ${lead} samples in`);
      assert.equal(detect(concat(silence, tone('6', 25), tone('', 60))), '', `25 ms, ${lead} samples in`);
    }
  });

  it('ignores blips shorter than the minimum duration', () => {
    assert.equal(detect(concat(tone('', 35), tone('3', 20), tone('', 100))), '');
  });

  it('ignores tones that are too quiet', () => {
    assert.equal(detect(tone('1', 200, 150, 150)), '');
  });

  it('ignores twist beyond the limits (one tone much louder than the other)', () => {
    assert.equal(detect(tone('1', 200, 1000, 9000)), ''); // column 19 dB above row
    assert.equal(detect(tone('1', 200, 9000, 2000)), ''); // row 13 dB above column
    assert.equal(detect(tone('1', 200, 4000, 8000)), '1'); // 6 dB forward twist is fine
  });

  it('ignores single tones', () => {
    assert.equal(detect(tone('1', 200, 8000, 0)), '');
  });

  it('produces no digit from silence or white noise', () => {
    assert.equal(detect(new Int16Array(8000)), '');
    const rnd = lcg(1);
    const noise = Int16Array.from({ length: 80000 }, () => Math.round((rnd() - 0.5) * 20000));
    assert.equal(detect(noise), '');
  });

  it('produces no digit from a harmonic-rich, gliding voice-like signal', () => {
    const samples = new Int16Array(8 * 5000);
    let phase = 0;
    for (let i = 0; i < samples.length; i++) {
      const f0 = 110 + 60 * Math.sin((2 * Math.PI * i) / 8000); // pitch glides 50-170 Hz
      phase += (2 * Math.PI * f0) / 8000;
      let v = 0;
      for (let h = 1; h <= 20; h++) v += Math.sin(h * phase) * (3000 / h);
      samples[i] = Math.round(v);
    }
    assert.equal(detect(samples), '');
  });

  it('produces no digit from the spoken prompts (talk-off)', () => {
    const root = join(__dirname, '../../prompts');
    let files = 0;
    for (const lang of LOCALES) {
      for (const name of readdirSync(join(root, lang)).filter((f) => f.endsWith('.wav'))) {
        const pcm = decodeWav(readFileSync(join(root, lang, name)));
        assert.equal(detect(decodeG711('PCMU', encodeG711('PCMU', pcm))), '', `${lang}/${name}`);
        files++;
      }
    }
    assert.ok(files >= 10 * LOCALES.length);
  });
});
