import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { isPapgateError, unavailable, type PapgateError } from '../../domain/errors';
import { silentLogger, type Logger } from '../../ports/logger';
import { retryWhileLocked } from './lock-retry';
import { applyMigrations } from './migrate';
import { isSqliteError, translateSqliteError } from './sqlite-errors';
import { SqliteStore } from './sqlite-store';

/** The main connection's page cache, in KiB (64 MiB). */
const PAGE_CACHE_KIB = 64 * 1024;

export interface SqliteStoreOptions {
  log?: Logger;
  /**
   * How long a call waits for another process's lock before failing
   * 'unavailable'. Default 5000 ms. The wait is asynchronous (lock-retry.ts):
   * SQLite itself never sleeps on a lock (busy_timeout 0).
   */
  busyTimeoutMs?: number;
  /**
   * How long opening waits for another process that is creating or migrating
   * the same file. Default max(busyTimeoutMs, 30000) ms: a process starting
   * beside others (workers, a CLI) may wait for the first one's migration,
   * which on a loaded machine can be descheduled for seconds while it holds
   * the lock; failing the start-up for that would be wrong.
   */
  openTimeoutMs?: number;
}

const OPEN_WAIT_MS = 30_000;

/**
 * Opens (creating if needed) the SQLite database at `path`, or an in-memory
 * one for ':memory:', and brings its schema up to date. WAL lets the
 * provisioning and SIP sides (or several processes) share one file.
 */
export async function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): Promise<SqliteStore> {
  const log = (opts.log ?? silentLogger).child({ component: 'sqlite-store' });
  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  const inMemory = path === ':memory:' || path === '';
  let db: Database | undefined;
  try {
    if (!inMemory) mkdirSync(dirname(resolve(path)), { recursive: true });
    const conn = new BetterSqlite3(path, { timeout: 0 });
    db = conn;
    conn.pragma('busy_timeout = 0');
    const waitForLock = { deadlineMs: opts.openTimeoutMs ?? Math.max(busyTimeoutMs, OPEN_WAIT_MS) };
    // Even these read the schema, which another process may hold locked while it switches the file to WAL.
    await retryWhileLocked(() => {
      conn.pragma('foreign_keys = ON');
      conn.pragma('synchronous = NORMAL');
    }, waitForLock);
    if (!inMemory) {
      const mode = await retryWhileLocked(() => conn.pragma('journal_mode = WAL', { simple: true }), waitForLock);
      if (mode !== 'wal') throw unavailable(`cannot open the database ${path}: it refused WAL mode (${String(mode)})`);
    }
    // Pages this connection keeps (SQLite takes them as it reads, up to this). At SQLite's default of 2 MB
    // a million-device file's B-tree pages were read from the OS again for nearly every last-seen write
    // (a 500 MB file: a first contact took 66 µs with 2 MB, 61 with 64 MB; bench/README.md).
    conn.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    const migrations = await retryWhileLocked(() => applyMigrations(conn, Date.now()), waitForLock);
    if (migrations.to !== migrations.from) log.info({ path, from: migrations.from, to: migrations.to }, 'store schema migrated');
    return new SqliteStore(db, log, migrations, busyTimeoutMs);
  } catch (e) {
    db?.close();
    const err = openError(path, e);
    log.error({ path, error: err.code }, err.message);
    throw err;
  }
}

function openError(path: string, e: unknown): PapgateError {
  if (isPapgateError(e)) return e;
  if (isSqliteError(e)) return translateSqliteError(e, `open the database ${path}`);
  const code = (e as { code?: unknown } | null)?.code;
  const why = typeof code === 'string' ? (FS_REASONS[code] ?? code) : e instanceof Error ? e.message : String(e);
  return unavailable(`cannot open the database ${path}: ${why}`);
}

/** Errors of creating the parent directories, in words. */
const FS_REASONS: Record<string, string> = {
  EEXIST: 'a file stands where its directory should be',
  ENOTDIR: 'a file stands where its directory should be',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
};
