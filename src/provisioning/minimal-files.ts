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
 * state) and the per-device SIP credentials. The rest (papgate's SIP address,
 * emergency numbers, hot-line, interval, URL) are the settings of the one
 * Provisioning a server serves. A changed device is a new key, a deleted one
 * is never looked up again (its MAC is unknown first). Full configurations
 * are never kept: each carries a new identity secret.
 */

/** Files kept (about 1.5 KB each); the oldest goes first. */
const MAX_FILES = 10_000;

export class MinimalFiles {
  private readonly files = new Map<string, RenderedFile>();

  constructor(private readonly max = MAX_FILES) {}

  render(file: DeviceFile, cfg: MinimalConfig): RenderedFile {
    const { username, password } = cfg.sip;
    // The user name's length makes the split between user name and password unambiguous.
    const key = `${file}\n${cfg.device.vendor}\n${cfg.device.mac}\n${cfg.label}\n${username.length}:${username}${password}`;
    const hit = this.files.get(key);
    if (hit !== undefined) return hit;
    const rendered = renderDeviceFile(file, cfg);
    if (this.files.size >= this.max) this.files.delete(this.files.keys().next().value!);
    this.files.set(key, rendered);
    return rendered;
  }
}
