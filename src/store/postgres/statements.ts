import { DEVICE_COLUMNS } from './rows';

/**
 * Every statement the store runs. Each is sent as a named prepared statement
 * (its key is the name), parsed once per pooled connection.
 */

const TENANT = 'id, name, locale, created_at';
const SITE = 'id, tenant_id, name, locale, emergency_numbers';
const DEVICE = DEVICE_COLUMNS.join(', ');
const DEVICE_PARAMS = DEVICE_COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
const AUDIT = 'id, at, tenant_id, mac, source_ip, actor, action, outcome';

export const SQL = {
  insertTenant: `INSERT INTO tenants (name, locale, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING ${TENANT}`,
  tenantByName: `SELECT ${TENANT} FROM tenants WHERE name = $1`,
  tenantById: `SELECT ${TENANT} FROM tenants WHERE id = $1`,
  tenantByTokenHash: `SELECT ${TENANT} FROM tenants WHERE token_hash = $1`,
  setTenantTokenHash: 'UPDATE tenants SET token_hash = $1 WHERE id = $2',
  setTenantLocale: 'UPDATE tenants SET locale = $1 WHERE id = $2',
  listTenants: `SELECT ${TENANT} FROM tenants ORDER BY id`,

  insertSite: `INSERT INTO sites (tenant_id, name, locale, emergency_numbers) VALUES ($1, $2, $3, $4) RETURNING ${SITE}`,
  updateSite: 'UPDATE sites SET locale = $1, emergency_numbers = $2 WHERE id = $3',
  siteByName: `SELECT ${SITE} FROM sites WHERE tenant_id = $1 AND name = $2`,
  siteById: `SELECT ${SITE} FROM sites WHERE id = $1`,
  listSites: `SELECT ${SITE} FROM sites WHERE tenant_id = $1 ORDER BY name, id`,

  insertDevice: `INSERT INTO devices (${DEVICE}) VALUES (${DEVICE_PARAMS})`,
  deviceByMac: `SELECT ${DEVICE} FROM devices WHERE mac = $1`,
  // Holds the row until commit: parallel attempts on one device, from any process or node, queue here.
  deviceByMacForUpdate: `SELECT ${DEVICE} FROM devices WHERE mac = $1 FOR UPDATE`,
  // An unknown MAC has no row to lock: this serialises its would-be inserts instead.
  lockUnknownMac: 'SELECT pg_advisory_xact_lock(1885431655, hashtext($1))',
  deviceBySipUsername: `SELECT ${DEVICE} FROM devices WHERE sip_username = $1`,
  // LIMIT NULL means no limit.
  devicesByTenant: `SELECT ${DEVICE} FROM devices WHERE tenant_id = $1 ORDER BY created_at, mac LIMIT $2 OFFSET $3`,
  devicesBySite: `SELECT ${DEVICE} FROM devices WHERE tenant_id = $1 AND site_id = $4
    ORDER BY created_at, mac LIMIT $2 OFFSET $3`,
  countAllDevices: 'SELECT count(*) AS n FROM devices',
  countTenantDevices: 'SELECT count(*) AS n FROM devices WHERE tenant_id = $1',
  deleteDevice: 'DELETE FROM devices WHERE mac = $1',
  // One round trip, no row lock held across statements; never moves the time backwards.
  touchDevice: `UPDATE devices SET last_provisioned_ip = $2, last_provisioned_at = $3
    WHERE mac = $1 AND (last_provisioned_at IS NULL OR last_provisioned_at <= $3)`,

  insertAllowEntry: 'INSERT INTO allow_entries (tenant_id, cidr, created_at) VALUES ($1, $2, $3)',
  deleteAllowEntry: 'DELETE FROM allow_entries WHERE tenant_id = $1 AND cidr = $2',
  listAllowEntries: 'SELECT tenant_id, cidr, created_at FROM allow_entries WHERE tenant_id = $1 ORDER BY created_at, cidr',

  // A later window never shortens an open one, and extends it only by at least the step ($4).
  upsertTrust: `INSERT INTO temporary_trust (tenant_id, ip, until) VALUES ($1, $2, $3)
    ON CONFLICT (tenant_id, ip) DO UPDATE SET until = excluded.until WHERE excluded.until >= temporary_trust.until + $4`,
  openTrust: 'SELECT tenant_id, ip, until FROM temporary_trust WHERE tenant_id = $1 AND until > $2 ORDER BY ip',
  purgeTrust: 'DELETE FROM temporary_trust WHERE until <= $1',

  upsertRegistration: `INSERT INTO registrations
      (username, contact, source_address, source_port, source_transport, path, call_id, cseq, expires_at, user_agent)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (username) DO UPDATE SET contact = excluded.contact, source_address = excluded.source_address,
      source_port = excluded.source_port, source_transport = excluded.source_transport, path = excluded.path,
      call_id = excluded.call_id, cseq = excluded.cseq, expires_at = excluded.expires_at, user_agent = excluded.user_agent`,
  // Columns named, not *: a later migration adding one must not break the statements prepared on running nodes.
  registrationByUsername: `SELECT username, contact, source_address, source_port, source_transport, path, call_id, cseq,
      expires_at, user_agent FROM registrations WHERE username = $1 AND expires_at > $2`,
  deleteRegistration: 'DELETE FROM registrations WHERE username = $1',
  sweepRegistrations: 'DELETE FROM registrations WHERE expires_at <= $1',

  insertAudit: `INSERT INTO audit (at, tenant_id, mac, source_ip, actor, action, outcome)
    VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  auditAll: `SELECT ${AUDIT} FROM audit ORDER BY id DESC LIMIT $1`,
  auditByTenant: `SELECT ${AUDIT} FROM audit WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2`,

  // Writable now: not a standby, not a read-only session.
  writable: `SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off' AS ok`,
} as const;

export type StatementName = keyof typeof SQL;
