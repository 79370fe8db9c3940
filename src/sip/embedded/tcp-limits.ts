/**
 * How many SIP TCP connections we accept, in total and per source address,
 * and how long an idle one stays open. One source must not be able to take
 * every descriptor of the process.
 */
export interface TcpLimits {
  maxConnections: number;
  maxConnectionsPerSource: number;
  /** Idle timeout of a connection that has not yet sent a valid message. */
  idleNewMs: number;
  /** Idle timeout once it has. */
  idleMs: number;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = {
  maxConnections: 512,
  maxConnectionsPerSource: 32,
  idleNewMs: 20_000,
  idleMs: 600_000,
};

/** Counts accepted connections; says which limit a new one would break. */
export class TcpAdmission {
  readonly limits: TcpLimits;
  private total = 0;
  private readonly perSource = new Map<string, number>();

  constructor(limits: Partial<TcpLimits> = {}) {
    this.limits = { ...DEFAULT_TCP_LIMITS, ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) };
  }

  /** Counts the connection in and returns undefined, or names the limit it is over (and counts nothing). */
  admit(source: string): 'total' | 'per-source' | undefined {
    if (this.total >= this.limits.maxConnections) return 'total';
    const n = this.perSource.get(source) ?? 0;
    if (n >= this.limits.maxConnectionsPerSource) return 'per-source';
    this.total++;
    this.perSource.set(source, n + 1);
    return undefined;
  }

  release(source: string): void {
    const n = this.perSource.get(source) ?? 0;
    if (n <= 1) this.perSource.delete(source);
    else this.perSource.set(source, n - 1);
    if (n > 0) this.total--;
  }
}
