import { existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { notFound, unavailable } from '../../domain/errors';
import type { StoreDump } from '../../ports/store-dump';
import { schemaVersion } from './migrate';
import { MIGRATIONS } from './migrations';
import {
  DEVICE_COLUMNS,
  deviceRowOf,
  toAllowEntry,
  toAudit,
  toDevice,
  toSite,
  toTenant,
  toTrust,
  type AllowEntryRow,
  type AuditRow,
  type SiteRow,
  type TenantRow,
  type TrustRow,
} from './rows';
import { isSqliteError, translateSqliteError } from './sqlite-errors';

/**
 * Reads a whole SQLite store, read-only and in one read transaction (a
 * consistent snapshot while a server keeps writing to the file). The file
 * must exist and be on this papgate's schema version; nothing is written.
 */
export function dumpSqliteFile(path: string, now: number): StoreDump {
  if (!existsSync(path)) throw notFound(`there is no SQLite database at ${path}`);
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    const raw = db;
    return raw.transaction(() => {
      const version = schemaVersion(raw);
      if (version !== MIGRATIONS.length) {
        throw unavailable(
          `the SQLite database ${path} has schema version ${version}, this papgate needs ${MIGRATIONS.length}: ` + `run \`papgate migrate --db ${path}\` first`,
        );
      }
      return readAll(raw, now);
    })();
  } catch (e) {
    throw isSqliteError(e) ? translateSqliteError(e, `read the database ${path}`) : e;
  } finally {
    db?.close();
  }
}

function readAll(db: BetterSqlite3.Database, now: number): StoreDump {
  const all = <R>(sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as R[];
  return {
    tenants: all<TenantRow & { token_hash: string }>('SELECT id, name, locale, created_at, token_hash FROM tenants ORDER BY id').map((r) => ({
      ...toTenant(r),
      tokenHash: r.token_hash,
    })),
    sites: all<SiteRow>('SELECT id, tenant_id, name, locale, emergency_numbers FROM sites ORDER BY id').map(toSite),
    devices: db
      .prepare(`SELECT ${DEVICE_COLUMNS.join(', ')} FROM devices ORDER BY tenant_id, created_at, mac`)
      .raw()
      .all()
      .map((v) => toDevice(deviceRowOf(v as unknown[]))),
    allowEntries: all<AllowEntryRow>('SELECT tenant_id, cidr, created_at FROM allow_entries ORDER BY tenant_id, created_at, cidr').map(toAllowEntry),
    temporaryTrust: all<TrustRow>('SELECT tenant_id, ip, until FROM temporary_trust WHERE until > ? ORDER BY tenant_id, ip', now).map(toTrust),
    audit: all<AuditRow>('SELECT id, at, tenant_id, mac, source_ip, actor, action, outcome FROM audit ORDER BY id').map(toAudit),
  };
}
