import ipaddr from 'ipaddr.js';
import { invalid } from './errors';
import type { AllowEntry, TemporaryTrust } from './types';

/** Trusted networks of section 6 of docs/behaviour.md: permanent allow-list entries and temporary windows, per tenant. */

export interface ParsedAllowEntry {
  /** Canonical CIDR (a single address becomes /32 or /128). */
  cidr: string;
  /** Set when the range is suspiciously wide; the entry is still accepted. */
  warning?: string;
}

/** Widest ranges accepted without a warning. */
const WARN_BELOW = { ipv4: 16, ipv6: 48 } as const;

const HELP = 'an IPv4 or IPv6 address, or a CIDR range such as 203.0.113.0/24 or 2001:db8::/48';

interface ParsedIp {
  addr: ipaddr.IPv4 | ipaddr.IPv6;
  /** Canonical text. */
  text: string;
}

/**
 * Addresses parsed lately. The provisioning path parses the same client
 * address three times per request (socket address, canonical form, trust
 * check), and phones come back from the same few addresses. Bounded; long
 * strings (never an address) are not kept.
 */
const recent = new Map<string, ParsedIp | null>();
const RECENT_MAX = 4096;
const RECENT_MAX_LENGTH = 64;

function parseCached(text: string): ParsedIp | null {
  const hit = recent.get(text);
  if (hit !== undefined) return hit;
  const addr = parseUncached(text);
  const result = addr && { addr, text: addr.toString() };
  if (text.length <= RECENT_MAX_LENGTH) {
    if (recent.size >= RECENT_MAX) recent.clear();
    recent.set(text, result);
  }
  return result;
}

function parseUncached(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const t = text.trim();
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(t)) addr = ipaddr.IPv4.parse(t);
  else if (t.includes(':') && ipaddr.IPv6.isValid(t) && !t.includes('%')) addr = ipaddr.IPv6.parse(t);
  else return null;
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (addr as ipaddr.IPv6).toIPv4Address();
  }
  return addr;
}

/**
 * Parses an address into its canonical form; IPv4-mapped IPv6 (::ffff:a.b.c.d)
 * becomes IPv4. The object may be shared with other callers: do not modify it.
 */
export function parseIp(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  return parseCached(text)?.addr ?? null;
}

/** Canonical text of a client address (for trust windows and audit), or null if it is not an IP. */
export function canonicalIp(text: string): string | null {
  return parseCached(text)?.text ?? null;
}

/** Validates an allow-list entry strictly: no host bits set, no /0, no garbage. */
export function parseAllowEntry(input: unknown, field = 'cidr'): ParsedAllowEntry {
  if (typeof input !== 'string' || input.trim() === '') throw invalid(field, `${field} is missing: ${HELP}`);
  const text = input.trim();
  if (text.length > 64) throw invalid(field, `"${text.slice(0, 64)}…" is too long to be ${HELP}`);
  const [addrText, prefixText, extra] = text.split('/');
  if (extra !== undefined) throw invalid(field, `"${text}" is not ${HELP}`);
  const addr = parseIp(addrText!);
  if (!addr) throw invalid(field, `"${text}" is not ${HELP}`);
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      throw invalid(field, `"${text}": the prefix length must be a number from 1 to ${max}`);
    }
    prefix = Number(prefixText);
  }
  if (prefix === 0) throw invalid(field, `"${text}" would trust every address on the internet`);
  const network = ipaddr.parse(networkAddress(addr, prefix));
  if (network.toString() !== addr.toString()) {
    throw invalid(field, `"${text}" has host bits set: did you mean ${network.toString()}/${prefix}?`);
  }
  const cidr = `${addr.toString()}/${prefix}`;
  const limit = WARN_BELOW[addr.kind()];
  const warning =
    prefix < limit
      ? `${cidr} is a very wide range (${addr.kind() === 'ipv4' ? 2 ** (32 - prefix) : `2^${128 - prefix}`} addresses): every phone in it skips the PAP`
      : undefined;
  return warning ? { cidr, warning } : { cidr };
}

function networkAddress(addr: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): string {
  const bytes = addr.toByteArray();
  for (let bit = prefix; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return ipaddr.fromByteArray(bytes).toString();
}

type Network = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Parsed ranges by entry object. Stores hand out the same (frozen) entry
 * objects until the list changes, so a range is parsed once per change of
 * the list rather than on every request; entries that are dropped are
 * collected with their ranges. The text is kept to notice an entry object
 * that was edited in place (a caller's own, unfrozen one).
 */
const parsed = new WeakMap<AllowEntry, { cidr: string; network: Network }>();

function networkOf(e: AllowEntry): Network {
  const hit = parsed.get(e);
  if (hit !== undefined && hit.cidr === e.cidr) return hit.network;
  const network = ipaddr.parseCIDR(e.cidr);
  parsed.set(e, { cidr: e.cidr, network });
  return network;
}

/** True when `ip` lies in a permanent entry or has an open temporary window (the caller scopes both to one tenant). */
export function isTrusted(ip: string, permanent: readonly AllowEntry[], temporary: readonly TemporaryTrust[], now: number): boolean {
  const p = parseCached(ip);
  if (!p) return false;
  const { addr, text: canonical } = p;
  if (temporary.some((t) => t.until > now && t.ip === canonical)) return true;
  for (const e of permanent) {
    const [net, len] = networkOf(e);
    if (net.kind() === addr.kind() && addr.match(net, len)) return true;
  }
  return false;
}
