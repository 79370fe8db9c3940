import type { DataVersion } from './data-version';
import type { AllowEntry, TemporaryTrust } from '../../domain/types';

/**
 * Per-tenant copies of the trust rows (section 6 of docs/behaviour.md) that every
 * provisioning request reads and that change rarely: the permanent
 * allow-list and the temporary windows. Without it a request ran three
 * statements, each paying SQLite's read-lock round trip (three system calls).
 *
 * Freshness is not a time-to-live:
 * - this process's own writes drop the tenant's copy (the store calls
 *   `drop`/`clear` when it writes those tables);
 * - another connection's writes (the CLI, a second papgate process on the
 *   same file) change SQLite's `data_version`, and a copy is used only while
 *   `data_version` still reads what it read when the copy was made. The
 *   reading is the store's, shared with its other copies and taken afresh
 *   before every device row it reads (data-version.ts); one older than
 *   OBSERVATION_MS is not relied on and `data_version` is read again. So
 *   trust is never staler than the device the same request read (at most a
 *   few milliseconds behind another connection).
 */

export interface TrustRows {
  /** `data_version` in the read transaction these rows came from. */
  version: number;
  permanent: readonly AllowEntry[];
  /** Every window of the tenant, open or not yet purged, sorted by IP. */
  temporary: readonly TemporaryTrust[];
}

export interface TrustSource {
  /** Reads one tenant's rows and `data_version` in one read transaction. */
  load(tenantId: number): TrustRows;
}

/** Tenants kept; past it the cache starts over (a copy is a few rows, refilled by one read). */
const MAX_TENANTS = 10_000;

export class TrustCache {
  private readonly tenants = new Map<number, TrustRows>();

  /** `dataVersion`: the store's reading, shared with its other copies (data-version.ts). */
  constructor(
    private readonly source: TrustSource,
    private readonly dataVersion: DataVersion,
  ) {}

  /** The allow-list, oldest first (a fresh array; the entries are shared and frozen). */
  permanent(tenantId: number): AllowEntry[] {
    return this.rows(tenantId).permanent.slice();
  }

  /** Windows open at `now`, by IP (a fresh array; the windows are shared and frozen). */
  temporary(tenantId: number, now: number): TemporaryTrust[] {
    return this.rows(tenantId).temporary.filter((w) => w.until > now);
  }

  /** This process changed the tenant's trust rows. */
  drop(tenantId: number): void {
    this.tenants.delete(tenantId);
  }

  clear(): void {
    this.tenants.clear();
  }

  private rows(tenantId: number): TrustRows {
    const version = this.dataVersion.current();
    const cached = this.tenants.get(tenantId);
    if (cached && cached.version === version) return cached;
    const rows = this.source.load(tenantId);
    this.dataVersion.observe(rows.version);
    if (this.tenants.size >= MAX_TENANTS) this.tenants.clear();
    this.tenants.set(tenantId, rows);
    return rows;
  }
}
