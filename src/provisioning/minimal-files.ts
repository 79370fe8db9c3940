import type { MinimalConfig } from '../app/provisioning';
import type { DeviceFile } from './routes';
import { renderDeviceFile, type RenderedFile } from './templates';

/**
 * Minimal files of recently polled devices, as rendered. Phones in the
 * minimal configuration poll every few minutes and get the same file each
 * time; rendering it was about a sixth of such a request.
 *
 * The key is everything a minimal file is made of that can differ between
 * two requests to one server: the file, the device's vendor and MAC
 * (MinimalConfig.device offers templates nothing else), the label (the
 * state), the emergency numbers (the global ones, or with the site's) and
 * the per-device SIP credentials. The rest (papgate's SIP address, hot-line,
 * interval, URL) are the settings of the one Provisioning a server serves.
 * A changed device is a new key, a deleted one is never looked up again (its
 * MAC is unknown first). Full configurations are never kept: each carries a
 * new identity secret.
 */

/** Files kept (about 1.5 KB each); the oldest goes first. */
const MAX_FILES = 10_000;
/** Slots of the doorkeeper (a power of two). */
const DOOR_SLOTS = 4096;

export class MinimalFiles {
  private readonly files = new Map<string, RenderedFile>();
  /**
   * Keeping a file costs more than rendering it (about 6 us against 3: it
   * outlives young-generation collections), and a phone asking for the
   * first time, or a flood of first contacts, rarely asks again soon. So a
   * file is kept only when its key was seen before: each slot remembers the
   * hash of the last key that missed there. No allocation, and a collision
   * only keeps or skips one file more.
   */
  private readonly door = new Uint32Array(DOOR_SLOTS);
  private readonly listKeys = new WeakMap<readonly string[], string>();

  constructor(private readonly max = MAX_FILES) {}

  render(file: DeviceFile, cfg: MinimalConfig): RenderedFile {
    const { username, password } = cfg.sip;
    // The user name's length makes the split between user name and password unambiguous.
    const key = `${file}\n${cfg.device.vendor}\n${cfg.device.mac}\n${cfg.label}\n${this.listKey(cfg.emergencyNumbers)}\n${username.length}:${username}${password}`;
    const hit = this.files.get(key);
    if (hit !== undefined) return hit;
    const rendered = renderDeviceFile(file, cfg);
    if (this.seenBefore(key)) {
      if (this.files.size >= this.max) this.files.delete(this.files.keys().next().value!);
      this.files.set(key, rendered);
    }
    return rendered;
  }

  /** The emergency numbers as part of a key; provisioning.ts passes the same array for the same list. */
  private listKey(numbers: readonly string[]): string {
    let key = this.listKeys.get(numbers);
    if (key === undefined) {
      key = numbers.join(',');
      this.listKeys.set(numbers, key);
    }
    return key;
  }

  private seenBefore(key: string): boolean {
    const h = fnv1a(key);
    const slot = h & (DOOR_SLOTS - 1);
    if (this.door[slot] === h) return true;
    this.door[slot] = h;
    return false;
  }
}

/** 32-bit FNV-1a of the UTF-16 code units. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
