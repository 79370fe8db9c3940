import ipaddr from 'ipaddr.js';
import { canonicalIp, parseAllowEntry, parseIp } from '../domain/trust';

/**
 * Which address a provisioning request comes from. Trust decisions hang on
 * it, so X-Forwarded-For counts only when the socket peer is one of our own
 * reverse proxies, and then only up to the right-most hop that is not.
 */

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** More hops than any real proxy chain: refuse rather than walk them. */
const MAX_HOPS = 32;

export class ClientAddress {
  private readonly proxies: Range[];

  /** `trustedProxies`: IPs or CIDRs; a bad entry throws PapgateError 'invalid' (a start-up error). */
  constructor(trustedProxies: readonly string[]) {
    this.proxies = trustedProxies.map((entry) => ipaddr.parseCIDR(parseAllowEntry(entry, 'trustedProxies').cidr));
  }

  private isProxy(addr: ipaddr.IPv4 | ipaddr.IPv6): boolean {
    return this.proxies.some(([net, len]) => net.kind() === addr.kind() && addr.match(net, len));
  }

  /** Whether `address` is one of the trusted proxies (its connections carry many clients). */
  isProxyAddress(address: string): boolean {
    const peer = parseIp(address);
    return peer !== null && this.isProxy(peer);
  }

  /**
   * The client's canonical IP, or null when it cannot be told: no socket
   * address, or a trusted proxy sent an X-Forwarded-For we cannot read.
   */
  resolve(socketAddress: string | undefined, forwardedFor: string | string[] | undefined): string | null {
    const peer = socketAddress === undefined ? null : parseIp(socketAddress);
    if (!peer) return null;
    // canonicalIp: the same parse, remembered with its text (trust.ts).
    if (forwardedFor === undefined || !this.isProxy(peer)) return canonicalIp(socketAddress!);
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '');
    if (hops.length === 0) return peer.toString();
    if (hops.length > MAX_HOPS) return null;
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parseIp(hops[i]!);
      if (!hop) return null;
      client = hop;
      if (!this.isProxy(hop)) break;
    }
    return client.toString();
  }
}
