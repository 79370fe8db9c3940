import type { Database, Statement } from 'better-sqlite3';
import { DEVICE_COLUMNS, type DeviceRow } from './rows';

/**
 * UPDATEs of a device that set only the columns that changed. Setting every
 * column also rewrites the entries of every index on the table (SIP username,
 * tenant, site) although they did not change: on the provisioning path that
 * was three extra B-tree pages per write and more than half of its cost.
 * One statement per set of changed columns, prepared on first use: callers
 * change a handful of distinct sets (provisioning, PAP attempts, admin edits).
 */

type Column = Exclude<(typeof DEVICE_COLUMNS)[number], 'mac'>;
const COLUMNS = DEVICE_COLUMNS.filter((c): c is Column => c !== 'mac');

/** More distinct sets than any caller makes; beyond it statements are prepared per call, not kept. */
const MAX_CACHED = 64;

export class DeviceUpdates {
  private readonly byColumns = new Map<string, Statement<unknown[]>>();

  constructor(private readonly db: Database) {}

  /**
   * Writes the columns of `next` that differ from `stored` (same MAC); false
   * when none did. `lastSeenTogether`: when either last-seen column changed,
   * write both (`stored` is an in-memory copy, whose last-seen pair may be
   * older than the row's: another process's is not logged).
   */
  write(stored: DeviceRow, next: DeviceRow, lastSeenTogether = false): boolean {
    const changed = COLUMNS.filter((c) => stored[c] !== next[c]);
    if (changed.length === 0) return false;
    if (lastSeenTogether) withBothLastSeen(changed);
    // Positional parameters: better-sqlite3 looks a named one up in the object by a string it makes for each run.
    const params = changed.map((c) => next[c]);
    params.push(next.mac);
    if (this.statement(changed).run(params).changes !== 1) throw new Error(`device ${next.mac} was to be updated but has no row`);
    return true;
  }

  private statement(changed: Column[]): Statement<unknown[]> {
    const key = changed.join(',');
    let stmt = this.byColumns.get(key);
    if (!stmt) {
      stmt = this.db.prepare(`UPDATE devices SET ${changed.map((c) => `${c} = ?`).join(', ')} WHERE mac = ?`);
      if (this.byColumns.size < MAX_CACHED) this.byColumns.set(key, stmt);
    }
    return stmt;
  }
}

/** Adds the other last-seen column when one of them is in `changed` (kept in COLUMNS order). */
function withBothLastSeen(changed: Column[]): void {
  const ip = changed.includes('last_provisioned_ip');
  const at = changed.includes('last_provisioned_at');
  if (ip && !at) changed.push('last_provisioned_at');
  else if (at && !ip) changed.splice(changed.indexOf('last_provisioned_at'), 0, 'last_provisioned_ip');
}
