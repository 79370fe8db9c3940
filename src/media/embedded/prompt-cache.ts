/**
 * Decoded and G.711-encoded prompt files, shared by every call: hundreds of
 * calls play the same few prompts, so each file is read and encoded once.
 * An operator replacing a file is noticed by its size / modification time.
 */
import { promises as fs } from 'node:fs';
import { decodeWav, WavFormatError } from './wav';
import { encodeG711 } from './g711';
import type { Codec } from './sdp';

export const MAX_PROMPT_BYTES = 10 * 1024 * 1024;

interface Entry {
  version: string;
  pcm: Int16Array;
  encoded: Partial<Record<Codec, Buffer>>;
}

export class PromptCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();

  constructor(private readonly maxEntries = 256) {}

  /** The file encoded for `codec`. Rejects with a readable Error (missing file, bad format). */
  async get(path: string, codec: Codec): Promise<Buffer> {
    const entry = await this.entry(path);
    let encoded = entry.encoded[codec];
    if (!encoded) {
      encoded = encodeG711(codec, entry.pcm);
      entry.encoded[codec] = encoded;
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
      this.entries.delete(path); // re-insert: Map order doubles as LRU order
      this.entries.set(path, cached);
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
    const entry: Entry = { version, pcm, encoded: {} };
    this.entries.set(path, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return entry;
  }
}
