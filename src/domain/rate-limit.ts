/**
 * Token buckets per key (a source address, a device), pure: the caller
 * passes the time. A bucket holds up to `burst` tokens and gains `perSecond`
 * tokens a second; each admitted event takes one. Memory is bounded: past
 * `maxKeys` the bucket touched longest ago is forgotten (a forgotten key
 * starts again with a full bucket, which only ever errs on the lenient side).
 */

export interface RateLimitSettings {
  /** Sustained events per second. */
  perSecond: number;
  /** Events allowed at once after a quiet spell (the bucket size, >= 1). */
  burst: number;
  /** Most keys remembered at once. */
  maxKeys: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export interface Take {
  allowed: boolean;
  /** When refused: milliseconds until one token is there again. 0 when allowed. */
  retryAfterMs: number;
}

export class KeyedRateLimiter {
  /** Insertion order is recency order: a touched key is moved to the end. */
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(private readonly s: RateLimitSettings) {
    if (!(s.perSecond > 0) || !(s.burst >= 1) || !(s.maxKeys >= 1)) {
      throw new RangeError('a rate limit needs perSecond > 0, burst >= 1 and maxKeys >= 1');
    }
    this.perMs = s.perSecond / 1000;
  }

  /** Keys remembered now (never more than maxKeys). */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token for `key` if there is one. */
  take(key: string, now: number): Take {
    const b = this.touch(key, now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true, retryAfterMs: 0 };
    }
    return { allowed: false, retryAfterMs: this.waitMs(b) };
  }

  /** Milliseconds until `key` has a token again; 0 when it has one now. Takes nothing. */
  wait(key: string, now: number): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    this.refill(b, now);
    return b.tokens >= 1 ? 0 : this.waitMs(b);
  }

  private waitMs(b: Bucket): number {
    return Math.ceil((1 - b.tokens) / this.perMs);
  }

  private touch(key: string, now: number): Bucket {
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      this.refill(b, now);
    } else {
      b = { tokens: this.s.burst, at: now };
      if (this.buckets.size >= this.s.maxKeys) this.evictOldest();
    }
    this.buckets.set(key, b);
    return b;
  }

  private refill(b: Bucket, now: number): void {
    // A clock that steps back gives nothing and takes nothing.
    const elapsed = Math.max(0, now - b.at);
    b.tokens = Math.min(this.s.burst, b.tokens + elapsed * this.perMs);
    b.at = Math.max(b.at, now);
  }

  private evictOldest(): void {
    const oldest = this.buckets.keys().next();
    if (!oldest.done) this.buckets.delete(oldest.value);
  }
}

/**
 * The key a source address is limited under: IPv4 as is, IPv6 by its /64
 * (one subscriber usually holds a whole /64 and could rotate through it).
 * `ip` must already be canonical (no brackets, no IPv4-mapped form).
 */
export function sourceKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const groups = expandIpv6(ip);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : ip;
}

/** The eight groups of an IPv6 address in hex without leading zeros, or null. */
function expandIpv6(ip: string): string[] | null {
  const parts = ip.split('::');
  if (parts.length > 2) return null;
  const head = parts[0] ? parts[0].split(':') : [];
  const tail = parts.length === 2 && parts[1] ? parts[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (parts.length === 1 && missing !== 0)) return null;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  return groups.map((g) => parseInt(g, 16).toString(16));
}
