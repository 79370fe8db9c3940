import type { MinimalConfig } from '../app/provisioning';
import { MinimalStencil } from './minimal-stencil';
import type { DeviceFile } from './routes';
import { renderDeviceFile, type RenderedFile } from './templates';

/**
 * The minimal files a provisioning server sends, filled in from stencils
 * (minimal-stencil.ts): one per shape, so a first contact runs no template.
 *
 * A shape is everything a minimal file is made of that can differ between
 * two requests to one server, except the device's MAC and SIP credentials:
 * the file, the vendor, the label (the state) and the emergency numbers
 * (the global ones, or with the site's). The rest (papgate's SIP address,
 * hot-line, interval, URL) are the settings of the one Provisioning a server
 * serves. Full configurations are never stencilled: each carries a new
 * identity secret and the device's own lines.
 *
 * Earlier, whole files of devices polling again were kept instead: keeping
 * a file cost more than filling a stencil does, and a flood of first
 * contacts found none.
 */

/** Shapes kept (a handful per vendor and state; sites with emergency numbers of their own add theirs); the oldest goes first. */
const MAX_SHAPES = 1_000;

export class MinimalFiles {
  /** Null: this shape's template cannot be stencilled, it is rendered each time. */
  private readonly stencils = new Map<string, MinimalStencil | null>();
  private readonly listKeys = new WeakMap<readonly string[], string>();

  constructor(private readonly maxShapes = MAX_SHAPES) {}

  render(file: DeviceFile, cfg: MinimalConfig): RenderedFile {
    const shape = `${file}\n${cfg.device.vendor}\n${cfg.label}\n${this.listKey(cfg.emergencyNumbers)}`;
    let stencil = this.stencils.get(shape);
    if (stencil === undefined) {
      stencil = MinimalStencil.cut(renderDeviceFile, file, cfg);
      if (this.stencils.size >= this.maxShapes) this.stencils.delete(this.stencils.keys().next().value!);
      this.stencils.set(shape, stencil);
    }
    return stencil?.fill(cfg.device.mac, cfg.sip.username, cfg.sip.password) ?? renderDeviceFile(file, cfg);
  }

  /** Shapes kept, stencilled or not (tests). */
  get shapes(): number {
    return this.stencils.size;
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
}
