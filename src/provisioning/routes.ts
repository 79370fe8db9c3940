import { tryParseMac } from '../domain/mac';
import type { Vendor } from '../domain/types';

/**
 * Maps the path a phone asks for to what it means (docs/phones.md).
 * Pure: no I/O. Anything that is not exactly one of the vendor file names,
 * optionally under `/p/<secret>/`, is refused here, before any lookup.
 */

/** Files that name one device by its MAC. */
export type DeviceFile =
  | 'mac.cfg' // Yealink, Patton config; Poly master config
  | 'mac-phone.cfg' // Poly settings file
  | 'mac.xml' // snom, Gigaset, Cisco SPA / Linksys
  | 'snom-model-mac.htm' // snom
  | 'ConfigMAC.cfg'; // Panasonic

/** Files shared by every device of a vendor or model: served without a lookup, they hold no device data. */
export type CommonFile =
  | 'yealink-model.cfg' // y0000000000XX.cfg
  | 'poly-master.cfg' // 000000000000.cfg
  | 'spa-model.cfg'; // spa<model>.cfg

export type Route =
  | { kind: 'device'; mac: string; vendors: readonly Vendor[]; file: DeviceFile; secret: string | null }
  | { kind: 'common'; vendors: readonly Vendor[]; file: CommonFile }
  | { kind: 'reject'; status: 400 | 404 | 414; reason: string };

/** Longest request target accepted (path and query). */
export const MAX_URL_LENGTH = 512;

interface Pattern<F> {
  re: RegExp;
  file: F;
  vendors: readonly Vendor[];
}

// Common files first: 000000000000.cfg would otherwise read as a (refused) MAC.
const COMMON_FILES: readonly Pattern<CommonFile>[] = [
  { re: /^y\d{12}\.cfg$/i, file: 'yealink-model.cfg', vendors: ['yealink'] },
  { re: /^0{12}\.cfg$/, file: 'poly-master.cfg', vendors: ['poly'] },
  { re: /^spa[0-9a-z]{2,8}\.cfg$/i, file: 'spa-model.cfg', vendors: ['cisco', 'linksys'] },
];

const DEVICE_FILES: readonly Pattern<DeviceFile>[] = [
  { re: /^([0-9a-f]{12})\.cfg$/i, file: 'mac.cfg', vendors: ['yealink', 'poly', 'patton'] },
  { re: /^([0-9a-f]{12})-phone\.cfg$/i, file: 'mac-phone.cfg', vendors: ['poly'] },
  { re: /^([0-9a-f]{12})\.xml$/i, file: 'mac.xml', vendors: ['snom', 'gigaset', 'cisco', 'linksys'] },
  { re: /^snom[0-9a-z]{2,12}-([0-9a-f]{12})\.htm$/i, file: 'snom-model-mac.htm', vendors: ['snom'] },
  { re: /^config([0-9a-f]{12})\.cfg$/i, file: 'ConfigMAC.cfg', vendors: ['panasonic'] },
];

/** Characters a path may hold: phones ask for plain file names, secrets are base64url. */
const PATH_CHARS = /^[A-Za-z0-9._\-/]+$/;
/** A query is ignored, but it must at least be well-formed (RFC 3986 characters, valid escapes). */
const QUERY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;

const reject = (status: 400 | 404 | 414, reason: string): Route => ({ kind: 'reject', status, reason });

/** Routes a raw request target such as `/p/<secret>/001565aabbcc.cfg?x=1`. */
export function routeRequest(target: string): Route {
  if (target.length > MAX_URL_LENGTH) return reject(414, 'request target too long');
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (q !== -1 && !QUERY.test(target.slice(q + 1))) return reject(400, 'malformed query');
  if (!path.startsWith('/') || !PATH_CHARS.test(path)) return reject(400, 'malformed path');

  // Phones join a base URL ending in '/' with '/<file>': collapse the double slash.
  const segments = path.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..')) return reject(400, 'malformed path');

  let secret: string | null = null;
  let name: string;
  if (segments.length === 1) {
    name = segments[0]!;
  } else if (segments.length === 3 && segments[0] === 'p') {
    secret = segments[1]!;
    name = segments[2]!;
  } else {
    return reject(404, 'not found');
  }

  for (const p of COMMON_FILES) {
    if (p.re.test(name)) return { kind: 'common', vendors: p.vendors, file: p.file };
  }
  for (const p of DEVICE_FILES) {
    const m = p.re.exec(name);
    if (!m) continue;
    const mac = tryParseMac(m[1]!);
    // Zero, broadcast and multicast addresses are never devices: unknown, like any MAC we do not have (docs/behaviour.md section 7, rule 1).
    if (mac === null) return reject(404, 'not found');
    return { kind: 'device', mac, vendors: p.vendors, file: p.file, secret };
  }
  return reject(404, 'not found');
}

/**
 * The request target for logs: the segment after `p` and anything else shaped
 * like a secret is blanked out, the query dropped (it may hold anything).
 */
export function maskTarget(target: string): string {
  const q = target.indexOf('?');
  const path = (q === -1 ? target : target.slice(0, q)).slice(0, MAX_URL_LENGTH);
  const segments = path.split('/');
  const masked = segments.map((s, i) => (s !== '' && (segments[i - 1] === 'p' || /^[A-Za-z0-9_-]{16,}$/.test(s)) ? '***' : s)).join('/');
  return q === -1 ? masked : `${masked}?…`;
}
