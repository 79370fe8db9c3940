/**
 * Send-time deviation from the 20 ms schedule, in a fixed histogram: O(1) per
 * packet, no allocation, percentiles good to BUCKET_MS.
 */

const BUCKET_MS = 0.1;
const BUCKETS = 1000; // 0-100 ms; the last bucket also holds everything later

export class JitterHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  private total = 0;

  record(deviationMs: number): void {
    const i = Math.min(BUCKETS - 1, Math.floor(Math.abs(deviationMs) / BUCKET_MS));
    this.counts[i] = (this.counts[i] as number) + 1;
    this.total++;
  }

  get count(): number {
    return this.total;
  }

  /** Upper edge of the bucket holding the q-quantile (0 < q <= 1); 0 when empty. */
  percentileMs(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) return Math.round((i + 1) * BUCKET_MS * 10) / 10;
    }
    return BUCKETS * BUCKET_MS;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }
}
