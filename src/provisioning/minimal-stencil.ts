import type { MinimalConfig } from '../app/provisioning';
import { formatMac } from '../domain/mac';
import type { DeviceFile } from './routes';
import type { RenderedFile } from './templates';

/**
 * A minimal file with holes where the device's own values go.
 *
 * Two phones of one vendor, asking for the same file in the same state,
 * get minimal files that differ only in their MAC (in whichever spellings
 * the vendor's format uses) and their SIP user name and password. A stencil
 * is such a file rendered once with probe values, cut where they stand;
 * filling it in is a few string joins instead of a template run, which
 * with what it cost the rest of the request was about a quarter of a first
 * contact's CPU time (bench/README.md).
 *
 * A stencil is only trusted when it proves itself: rendering the template
 * with a second set of probe values, of other lengths, must give exactly
 * what filling the stencil gives. A template whose output depends on the
 * values in any other way (a length, a branch) fails this and is always
 * rendered. Credentials are only filled in when they hold characters that
 * no vendor's escaping changes; anything else is rendered too.
 */

/** User names and passwords a stencil may hold as they are: every escaper in templates/escape.ts leaves these alone. */
const PLAIN = /^[A-Za-z0-9._-]{1,128}$/;

/** The spellings of a MAC that vendor formats use. */
const MAC_FORMS: ReadonlyArray<(mac: string) => string> = [
  (m) => m,
  (m) => m.toUpperCase(),
  (m) => formatMac(m, ':'),
  (m) => formatMac(m, ':', true),
  (m) => formatMac(m, '-'),
  (m) => formatMac(m, '-', true),
];

/** Holes: the user name, the password, or the MAC in one of MAC_FORMS (2 + its index). */
type Hole = number;
const USER = 0;
const PASSWORD = 1;

/** Probe values: unicast MACs, each value unlike anything a template writes by itself, and no one inside another. */
const PROBES = [
  { mac: 'a6c3e9f1b5d2', username: 'Zq4userXw8', password: 'Jx7passVk2Lm9' },
  { mac: 'b2d6f8a4c1e9', username: 'Pq3usernameRt5', password: 'Hw2pwY' },
] as const;

export type Render = (file: DeviceFile, cfg: MinimalConfig) => RenderedFile;

export class MinimalStencil {
  private constructor(
    private readonly contentType: string,
    /** Text between the holes: one more than holes. */
    private readonly parts: readonly string[],
    private readonly holes: readonly Hole[],
  ) {}

  /** The stencil of this file for devices like `cfg`'s, or null when the template cannot be cut this way. */
  static cut(render: Render, file: DeviceFile, cfg: MinimalConfig): MinimalStencil | null {
    const [a, b] = PROBES;
    const probeA = render(file, withDevice(cfg, a.mac, a.username, a.password));
    const found = new Map<string, Hole>([
      [a.username, USER],
      [a.password, PASSWORD],
    ]);
    MAC_FORMS.forEach((form, i) => found.set(form(a.mac), 2 + i));
    const pattern = new RegExp([...found.keys()].map(escapeRegExp).join('|'), 'g');
    const parts: string[] = [];
    const holes: Hole[] = [];
    let last = 0;
    for (const m of probeA.body.matchAll(pattern)) {
      parts.push(probeA.body.slice(last, m.index));
      holes.push(found.get(m[0])!);
      last = m.index + m[0].length;
    }
    parts.push(probeA.body.slice(last));
    const stencil = new MinimalStencil(probeA.contentType, parts, holes);
    const probeB = render(file, withDevice(cfg, b.mac, b.username, b.password));
    const filled = stencil.fill(b.mac, b.username, b.password);
    return filled !== null && filled.body === probeB.body && filled.contentType === probeB.contentType ? stencil : null;
  }

  /** The file for this device; null when its credentials hold characters the stencil cannot take as they are. */
  fill(mac: string, username: string, password: string): RenderedFile | null {
    if (!PLAIN.test(username) || !PLAIN.test(password)) return null;
    const { parts, holes } = this;
    let body = parts[0]!;
    for (let i = 0; i < holes.length; i++) {
      const hole = holes[i]!;
      body += (hole === USER ? username : hole === PASSWORD ? password : MAC_FORMS[hole - 2]!(mac)) + parts[i + 1]!;
    }
    return { contentType: this.contentType, body };
  }
}

function withDevice(cfg: MinimalConfig, mac: string, username: string, password: string): MinimalConfig {
  return { ...cfg, device: { ...cfg.device, mac }, sip: { ...cfg.sip, username, password } };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
