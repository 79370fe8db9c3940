import type { Pool } from 'pg';
import { isPapgateError, type PapgateError } from '../../domain/errors';
import { silentLogger } from '../../ports/logger';
import { applyMigrations, requireCurrentSchema, type MigrationReport } from './migrate';
import { describeUrl, translatePgError } from './pg-errors';
import { createPool, type PostgresStoreOptions } from './pool';
import { PostgresStore } from './postgres-store';

export interface OpenPostgresOptions extends PostgresStoreOptions {
  /**
   * 'check' (default): refuse a database whose schema is missing or older
   * (run `papgate migrate` first). 'auto': migrate at open.
   */
  migrate?: 'check' | 'auto';
}

/** Connects to the database at `url` and checks (or brings up to date) its schema. */
export async function openPostgresStore(url: string, opts: OpenPostgresOptions = {}): Promise<PostgresStore> {
  const log = (opts.log ?? silentLogger).child({ component: 'postgres-store' });
  const where = describeUrl(url);
  const pool = createPool(url, opts, log);
  try {
    if (opts.migrate === 'auto') {
      const report = await applyMigrations(pool, Date.now());
      if (report.to !== report.from) log.info({ db: where, ...report }, 'store schema migrated');
    } else {
      await requireCurrentSchema(pool, where);
    }
    return new PostgresStore(pool, log);
  } catch (e) {
    await endQuietly(pool);
    const err = openError(where, e);
    log.error({ db: where, error: err.code }, err.message);
    throw err;
  }
}

/** `papgate migrate`: applies the pending migrations (several nodes at once apply each once). */
export async function migratePostgres(url: string, opts: PostgresStoreOptions = {}): Promise<MigrationReport> {
  const log = (opts.log ?? silentLogger).child({ component: 'postgres-store' });
  const where = describeUrl(url);
  const pool = createPool(url, { ...opts, poolSize: 1, timeoutMs: opts.timeoutMs ?? 60_000 }, log);
  try {
    return await applyMigrations(pool, Date.now());
  } catch (e) {
    throw openError(where, e);
  } finally {
    await endQuietly(pool);
  }
}

/** Opens a pool on `url` for a one-off job (the store copy), with the same settings and error wording. */
export async function withPostgresPool<T>(url: string, opts: PostgresStoreOptions, fn: (pool: Pool) => Promise<T>): Promise<T> {
  const log = (opts.log ?? silentLogger).child({ component: 'postgres-store' });
  const pool = createPool(url, opts, log);
  try {
    return await fn(pool);
  } catch (e) {
    throw openError(describeUrl(url), e);
  } finally {
    await endQuietly(pool);
  }
}

function openError(where: string, e: unknown): PapgateError {
  if (isPapgateError(e)) return e;
  return translatePgError(e, `use the database ${where}`);
}

async function endQuietly(pool: Pool): Promise<void> {
  // Closing after a failure: the failure is what gets reported, not the close.
  await pool.end().catch(() => undefined);
}
