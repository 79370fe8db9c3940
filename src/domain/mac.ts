import { invalid } from './errors';

/** What we tell a person whose MAC we could not read (section 2 of docs/behaviour.md). */
export const MAC_HELP = 'a MAC address is 12 hexadecimal digits, e.g. 1a2b3c4d5e6f, 1a:2b:3c:4d:5e:6f, 1A-2B-3C-4D-5E-6F or 1a2b.3c4d.5e6f';

const HEX2 = '[0-9a-fA-F]{2}';
/** The accepted spellings: plain, colon-, dash- or dot-separated (Cisco style). */
export const MAC_PATTERN = new RegExp(`^(?:[0-9a-fA-F]{12}|${HEX2}(?::${HEX2}){5}|${HEX2}(?:-${HEX2}){5}|[0-9a-fA-F]{4}(?:\\.[0-9a-fA-F]{4}){2})$`);

/** Parses any accepted spelling into the canonical form: 12 lower-case hex digits. */
export function parseMac(input: unknown, field = 'mac'): string {
  if (typeof input !== 'string') throw invalid(field, `${field} is missing: ${MAC_HELP}`);
  const text = input.trim();
  if (text.length > 32 || !MAC_PATTERN.test(text)) {
    throw invalid(field, `"${text.slice(0, 32)}" is not a MAC address: ${MAC_HELP}`);
  }
  const mac = text.replace(/[^0-9a-f]/gi, '').toLowerCase();
  if (mac === '000000000000') throw invalid(field, 'the all-zero MAC address 00:00:00:00:00:00 is not a device');
  if (mac === 'ffffffffffff') throw invalid(field, 'the broadcast MAC address ff:ff:ff:ff:ff:ff is not a device');
  // The least significant bit of the first octet marks a group (multicast) address.
  if (parseInt(mac.slice(0, 2), 16) & 1) {
    throw invalid(field, `${formatMac(mac)} is a multicast address, not a device's MAC`);
  }
  return mac;
}

/** Returns the canonical MAC if `input` is one, else null (no exception). */
export function tryParseMac(input: string): string | null {
  try {
    return parseMac(input);
  } catch {
    return null;
  }
}

/** `mac` (canonical) in pairs of digits; slices, not a regular expression: templates call it on every request. */
export function formatMac(mac: string, separator: ':' | '-' | '' = ':', upper = false): string {
  const s =
    separator === ''
      ? mac
      : `${mac.slice(0, 2)}${separator}${mac.slice(2, 4)}${separator}${mac.slice(4, 6)}${separator}` +
        `${mac.slice(6, 8)}${separator}${mac.slice(8, 10)}${separator}${mac.slice(10, 12)}`;
  return upper ? s.toUpperCase() : s;
}
