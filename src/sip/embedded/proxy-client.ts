import ipaddr from 'ipaddr.js';
import { canonicalIp, parseAllowEntry, parseIp } from '../../domain/trust';
import type { ViaHeader } from './sip-lib';

/**
 * The phone's own address when a request came through one of our SIP proxies
 * (Kamailio in front of several nodes). Trust windows hang on it, so the Vias
 * count only when the packet itself came from a configured proxy, and then
 * only down to the first hop that is not one: like X-Forwarded-For on the
 * provisioning side. Each hop is its Via's `received` (RFC 3261 18.2.1: set
 * when the sent-by address was not where the request came from), else its
 * sent-by host.
 */

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

export class SipProxies {
  private readonly ranges: Range[];

  /** IPs or CIDRs; a bad entry throws (a start-up error). */
  constructor(entries: readonly string[]) {
    this.ranges = entries.map((e) => ipaddr.parseCIDR(parseAllowEntry(e, 'sipTrustedProxies').cidr));
  }

  /** The client address behind our proxies, or undefined when the packet did not come from one (or no Via says). */
  clientBehind(peerAddress: string, vias: readonly ViaHeader[] | undefined): string | undefined {
    if (this.ranges.length === 0 || !this.isProxy(peerAddress) || !vias) return undefined;
    // vias[0] is the proxy's own; walk down while the hops are proxies too.
    for (let i = 1; i < vias.length && i < 32; i++) {
      const v = vias[i]!;
      const hop = typeof v.params.received === 'string' && v.params.received ? v.params.received : v.host;
      const ip = canonicalIp(hop.replace(/^\[|\]$/g, ''));
      if (!ip) return undefined; // a host name: not an address we can trust a window to
      if (!this.isProxy(ip)) return ip;
    }
    return undefined;
  }

  private isProxy(address: string): boolean {
    const a = parseIp(address);
    return !!a && this.ranges.some(([net, len]) => net.kind() === a.kind() && a.match(net, len));
  }
}
