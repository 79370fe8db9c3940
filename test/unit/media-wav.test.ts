import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alaw, mulaw } from 'alawmulaw';
import { PromptCache } from '../../src/media/embedded/prompt-cache';
import { decodeWav, encodeWavPcm16, WavFormatError } from '../../src/media/embedded/wav';
import { requireTool } from '../helpers/required-tools';

const ramp = Int16Array.from({ length: 400 }, (_, i) => (i - 200) * 100);

/** A WAV with arbitrary fmt fields and extra chunks, built by hand. */
function wav(opts: { format?: number; channels?: number; rate?: number; bits?: number; data: Buffer; extra?: Buffer }): Buffer {
  const fmt = Buffer.alloc(24);
  fmt.write('fmt ', 0, 'latin1');
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(opts.format ?? 1, 8);
  fmt.writeUInt16LE(opts.channels ?? 1, 10);
  fmt.writeUInt32LE(opts.rate ?? 8000, 12);
  fmt.writeUInt32LE((opts.rate ?? 8000) * ((opts.bits ?? 16) / 8), 16);
  fmt.writeUInt16LE((opts.bits ?? 16) / 8, 20);
  fmt.writeUInt16LE(opts.bits ?? 16, 22);
  const dataHeader = Buffer.alloc(8);
  dataHeader.write('data', 0, 'latin1');
  dataHeader.writeUInt32LE(opts.data.length, 4);
  const body = Buffer.concat([Buffer.from('WAVE', 'latin1'), fmt, opts.extra ?? Buffer.alloc(0), dataHeader, opts.data]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

const expectWavError = (buf: Buffer, message: RegExp) =>
  assert.throws(
    () => decodeWav(buf),
    (e: unknown) => e instanceof WavFormatError && message.test(e.message),
  );

describe('media WAV prompts', () => {
  it('reads 16-bit PCM', () => {
    assert.deepEqual([...decodeWav(encodeWavPcm16(ramp))], [...ramp]);
  });

  it('reads µ-law and A-law WAV', () => {
    const mu = mulaw.encode(ramp);
    const a = alaw.encode(ramp);
    assert.deepEqual([...decodeWav(wav({ format: 7, bits: 8, data: Buffer.from(mu) }))], [...mulaw.decode(mu)]);
    assert.deepEqual([...decodeWav(wav({ format: 6, bits: 8, data: Buffer.from(a) }))], [...alaw.decode(a)]);
  });

  it('walks past other chunks, including an odd-sized one with its pad byte', () => {
    const list = Buffer.concat([Buffer.from('LIST', 'latin1'), Buffer.from([5, 0, 0, 0]), Buffer.from('INFOx'), Buffer.from([0])]);
    assert.deepEqual([...decodeWav(wav({ data: Buffer.from(encodeWavPcm16(ramp).subarray(44)), extra: list }))], [...ramp]);
  });

  it('reads the prompts sox made (the shipped files)', () => {
    const pcm = decodeWav(readFileSync(join(__dirname, '../../prompts/en/wrong-pin.wav')));
    assert.ok(pcm.length > 8000, 'at least a second of audio');
    assert.ok(
      pcm.some((s) => Math.abs(s) > 5000),
      'not silent',
    );
  });

  it('rejects a file that is not RIFF', () => expectWavError(Buffer.from('ID3\u0004 this is an mp3'), /not a WAV/));
  it('rejects an empty file', () => expectWavError(Buffer.alloc(0), /not a WAV/));
  it('rejects a truncated data chunk', () => {
    const good = encodeWavPcm16(ramp);
    expectWavError(good.subarray(0, good.length - 100), /truncated/);
  });
  it('rejects a file cut inside the header', () => expectWavError(encodeWavPcm16(ramp).subarray(0, 30), /truncated|fmt/));
  it('rejects a file without a data chunk', () => expectWavError(encodeWavPcm16(ramp).subarray(0, 36), /no data chunk/));
  it('rejects the wrong sample rate, saying how to fix it', () => expectWavError(encodeWavPcm16(ramp, 16000), /16000 Hz.*8000 Hz.*sox/));
  it('rejects stereo', () => expectWavError(wav({ channels: 2, data: Buffer.alloc(64) }), /2 channels/));
  it('rejects 8-bit linear PCM and float', () => {
    expectWavError(wav({ bits: 8, data: Buffer.alloc(64) }), /unsupported sample format/);
    expectWavError(wav({ format: 3, bits: 32, data: Buffer.alloc(64) }), /unsupported sample format/);
  });
});

describe('media prompt cache', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-prompts-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('encodes a file for each codec and notices when an operator replaces it', async () => {
    const file = join(dir, 'p.wav');
    writeFileSync(file, encodeWavPcm16(new Int16Array(320)));
    const cache = new PromptCache(undefined, 50); // the file's version looked at again after 50 ms
    assert.equal(cache.cached(file, 'PCMU'), undefined, 'nothing before the first load');
    const mu = await cache.get(file, 'PCMU');
    assert.equal(mu.length, 320);
    assert.ok(mu.every((b) => b === 0xff));
    assert.ok((await cache.get(file, 'PCMA')).every((b) => b === 0xd5));
    assert.equal(await cache.get(file, 'PCMU'), mu, 'served from the cache');
    writeFileSync(file, encodeWavPcm16(new Int16Array(480)));
    const deadline = Date.now() + 5000;
    while ((await cache.get(file, 'PCMU')).length !== 480) {
      assert.ok(Date.now() < deadline, 'the replaced file was never noticed');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(cache.cached(file, 'PCMU')?.length, 480);
  });

  it('keeps within its memory budget by dropping the least recently used file', async () => {
    const a = join(dir, 'a.wav');
    const b = join(dir, 'b.wav');
    writeFileSync(a, encodeWavPcm16(new Int16Array(320))); // 640 bytes decoded + 320 encoded
    writeFileSync(b, encodeWavPcm16(new Int16Array(320)));
    const cache = new PromptCache(1000);
    const first = await cache.get(a, 'PCMU');
    assert.equal(await cache.get(a, 'PCMU'), first, 'cached while it fits');
    await cache.get(b, 'PCMU'); // does not fit next to a: a goes
    const again = await cache.get(a, 'PCMU');
    assert.notEqual(again, first, 'read again after eviction');
    assert.deepEqual(again, first);
  });

  it('rejects missing and unreadable files with a readable error', async () => {
    const cache = new PromptCache();
    await assert.rejects(cache.get(join(dir, 'missing.wav'), 'PCMU'), /ENOENT/);
    writeFileSync(join(dir, 'bad.wav'), 'not audio');
    await assert.rejects(cache.get(join(dir, 'bad.wav'), 'PCMU'), /not a WAV/);
  });

  it('agrees with sox about the µ-law encoding of a prompt', async function () {
    const src = join(__dirname, '../../prompts/en/wrong-pin.wav');
    const raw = join(dir, 'out.ul');
    requireTool(this, 'sox', 'our µ-law encoding is checked against sox');
    execFileSync('sox', ['-D', src, '-t', 'raw', '-e', 'u-law', '-r', '8000', '-c', '1', raw]);
    const ours = await new PromptCache().get(src, 'PCMU');
    const theirs = readFileSync(raw);
    assert.equal(ours.length, theirs.length);
    // Encoders may round a sample to either neighbouring level: allow one quantisation step.
    const a = mulaw.decode(ours);
    const b = mulaw.decode(theirs);
    let differ = 0;
    for (let i = 0; i < a.length; i++) {
      const x = a[i] as number;
      const y = b[i] as number;
      if (Math.abs(x - y) > 8 + Math.max(Math.abs(x), Math.abs(y)) / 8) differ++;
    }
    assert.equal(differ, 0, `${differ} of ${a.length} samples differ by more than one µ-law step`);
  });
});
