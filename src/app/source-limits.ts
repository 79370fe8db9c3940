import { KeyedRateLimiter, sourceKey } from '../domain/rate-limit';
import { canonicalIp, isTrusted, parseAllowEntry } from '../domain/trust';
import type { AllowEntry } from '../domain/types';
import type { Clock } from '../ports/clock';

/**
 * Per-source rate limits shared by both SIP stacks, the call handler and the
 * provisioning server, so a flood from one address cannot starve the rest.
 * Every rate of 0 turns that limit off. Sources in `exempt` are never
 * limited. Emergency calls are never passed through here (callers skip them).
 */

export interface SourceLimitSettings {
  /** New SIP requests per second per source (sustained), and the burst on top. */
  sipRequestsPerSecond: number;
  sipRequestsBurst: number;
  /** New IVR calls per minute per source address, and per device. */
  ivrCallsPerMinutePerSource: number;
  ivrCallsPerMinutePerDevice: number;
  /** Provisioning 404s per minute per source (sustained), and the burst on top. */
  provisioning404PerMinute: number;
  provisioning404Burst: number;
  /** Provisioning requests per second per source, whatever their answer (sustained), and the burst on top; new connections have a budget of twice that. */
  provisioningPerSecond: number;
  provisioningBurst: number;
  /** Sources (and devices) remembered per limit: bounds the memory a flood of addresses can take. */
  maxSources: number;
  /** IPs or CIDRs never limited (a site's own NAT, a monitoring host). */
  exempt: readonly string[];
}

export type LimitName =
  'sip_requests' | 'ivr_calls_source' | 'ivr_calls_device' | 'provisioning_404' | 'provisioning_requests' | 'provisioning_new_connections';

/** What to do with a new SIP request. */
export type SipVerdict =
  | { kind: 'pass' }
  /** Answer 503 with Retry-After. */
  | { kind: 'refuse'; retryAfterSeconds: number }
  /** Far over the limit: even the 503s are rationed, so stay silent. */
  | { kind: 'drop' };

export type IvrVerdict = { kind: 'pass' } | { kind: 'refuse'; status: 486 | 503; limit: LimitName };

export type RefusalAction = 'answered' | 'dropped';

const PASS = { kind: 'pass' } as const;

export class SourceLimits {
  private readonly sip: KeyedRateLimiter | null;
  /** The 503s a source may get; past them it hears nothing. */
  private readonly sipRefusals: KeyedRateLimiter | null;
  private readonly ivrSource: KeyedRateLimiter | null;
  private readonly ivrDevice: KeyedRateLimiter | null;
  private readonly notFound: KeyedRateLimiter | null;
  private readonly provisioningRequests: KeyedRateLimiter | null;
  private readonly provisioningConnections: KeyedRateLimiter | null;
  private readonly exempt: readonly AllowEntry[];

  constructor(
    s: SourceLimitSettings,
    private readonly clock: Clock,
    private readonly onRefused: (limit: LimitName, action: RefusalAction) => void = () => undefined,
  ) {
    const maxKeys = s.maxSources;
    const limiter = (perSecond: number, burst: number) => (perSecond > 0 ? new KeyedRateLimiter({ perSecond, burst: Math.max(1, burst), maxKeys }) : null);
    this.sip = limiter(s.sipRequestsPerSecond, s.sipRequestsBurst);
    this.sipRefusals = limiter(s.sipRequestsPerSecond, s.sipRequestsPerSecond);
    this.ivrSource = limiter(s.ivrCallsPerMinutePerSource / 60, s.ivrCallsPerMinutePerSource);
    this.ivrDevice = limiter(s.ivrCallsPerMinutePerDevice / 60, s.ivrCallsPerMinutePerDevice);
    this.notFound = limiter(s.provisioning404PerMinute / 60, s.provisioning404Burst);
    this.provisioningRequests = limiter(s.provisioningPerSecond, s.provisioningBurst);
    // Twice the requests': a client that opens a connection for each request meets the request budget (429 and Retry-After) first.
    this.provisioningConnections = limiter(2 * s.provisioningPerSecond, 2 * s.provisioningBurst);
    this.exempt = s.exempt.map((e) => Object.freeze({ tenantId: 0, cidr: parseAllowEntry(e, 'exempt').cidr, createdAt: 0 }));
  }

