import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PromptLibrary, shippedPromptsDir } from '../../src/app/prompt-library';
import { isPapgateError } from '../../src/domain/errors';
import { PROMPT_NAMES } from '../../src/domain/ivr';

function writePrompts(dir: string, lang: string, names: readonly string[]): void {
  mkdirSync(join(dir, lang), { recursive: true });
  for (const n of names) writeFileSync(join(dir, lang, `${n}.wav`), 'RIFF');
}

describe('PromptLibrary', () => {
  let root: string;
  let shipped: string;
  let override: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'papgate-prompts-'));
    shipped = join(root, 'shipped');
    override = join(root, 'override');
    mkdirSync(override);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('finds the prompt in the requested language', () => {
    writePrompts(shipped, 'en', PROMPT_NAMES);
    writePrompts(shipped, 'de', PROMPT_NAMES);
    const lib = new PromptLibrary([override, shipped]);
    assert.equal(lib.path('de', 'enter-pin'), join(shipped, 'de', 'enter-pin.wav'));
    assert.equal(lib.path('en', 'goodbye'), join(shipped, 'en', 'goodbye.wav'));
  });

  it('prefers the operator override directory, also for files added after start', () => {
    writePrompts(shipped, 'en', PROMPT_NAMES);
    writePrompts(shipped, 'de', PROMPT_NAMES);
    const lib = new PromptLibrary([override, shipped]);
    writePrompts(override, 'de', ['success']);
    assert.equal(lib.path('de', 'success'), join(override, 'de', 'success.wav'));
    assert.equal(lib.path('de', 'wrong-pin'), join(shipped, 'de', 'wrong-pin.wav'));
  });

  it('looks at the disk at most once a second per prompt: a file added or removed is seen after that', () => {
    writePrompts(shipped, 'en', PROMPT_NAMES);
    writePrompts(shipped, 'de', PROMPT_NAMES);
    let nowMs = 0;
    const lib = new PromptLibrary([override, shipped], { now: () => nowMs });
    assert.equal(lib.path('de', 'success'), join(shipped, 'de', 'success.wav'));
    writePrompts(override, 'de', ['success']);
    nowMs = 999;
    assert.equal(lib.path('de', 'success'), join(shipped, 'de', 'success.wav'), 'the answer of less than a second ago');
    assert.equal(lib.path('de', 'wrong-pin'), join(shipped, 'de', 'wrong-pin.wav'), 'another prompt is looked up on its own');
    nowMs = 1000;
    assert.equal(lib.path('de', 'success'), join(override, 'de', 'success.wav'), 'looked at again after a second');
    rmSync(join(override, 'de', 'success.wav'));
    nowMs = 2000;
    assert.equal(lib.path('de', 'success'), join(shipped, 'de', 'success.wav'), 'a removed override is noticed too');
  });

  it('falls back to English when a language lacks a file, preferring the override English', () => {
    writePrompts(shipped, 'en', PROMPT_NAMES);
    writePrompts(shipped, 'de', ['enter-pin']);
    writePrompts(override, 'en', ['blocked']);
    const lib = new PromptLibrary([override, shipped]);
    assert.equal(lib.path('de', 'enter-pin'), join(shipped, 'de', 'enter-pin.wav'));
    assert.equal(lib.path('de', 'locked-out'), join(shipped, 'en', 'locked-out.wav'));
    assert.equal(lib.path('de', 'blocked'), join(override, 'en', 'blocked.wav'));
  });

  it('accepts an English set spread over several directories', () => {
    writePrompts(shipped, 'en', PROMPT_NAMES.slice(0, 5));
    writePrompts(override, 'en', PROMPT_NAMES.slice(5));
    assert.doesNotThrow(() => new PromptLibrary([override, shipped]));
  });

  it('refuses an incomplete English set, naming every missing file', () => {
    writePrompts(
      shipped,
      'en',
      PROMPT_NAMES.filter((n) => n !== 'success' && n !== 'goodbye'),
    );
    writePrompts(shipped, 'de', PROMPT_NAMES);
    assert.throws(
      () => new PromptLibrary([override, shipped]),
      (e: unknown) => {
        assert.ok(isPapgateError(e) && e.code === 'invalid');
        assert.match(e.message, /en\/success\.wav/);
        assert.match(e.message, /en\/goodbye\.wav/);
        assert.doesNotMatch(e.message, /enter-pin/);
        return true;
      },
    );
    assert.throws(() => new PromptLibrary([]), /no prompt directory/);
    assert.throws(() => new PromptLibrary([join(root, 'nowhere')]), /incomplete/);
  });

  it('does not take a directory for a prompt file', () => {
    writePrompts(
      shipped,
      'en',
      PROMPT_NAMES.filter((n) => n !== 'success'),
    );
    mkdirSync(join(shipped, 'en', 'success.wav'));
    assert.throws(() => new PromptLibrary([shipped]), /en\/success\.wav/);
  });
});

describe('shippedPromptsDir', () => {
  it('is prompts/ next to the package.json above the given directory', () => {
    const root = mkdtempSync(join(tmpdir(), 'papgate-pkg-'));
    try {
      writeFileSync(join(root, 'package.json'), '{}');
      mkdirSync(join(root, 'dist', 'src', 'app'), { recursive: true });
      assert.equal(shippedPromptsDir(join(root, 'dist', 'src', 'app')), join(root, 'prompts'));
      assert.equal(shippedPromptsDir(root), join(root, 'prompts'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('from this source tree, finds the project prompts', () => {
    assert.equal(shippedPromptsDir(), join(__dirname, '..', '..', 'prompts'));
  });

  it('the shipped prompts form a complete English and German set', () => {
    const lib = new PromptLibrary([shippedPromptsDir()]);
    for (const n of PROMPT_NAMES) assert.equal(lib.path('de', n), join(shippedPromptsDir(), 'de', `${n}.wav`));
  });
});
