/**
 * Decoded and G.711-encoded prompt files, shared by every call: hundreds of
 * calls play the same few prompts, so each file is read and encoded once.
 * An operator replacing a file is noticed by its size / modification time,
 * looked at no more than once a second per file: at hundreds of calls a stat
 * per prompt played cost more CPU than the prompts' audio, and delayed the
 * first packet of each prompt by a thread-pool round trip.
 */
import { promises as fs } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { decodeWav, WavFormatError } from './wav';
import { encodeG711 } from './g711';
import type { Codec } from './sdp';

export const MAX_PROMPT_BYTES = 10 * 1024 * 1024;
/** Memory the cache may hold (decoded + encoded), oldest-used files leave first. */
const DEFAULT_BUDGET_BYTES = 64 * 1024 * 1024;
/** How long a file's size / modification time is taken as current. */
const DEFAULT_RECHECK_MS = 1000;

interface Entry {
  version: string;
  /** When the file's version was last compared with the disk (performance.now()). */
  checkedMs: number;
  pcm: Int16Array;
  encoded: Partial<Record<Codec, Buffer>>;
}

export class PromptCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();

  private bytes = 0;

  constructor(
    private readonly budgetBytes = DEFAULT_BUDGET_BYTES,
    private readonly recheckMs = DEFAULT_RECHECK_MS,
  ) {}

  /** The file encoded for `codec`. Rejects with a readable Error (missing file, bad format). */
  async get(path: string, codec: Codec): Promise<Buffer> {
    return this.cached(path, codec) ?? this.encoded(await this.entry(path), path, codec);
  }

  /**
   * The file encoded for `codec` when the cache holds it and its version was
   * checked lately, without waiting: a prompt can start on the next frame.
   */
  cached(path: string, codec: Codec): Buffer | undefined {
    const entry = this.entries.get(path);
    if (!entry || performance.now() - entry.checkedMs >= this.recheckMs) return undefined;
    this.touch(path, entry);
    return this.encoded(entry, path, codec);
  }

  private encoded(entry: Entry, path: string, codec: Codec): Buffer {
    let encoded = entry.encoded[codec];
    if (!encoded) {
      encoded = encodeG711(codec, entry.pcm);
      entry.encoded[codec] = encoded;
      if (this.entries.get(path) === entry) this.account(encoded.length);
    }
    return encoded;
  }

  private async entry(path: string): Promise<Entry> {
    const stat = await fs.stat(path);
    if (!stat.isFile()) throw new WavFormatError('not a regular file');
    if (stat.size > MAX_PROMPT_BYTES) throw new WavFormatError(`larger than ${MAX_PROMPT_BYTES} bytes`);
    const version = `${stat.size}:${stat.mtimeMs}`;
    const cached = this.entries.get(path);
    if (cached?.version === version) {
      cached.checkedMs = performance.now();
      this.touch(path, cached);
      return cached;
    }
    const key = `${path}\0${version}`;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(path, version).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private async load(path: string, version: string): Promise<Entry> {
    const pcm = decodeWav(await fs.readFile(path));
    const entry: Entry = { version, checkedMs: performance.now(), pcm, encoded: {} };
    this.forget(path);
    this.entries.set(path, entry);
    this.account(pcm.byteLength);
    return entry;
  }

  /** Re-inserts: Map order doubles as LRU order. */
  private touch(path: string, entry: Entry): void {
    this.entries.delete(path);
    this.entries.set(path, entry);
  }

  private sizeOf(e: Entry): number {
    return e.pcm.byteLength + (e.encoded.PCMU?.length ?? 0) + (e.encoded.PCMA?.length ?? 0);
  }

  private forget(path: string): void {
    const old = this.entries.get(path);
    if (old) this.bytes -= this.sizeOf(old);
    this.entries.delete(path);
  }

  /** Adds to the total and evicts least recently used files beyond the budget (never the newest). */
  private account(added: number): void {
    this.bytes += added;
    while (this.bytes > this.budgetBytes && this.entries.size > 1) {
      this.forget(this.entries.keys().next().value as string);
    }
  }
}
