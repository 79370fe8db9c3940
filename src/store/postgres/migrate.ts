import type { Pool } from 'pg';
import { unavailable } from '../../domain/errors';
import { MIGRATIONS } from './migrations';

export interface MigrationReport {
  /** Schema version before and after. */
  from: number;
  to: number;
}

/** Advisory lock key held while migrating ('papg'): one node migrates, the others wait and find nothing to do. */
const MIGRATION_LOCK_KEY = 0x70617067;

/**
 * Brings the schema up to date in one transaction (PostgreSQL DDL is
 * transactional: a failed migration leaves nothing behind). The advisory lock
 * makes nodes that start at once apply each migration exactly once.
 */
export async function applyMigrations(pool: Pool, now: number, migrations: readonly string[] = MIGRATIONS): Promise<MigrationReport> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version     INTEGER PRIMARY KEY,
      applied_at  BIGINT  NOT NULL
    )`);
    const from = await currentVersion(client);
    if (from > migrations.length) throw newerSchema(from, migrations.length);
    for (let version = from + 1; version <= migrations.length; version++) {
      await client.query(migrations[version - 1]!);
      await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version, now]);
    }
    await client.query('COMMIT');
    return { from, to: migrations.length };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw e;
  } finally {
    client.release(broken);
  }
}

/** The schema version recorded in the database: 0 when papgate never migrated it. */
export async function schemaVersion(pool: Pool): Promise<number> {
  return currentVersion(pool);
}

async function currentVersion(db: Pick<Pool, 'query'>): Promise<number> {
  const exists = await db.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  if (!exists.rows[0]?.t) return 0;
  const r = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return r.rows[0]?.v ?? 0;
}

/** Refuses a database whose schema is not exactly the one this papgate knows. */
export async function requireCurrentSchema(pool: Pool, where: string): Promise<number> {
  const version = await schemaVersion(pool);
  if (version > MIGRATIONS.length) throw newerSchema(version, MIGRATIONS.length);
  if (version < MIGRATIONS.length) {
    throw unavailable(
      `the database ${where} has schema version ${version}, this papgate needs ${MIGRATIONS.length}: ` +
        'run `papgate migrate` (or set PAPGATE_DB_MIGRATE=auto)',
    );
  }
  return version;
}

function newerSchema(found: number, known: number) {
  return unavailable(`the database has schema version ${found}, newer than this papgate knows (${known}): upgrade papgate`);
}
