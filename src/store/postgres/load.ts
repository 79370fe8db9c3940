import type { Pool, PoolClient } from 'pg';
import { conflict } from '../../domain/errors';
import { countDump, type StoreDump, type StoreDumpCounts } from '../../ports/store-dump';
import { inTransaction } from './db';
import { applyMigrations } from './migrate';
import { DEVICE_COLUMNS, deviceValues } from './rows';
import { emergencyNumbersColumn } from '../sql-rows';

/** Rows per INSERT: well under PostgreSQL's 65,535 parameters per statement at 19 columns. */
const ROWS_PER_INSERT = 1000;

/** The tables a store copy fills, in foreign-key order. */
const TABLES = ['tenants', 'sites', 'devices', 'allow_entries', 'temporary_trust', 'audit', 'registrations'] as const;

/**
 * Loads a whole store into the database behind `pool`: migrates it first,
 * then, in ONE transaction, refuses unless every papgate table is empty,
 * inserts every row with its id, and moves the id sequences past them.
 * Any failure rolls back to the empty database.
 */
export async function loadIntoEmptyDatabase(pool: Pool, dump: StoreDump, now: number): Promise<StoreDumpCounts> {
  await applyMigrations(pool, now);
  await inTransaction(pool, async (c) => {
    // No other writer may slip rows in between the emptiness check and the copy.
    await c.query(`LOCK TABLE ${TABLES.join(', ')} IN EXCLUSIVE MODE`);
    await refuseNonEmpty(c);
    await insertRows(
      c,
      'tenants',
      ['id', 'name', 'locale', 'token_hash', 'created_at'],
      dump.tenants.map((t) => [t.id, t.name, t.locale, t.tokenHash, t.createdAt]),
    );
    await insertRows(
      c,
      'sites',
      ['id', 'tenant_id', 'name', 'locale', 'emergency_numbers'],
      dump.sites.map((s) => [s.id, s.tenantId, s.name, s.locale, emergencyNumbersColumn(s.emergencyNumbers)]),
    );
    await insertRows(c, 'devices', [...DEVICE_COLUMNS], dump.devices.map(deviceValues));
    await insertRows(
      c,
      'allow_entries',
      ['tenant_id', 'cidr', 'created_at'],
      dump.allowEntries.map((e) => [e.tenantId, e.cidr, e.createdAt]),
    );
    await insertRows(
      c,
      'temporary_trust',
      ['tenant_id', 'ip', 'until'],
      dump.temporaryTrust.map((t) => [t.tenantId, t.ip, t.until]),
    );
    await insertRows(
      c,
      'audit',
      ['id', 'at', 'tenant_id', 'mac', 'source_ip', 'actor', 'action', 'outcome'],
      dump.audit.map((a) => [a.id, a.at, a.tenantId, a.mac, a.sourceIp, a.actor, a.action, a.outcome]),
    );
    for (const table of ['tenants', 'sites', 'audit']) {
      await c.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), max(id)) FROM ${table}`);
    }
  });
  return countDump(dump);
}

async function refuseNonEmpty(c: PoolClient): Promise<void> {
  const r = await c.query<{ t: string }>(TABLES.map((t) => `(SELECT '${t}' AS t FROM ${t} LIMIT 1)`).join(' UNION ALL '));
  if (r.rows.length > 0) {
    throw conflict(`the target database is not empty (it has ${r.rows.map((x) => x.t).join(', ')}): copy only into an empty database`);
  }
}

async function insertRows(c: PoolClient, table: string, columns: string[], rows: unknown[][]): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
    const chunk = rows.slice(start, start + ROWS_PER_INSERT);
    const values: unknown[] = [];
    const tuples = chunk.map(
      (row) =>
        `(${row
          .map((v) => {
            values.push(v);
            return `$${values.length}`;
          })
          .join(', ')})`,
    );
    await c.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, values);
  }
}
