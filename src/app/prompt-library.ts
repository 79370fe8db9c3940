import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PapgateError } from '../domain/errors';
import { PROMPT_NAMES, type PromptName } from '../domain/ivr';
import type { Locale } from '../domain/types';

const FALLBACK_LOCALE = 'en';
/** A language tag is a directory name: nothing that could walk out of the prompt directory. */
const LOCALE_DIR = /^[a-z]{2,3}(-[a-z0-9]{2,8})?$/i;
/** How long a looked-up path is taken as current before the directories are looked at again. */
const DEFAULT_RECHECK_MS = 1000;

export interface PromptLibraryOptions {
  /** How long a found path is reused without looking at the disk (ms). */
  recheckMs?: number;
  /** Monotonic milliseconds (tests move it). */
  now?: () => number;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false; // missing or unreadable: the next directory or locale is tried
  }
}

/**
 * Where each prompt's WAV is: `<dir>/<lang>/<name>.wav` in the first of `dirs`
 * that has it (the operator's override directory comes first, the shipped
 * prompts last), else the English one. A file the operator drops in later is
 * used without a restart: each answer is reused for at most a second, as a
 * synchronous stat per prompt played (several per call) blocked the event
 * loop that also sends the calls' RTP.
 */
export class PromptLibrary {
  private readonly dirs: string[];
  private readonly recheckMs: number;
  private readonly now: () => number;
  private readonly found = new Map<string, { path: string; atMs: number }>();

  /** Throws PapgateError('invalid') listing what is missing when the English set is incomplete in all dirs. */
  constructor(dirs: string[], opts: PromptLibraryOptions = {}) {
    this.recheckMs = opts.recheckMs ?? DEFAULT_RECHECK_MS;
    this.now = opts.now ?? (() => performance.now());
    this.dirs = dirs.map((d) => resolve(d));
    if (this.dirs.length === 0) throw new PapgateError('invalid', 'no prompt directory given', 'prompts');
    const missing = PROMPT_NAMES.filter((name) => this.find(FALLBACK_LOCALE, name) === null);
    if (missing.length > 0) {
      throw new PapgateError(
        'invalid',
        `the English prompt set is incomplete: ${missing.map((n) => `${FALLBACK_LOCALE}/${n}.wav`).join(', ')} ` + `missing in all of ${this.dirs.join(', ')}`,
        'prompts',
      );
    }
  }

  /** Absolute path of the prompt in this language, falling back to English. */
  path(locale: Locale, name: PromptName): string {
    const key = `${locale}/${name}`;
    const nowMs = this.now();
    const hit = this.found.get(key);
    if (hit && nowMs - hit.atMs < this.recheckMs) return hit.path;
    const path = this.lookUp(locale, name);
    this.found.set(key, { path, atMs: nowMs }); // bounded: locales come from the store's few, names from PROMPT_NAMES
    return path;
  }

  private lookUp(locale: Locale, name: PromptName): string {
    const own = LOCALE_DIR.test(locale) ? this.find(locale, name) : null;
    // The English file was there at start; if it has gone since, the engine reports the unreadable path.
    return own ?? this.find(FALLBACK_LOCALE, name) ?? join(this.dirs[this.dirs.length - 1]!, FALLBACK_LOCALE, `${name}.wav`);
  }

  private find(locale: string, name: PromptName): string | null {
    for (const dir of this.dirs) {
      const candidate = join(dir, locale, `${name}.wav`);
      if (isFile(candidate)) return candidate;
    }
    return null;
  }
}

/**
 * The shipped `prompts/` directory: next to the package.json above this file,
 * so it is found from src/ (tsx) and from dist/src/ (compiled) alike.
 */
export function shippedPromptsDir(from: string = __dirname): string {
  let dir = resolve(from);
  for (let i = 0; i < 20; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'prompts');
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new PapgateError('invalid', `no package.json above ${from}: cannot locate the shipped prompts`, 'prompts');
}
