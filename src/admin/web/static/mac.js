// MAC addresses as section 2 of docs/behaviour.md (and src/domain/mac.ts) accept them; the
// server checks again, this only answers while the operator types.

export const MAC_HELP = 'a MAC address is 12 hexadecimal digits, e.g. 1a2b3c4d5e6f, 1a:2b:3c:4d:5e:6f, 1A-2B-3C-4D-5E-6F or 1a2b.3c4d.5e6f';

const FORMS = [/^[0-9a-f]{12}$/i, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i, /^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/i, /^[0-9a-f]{4}(\.[0-9a-f]{4}){2}$/i];

/** {mac} with the canonical 12 lower-case hex digits, or {error} in the server's words. */
export function checkMac(input) {
  const text = String(input ?? '').trim();
  if (text === '') return { error: `mac is missing: ${MAC_HELP}` };
  if (text.length > 32 || !FORMS.some((re) => re.test(text))) {
    return { error: `"${text.slice(0, 32)}" is not a MAC address: ${MAC_HELP}` };
  }
  const mac = text.replace(/[^0-9a-f]/gi, '').toLowerCase();
  if (mac === '000000000000') return { error: 'the all-zero MAC address 00:00:00:00:00:00 is not a device' };
  if (mac === 'ffffffffffff') return { error: 'the broadcast MAC address ff:ff:ff:ff:ff:ff is not a device' };
  // The least significant bit of the first octet marks a group (multicast) address.
  if (parseInt(mac.slice(0, 2), 16) & 1) return { error: `${formatMac(mac)} is a multicast address, not a device's MAC` };
  return { mac };
}

export function formatMac(mac) {
  return mac.match(/.{2}/g).join(':');
}

/**
 * What to look for when searching by MAC: the hex digits of any accepted
 * spelling, lower case (so "1A-2B" finds 1a2b3c4d5e6f). Null when the text
 * holds anything but hex digits and the separators : - .
 */
export function macSearchKey(input) {
  const text = String(input ?? '').trim();
  if (!/^[0-9a-f:.\-\s]*$/i.test(text)) return null;
  return text.replace(/[^0-9a-f]/gi, '').toLowerCase();
}
