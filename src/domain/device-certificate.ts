import { tryParseMac } from './mac';

/**
 * Which MACs a device certificate names. Desk phones ship a factory
 * certificate whose subject CN or a subjectAltName carries the MAC, in many
 * spellings: `001565AABBCC`, `00:15:65:aa:bb:cc`, `0015.65aa.bbcc`, or inside
 * a longer name (`SEP001565AABBCC`, `urn:dev:mac:001565aabbcc`,
 * `001565aabbcc.phones.example`). Pure: the caller has already verified the
 * certificate against the configured CA.
 */

export interface CertificateNames {
  /** The subject CN values (a subject may hold several). */
  commonNames: readonly string[];
  /** The subjectAltName as Node renders it: `DNS:a, URI:b, IP Address:c`. */
  subjectAltName: string | undefined;
}

// Twelve hex digits, plain or in the colon, dash or Cisco dotted form, not part of a longer hex run
// (an EUI-64 or an IPv6 address); `mac:00:15:..` still reads, `aa:00:15:..` does not.
const MAC_IN_TEXT = new RegExp(
  [
    '[0-9a-f]{12}(?![0-9a-f])',
    '(?<!(?:^|[^0-9a-z])[0-9a-f]{2}:)[0-9a-f]{2}(?::[0-9a-f]{2}){5}(?![0-9a-f]|:[0-9a-f])',
    '(?<!(?:^|[^0-9a-z])[0-9a-f]{2}-)[0-9a-f]{2}(?:-[0-9a-f]{2}){5}(?![0-9a-f]|-[0-9a-f])',
    '(?<![0-9a-f]\\.)[0-9a-f]{4}(?:\\.[0-9a-f]{4}){2}(?![0-9a-f]|\\.[0-9a-f])',
  ]
    .map((form) => `(?<![0-9a-f])${form}`)
    .join('|'),
  'gi',
);

/** Names longer than this are not looked at (no phone has one; it bounds the work). */
const MAX_NAME_LENGTH = 1024;

/** The canonical MACs (12 lower-case hex digits) the certificate names, without duplicates. */
export function macsInCertificate(names: CertificateNames): string[] {
  const texts = [...names.commonNames, ...sanEntries(names.subjectAltName)];
  const macs = new Set<string>();
  for (const text of texts) {
    if (text.length > MAX_NAME_LENGTH) continue;
    for (const m of text.matchAll(MAC_IN_TEXT)) {
      const mac = tryParseMac(m[0]);
      if (mac !== null) macs.add(mac);
    }
  }
  return [...macs];
}

/** The SAN entries that can name a device: IP addresses cannot, and IPv6 ones look like hex. */
function sanEntries(san: string | undefined): string[] {
  if (!san || san.length > 8 * MAX_NAME_LENGTH) return [];
  return san.split(/,\s*/).filter((entry) => !entry.startsWith('IP Address:'));
}
