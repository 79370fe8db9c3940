import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../../src/ports/logger';
import { JitterHistogram } from '../../src/media/embedded/jitter-histogram';
import { PromptCache } from '../../src/media/embedded/prompt-cache';
import { PromptPlayout } from '../../src/media/embedded/prompt-playout';
import { encodeWavPcm16 } from '../../src/media/embedded/wav';

describe('media prompt playout', () => {
  let dir: string;
  let finished: boolean[];
  let warnings: string[];
  let playout: PromptPlayout;
  const file = (name: string, samples: number) => {
    const path = join(dir, name);
    writeFileSync(path, encodeWavPcm16(Int16Array.from({ length: samples }, () => 1000)));
    return path;
  };
  /** Waits (bounded) for the first frame: files load with real, asynchronous fs reads. */
  const firstFrame = async () => {
    for (let i = 0; i < 500; i++) {
      const f = playout.nextFrame();
      if (f) return f;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('no audio frame within the time limit');
  };
  /**
   * The first frame, then every frame until the playout says it finished (at
   * most `limit` frames). A file still loading gives silence meanwhile: wait
   * for it (bounded), as a loaded machine may be slower than the frames.
   */
  const drain = async (limit = 1000) => {
    const frames: Buffer[] = [await firstFrame()];
    for (let waits = 0; frames.length < limit && waits < 500;) {
      const f = playout.nextFrame();
      if (f) frames.push(f);
      else if (finished.length > 0) break;
      else {
        waits++;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    return frames;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-playout-'));
    finished = [];
    warnings = [];
    const log: Logger = {
      ...silentLogger,
      warn: (o) => {
        warnings.push(JSON.stringify(o));
      },
      child: () => log,
    };
    playout = new PromptPlayout('PCMU', new PromptCache(), log, (interrupted) => finished.push(interrupted));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('plays files in order in 160-byte frames, pads the last one, then finishes once', async () => {
    playout.play([file('a.wav', 400), file('b.wav', 160)]);
    const frames = await drain();
    assert.deepEqual(
      frames.map((f) => f.length),
      [160, 160, 160, 160],
    );
    assert.ok(
      frames[2]!.subarray(80).every((b) => b === 0xff),
      'last frame of a.wav padded with µ-law silence',
    );
    assert.notEqual(frames[2]![0], 0xff);
    assert.deepEqual(finished, [false]);
    assert.equal(playout.nextFrame(), undefined);
    assert.deepEqual(finished, [false], 'no second event');
  });

  it('skips a missing or malformed file with a log line and plays the rest', async () => {
    const bad = join(dir, 'bad.wav');
    writeFileSync(bad, 'RIFF....WAVEjunk');
    playout.play([join(dir, 'missing.wav'), bad, file('ok.wav', 320)]);
    assert.equal((await drain()).length, 2);
    assert.deepEqual(finished, [false]);
    assert.equal(warnings.length, 2);
    assert.match(warnings.join(), /missing\.wav/);
  });

  it('finishes an empty list (or only bad files) without audio', async () => {
    playout.play([]);
    assert.equal(playout.nextFrame(), undefined);
    assert.deepEqual(finished, [false]);
  });

  it('reports interrupted on stop() and on replacement, exactly once per play()', async () => {
    const long = file('long.wav', 8000);
    playout.play([long]);
    assert.ok(await firstFrame());
    playout.play([long]); // replaced
    assert.deepEqual(finished, [true]);
    playout.stop();
    assert.deepEqual(finished, [true, true]);
    playout.stop(); // nothing plays: no event
    assert.deepEqual(finished, [true, true]);
    assert.equal(playout.nextFrame(), undefined);
  });

  it('starts a prompt the cache holds on the very next frame, without waiting for the disk', async () => {
    const cache = new PromptCache();
    const f = file('cached.wav', 320);
    const loaded = await cache.get(f, 'PCMU');
    const warm = new PromptPlayout('PCMU', cache, silentLogger, (interrupted) => finished.push(interrupted));
    warm.play([f]);
    assert.deepEqual(warm.nextFrame(), loaded.subarray(0, 160));
    assert.deepEqual(warm.nextFrame(), loaded.subarray(160, 320));
    assert.equal(warm.nextFrame(), undefined);
    assert.deepEqual(finished, [false]);
  });

  it('sends silence while the file is still loading', () => {
    playout.play([file('x.wav', 320)]);
    assert.equal(playout.nextFrame(), undefined);
    assert.deepEqual(finished, []);
  });
});

describe('media jitter histogram', () => {
  it('reports percentiles to 0.1 ms', () => {
    const h = new JitterHistogram();
    assert.equal(h.percentileMs(0.99), 0);
    for (let i = 0; i < 98; i++) h.record(0.25);
    h.record(-3.05); // early counts as much as late
    h.record(250); // beyond the last bucket
    assert.equal(h.count, 100);
    assert.equal(h.percentileMs(0.5), 0.3);
    assert.equal(h.percentileMs(0.99), 3.1);
    assert.equal(h.percentileMs(1), 100);
    h.reset();
    assert.equal(h.count, 0);
  });
});
