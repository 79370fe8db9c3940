import type { Database } from 'better-sqlite3';
import { unavailable } from '../../domain/errors';
import { MIGRATIONS } from './migrations';

export interface MigrationReport {
  /** Schema version before and after opening. */
  from: number;
  to: number;
}

/**
 * Brings the schema up to date. Runs in one BEGIN IMMEDIATE transaction and
 * re-reads the version inside it, so two processes opening a fresh file at
 * once apply each migration exactly once.
 */
export function applyMigrations(db: Database, now: number, migrations: readonly string[] = MIGRATIONS): MigrationReport {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    applied_at  INTEGER NOT NULL
  ) STRICT`);
  const current = db.prepare<[], { v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  const record = db.prepare<[number, number]>('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');

  const run = db.transaction((): MigrationReport => {
    const from = current.get()?.v ?? 0;
    if (from > migrations.length) {
      throw unavailable(`the database has schema version ${from}, newer than this papgate knows (${migrations.length}): upgrade papgate`);
    }
    for (let version = from + 1; version <= migrations.length; version++) {
      db.exec(migrations[version - 1]!);
      record.run(version, now);
    }
    return { from, to: migrations.length };
  });
  return run.immediate();
}

/** The schema version recorded in the database (0 for an empty one). */
export function schemaVersion(db: Database): number {
  const row = db.prepare<[], { v: number | null }>('SELECT max(version) AS v FROM schema_migrations').get();
  return row?.v ?? 0;
}
