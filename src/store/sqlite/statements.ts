import type { Database } from 'better-sqlite3';
import { DEVICE_COLUMNS, type AllowEntryRow, type AuditRow, type DeviceRow, type SiteRow, type TenantRow, type TrustRow } from './rows';

/**
 * Every statement the store runs, prepared once at open: the provisioning
 * path (deviceByMac) runs on every phone request.
 */

const TENANT = 'id, name, locale, created_at';
const SITE = 'id, tenant_id, name, locale, emergency_numbers';
const DEVICE = DEVICE_COLUMNS.join(', ');
const DEVICE_VALUES = DEVICE_COLUMNS.map((c) => `@${c}`).join(', ');
const AUDIT = 'id, at, tenant_id, mac, source_ip, actor, action, outcome';

/** The two inserts a CSV import runs, also prepared by the bulk-insert worker (bulk-insert.ts). */
export const INSERT_DEVICE_SQL = `INSERT INTO devices (${DEVICE}) VALUES (${DEVICE_VALUES})`;
export const INSERT_AUDIT_SQL = `INSERT INTO audit (at, tenant_id, mac, source_ip, actor, action, outcome)
       VALUES (@at, @tenant_id, @mac, @source_ip, @actor, @action, @outcome)`;

export type AuditParams = {
  at: number;
  tenant_id: number | null;
  mac: string | null;
  source_ip: string | null;
  actor: string;
  action: string;
  outcome: string;
};
type Page = { limit: number; offset: number };

export function prepareStatements(db: Database) {
  return {
    insertTenant: db.prepare<{ name: string; locale: string; token_hash: string; created_at: number }, TenantRow>(
      `INSERT INTO tenants (name, locale, token_hash, created_at) VALUES (@name, @locale, @token_hash, @created_at)
       RETURNING ${TENANT}`,
    ),
    tenantByName: db.prepare<[string], TenantRow>(`SELECT ${TENANT} FROM tenants WHERE name = ?`),
    tenantById: db.prepare<[number], TenantRow>(`SELECT ${TENANT} FROM tenants WHERE id = ?`),
    tenantByTokenHash: db.prepare<[string], TenantRow>(`SELECT ${TENANT} FROM tenants WHERE token_hash = ?`),
    setTenantTokenHash: db.prepare<[string, number]>('UPDATE tenants SET token_hash = ? WHERE id = ?'),
    setTenantLocale: db.prepare<[string, number]>('UPDATE tenants SET locale = ? WHERE id = ?'),
    listTenants: db.prepare<[], TenantRow>(`SELECT ${TENANT} FROM tenants ORDER BY id`),

    insertSite: db.prepare<{ tenant_id: number; name: string; locale: string | null; emergency_numbers: string }, SiteRow>(
      `INSERT INTO sites (tenant_id, name, locale, emergency_numbers) VALUES (@tenant_id, @name, @locale, @emergency_numbers) RETURNING ${SITE}`,
    ),
    updateSite: db.prepare<[string | null, string, number]>('UPDATE sites SET locale = ?, emergency_numbers = ? WHERE id = ?'),
    siteByName: db.prepare<[number, string], SiteRow>(`SELECT ${SITE} FROM sites WHERE tenant_id = ? AND name = ?`),
    siteById: db.prepare<[number], SiteRow>(`SELECT ${SITE} FROM sites WHERE id = ?`),
    listSites: db.prepare<[number], SiteRow>(`SELECT ${SITE} FROM sites WHERE tenant_id = ? ORDER BY name, id`),

    insertDevice: db.prepare<DeviceRow>(INSERT_DEVICE_SQL),
    // Single-device lookups return raw values: rows.ts deviceRowOf makes the row (cheaper).
    deviceByMac: db.prepare<[string], unknown[]>(`SELECT ${DEVICE} FROM devices WHERE mac = ?`).raw(),
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    // the device directory (device-directory.ts)
    devicesAfter: db.prepare<[string, number], unknown[]>(`SELECT ${DEVICE} FROM devices WHERE mac > ? ORDER BY mac LIMIT ?`).raw(),
    changesAfter: db.prepare<[number, number], [number, string]>('SELECT seq, mac FROM device_changes WHERE seq > ? ORDER BY seq LIMIT ?').raw(),
    // Each bound in a query of its own: SQLite reads one end of the B-tree for a lone min() or max(), but scans the table for both at once.
    changeBounds: db.prepare<[], [number | null, number | null]>('SELECT (SELECT min(seq) FROM device_changes), (SELECT max(seq) FROM device_changes)').raw(),
    newestChange: db.prepare<[], number | null>('SELECT max(seq) FROM device_changes').pluck(),
    // by SIP username (digest)
    deviceBySipUsername: db.prepare<[string], unknown[]>(`SELECT ${DEVICE} FROM devices WHERE sip_username = ?`).raw(),
    // LIMIT -1 means no limit in SQLite.
    devicesByTenant: db.prepare<{ tenant_id: number } & Page, DeviceRow>(
      `SELECT ${DEVICE} FROM devices WHERE tenant_id = @tenant_id
       ORDER BY created_at, mac LIMIT @limit OFFSET @offset`,
    ),
    devicesBySite: db.prepare<{ tenant_id: number; site_id: number } & Page, DeviceRow>(
      `SELECT ${DEVICE} FROM devices WHERE tenant_id = @tenant_id AND site_id = @site_id
       ORDER BY created_at, mac LIMIT @limit OFFSET @offset`,
    ),
    countAllDevices: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM devices'),
    countTenantDevices: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM devices WHERE tenant_id = ?'),
    deleteDevice: db.prepare<[string]>('DELETE FROM devices WHERE mac = ?'),
    touchDevice: db.prepare<[string, number, string, number]>(
      `UPDATE devices SET last_provisioned_ip = ?, last_provisioned_at = ?
       WHERE mac = ? AND (last_provisioned_at IS NULL OR last_provisioned_at <= ?)`,
    ),

    insertAllowEntry: db.prepare<[number, string, number]>('INSERT INTO allow_entries (tenant_id, cidr, created_at) VALUES (?, ?, ?)'),
    deleteAllowEntry: db.prepare<[number, string]>('DELETE FROM allow_entries WHERE tenant_id = ? AND cidr = ?'),
    listAllowEntries: db.prepare<[number], AllowEntryRow>(
      'SELECT tenant_id, cidr, created_at FROM allow_entries WHERE tenant_id = ? ORDER BY created_at, cidr',
    ),

    // A later window never shortens an open one, and extends it only by at least the step (the 4th parameter).
    upsertTrust: db.prepare<[number, string, number, number]>(
      `INSERT INTO temporary_trust (tenant_id, ip, until) VALUES (?, ?, ?)
       ON CONFLICT (tenant_id, ip) DO UPDATE SET until = excluded.until WHERE excluded.until >= until + ?`,
    ),
    // Open and expired-but-not-purged windows alike: trust-cache.ts filters by the caller's time.
    trustByTenant: db.prepare<[number], TrustRow>('SELECT tenant_id, ip, until FROM temporary_trust WHERE tenant_id = ? ORDER BY ip'),
    purgeTrust: db.prepare<[number]>('DELETE FROM temporary_trust WHERE until <= ?'),

    insertAudit: db.prepare<AuditParams>(INSERT_AUDIT_SQL),
    auditAll: db.prepare<[number], AuditRow>(`SELECT ${AUDIT} FROM audit ORDER BY id DESC LIMIT ?`),
    auditByTenant: db.prepare<[number, number], AuditRow>(`SELECT ${AUDIT} FROM audit WHERE tenant_id = ? ORDER BY id DESC LIMIT ?`),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