  /** A new SIP request (not a retransmission, not in a dialog, not an emergency call) from `address`. */
  sipRequest(address: string): SipVerdict {
    const key = this.keyOf(address);
    if (!this.sip || key === null) return PASS;
    const now = this.clock.now();
    const t = this.sip.take(key, now);
    if (t.allowed) return PASS;
    if (this.sipRefusals!.take(key, now).allowed) {
      this.onRefused('sip_requests', 'answered');
      return { kind: 'refuse', retryAfterSeconds: seconds(t.retryAfterMs) };
    }
    this.onRefused('sip_requests', 'dropped');
    return { kind: 'drop' };
  }

  /** A new IVR call (not an emergency call) from `address` for the device `mac`. */
  ivrCall(address: string, mac: string): IvrVerdict {
    const key = this.keyOf(address);
    if (key === null) return PASS;
    const now = this.clock.now();
    // Both budgets are checked before either is spent: a refused call costs nothing.
    // The device's first, so one phone hammering its PIN does not use up its NAT's budget.
    if (this.ivrDevice && this.ivrDevice.wait(mac, now) > 0) return this.refuseIvr('ivr_calls_device', 486);
    if (this.ivrSource && this.ivrSource.wait(key, now) > 0) return this.refuseIvr('ivr_calls_source', 503);
    this.ivrDevice?.take(mac, now);
    this.ivrSource?.take(key, now);
    return PASS;
  }

  /**
   * A provisioning request of `address`: seconds it must wait, or 0 (then it
   * is counted). It waits when it collected too many misses (404s, refused
   * secrets), or sent more requests than its budget. While it waits, every
   * request of it gets 429, for a known MAC as for an unknown one, so the
   * answers tell nothing.
   */
  provisioningWait(address: string): number {
    const key = this.keyOf(address);
    if (key === null) return 0;
    const now = this.clock.now();
    const missesMs = this.notFound?.wait(key, now) ?? 0;
    if (missesMs > 0) {
      this.onRefused('provisioning_404', 'answered');
      return seconds(missesMs);
    }
    const t = this.provisioningRequests?.take(key, now);
    if (t === undefined || t.allowed) return 0;
    this.onRefused('provisioning_requests', 'answered');
    return seconds(t.retryAfterMs);
  }

  /**
   * A new connection to the provisioning port from `address`: false when
   * the source opened more than its budget (twice the request budget, kept
   * apart). Over TLS each connection costs a handshake before any request
   * is read, so a source that connects and closes in a loop is held here.
   */
  provisioningConnection(address: string): boolean {
    const key = this.keyOf(address);
    if (!this.provisioningConnections || key === null) return true;
    if (this.provisioningConnections.take(key, this.clock.now()).allowed) return true;
    this.onRefused('provisioning_new_connections', 'dropped');
    return false;
  }

  /** A provisioning request of `address` was answered 404. */
  provisioningNotFound(address: string): void {
    const key = this.keyOf(address);
    if (this.notFound && key !== null) this.notFound.take(key, this.clock.now());
  }

  private refuseIvr(limit: LimitName, status: 486 | 503): IvrVerdict {
    this.onRefused(limit, 'answered');
    return { kind: 'refuse', status, limit };
  }

  /** The key a source counts under (an IPv4 address, an IPv6 /64), or null when it is exempt. */
  keyOf(address: string): string | null {
    const ip = canonicalIp(address) ?? address;
    if (this.exempt.length > 0 && isTrusted(ip, this.exempt, [], 0)) return null;
    return sourceKey(ip);
  }
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
