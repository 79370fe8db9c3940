import type { Config } from './config/config';
import { invalid } from './domain/errors';
import { silentLogger, type Logger } from './ports/logger';
import type { Store } from './ports/store';
import { countDump, type StoreDumpCounts } from './ports/store-dump';
import { openSqliteStore } from './store/sqlite';
import { dumpSqliteFile } from './store/sqlite/dump';

/** The PostgreSQL adapter and its driver load only when a URL asks for them: SQLite CLI commands start faster. */
type PostgresAdapter = typeof import('./store/postgres');
// A plain require: under tsx a dynamic import() of this directory would be loaded as ESM and fail.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const postgres = async (): Promise<PostgresAdapter> => require('./store/postgres') as PostgresAdapter;

/**
 * Picks the store adapter PAPGATE_DB names: a postgres:// or postgresql://
 * URL selects PostgreSQL (shared by several processes and nodes), anything
 * else is a SQLite file path. Used by the server and the CLI alike.
 */

export type StoreSettings = Pick<Config, 'db'> & Partial<Pick<Config, 'dbMigrate' | 'dbPoolSize' | 'dbTimeoutSeconds'>>;

export interface OpenStoreOptions {
  log?: Logger;
  /** SQLite only: a WAL checkpoint pass every this many ms, off the event loop, as the server does. */
  checkpointMs?: number;
  /** SQLite only: keep every device in memory (device-directory.ts), for a process that answers phones. */
  devicesInMemory?: boolean;
}

/**
 * Whether a process that answers phones keeps every device in memory
 * (device-directory.ts). `auto`: only when it is the only one answering
 * them. On a 2-core machine two provisioning workers gained nothing from it
 * (each keeps its own copy) and their full configurations got slower.
 */
export function keepsDevicesInMemory(setting: Config['dbDevicesInMemory'], onlyProcessAnsweringPhones: boolean): boolean {
  return setting === 'on' || (setting === 'auto' && onlyProcessAnsweringPhones);
}

export const isPostgresUrl = (db: string) => /^postgres(ql)?:\/\//i.test(db);

/** PAPGATE_DB for logs and messages: a URL without its password. */
export function describeDb(db: string): string {
  if (!isPostgresUrl(db)) return db;
  try {
    const u = new URL(db);
    return `postgres://${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`;
  } catch {
    // Not a URL after all: say nothing of its text (it may hold a password).
    return 'the PostgreSQL URL';
  }
}

/**
 * Opens the store. SQLite brings its schema up to date at open; PostgreSQL
 * refuses an older schema (`papgate migrate`) unless dbMigrate is 'auto'.
 */
export async function openStore(s: StoreSettings, opts: OpenStoreOptions = {}): Promise<Store> {
  const log = opts.log ?? silentLogger;
  if (isPostgresUrl(s.db)) {
    const { openPostgresStore } = await postgres();
    return openPostgresStore(s.db, { log, migrate: s.dbMigrate ?? 'check', ...postgresOptions(s) });
  }
  const store = await openSqliteStore(s.db, { log });
  if (opts.checkpointMs) store.startCheckpoints(opts.checkpointMs);
  if (opts.devicesInMemory) store.keepDeviceDirectory();
  return store;
}

export interface MigrateResult {
  store: 'sqlite' | 'postgres';
  from: number;
  to: number;
}

/** `papgate migrate`: applies pending migrations and says from which version to which. */
export async function migrateStore(s: StoreSettings, log: Logger = silentLogger): Promise<MigrateResult> {
  if (isPostgresUrl(s.db)) {
    const { migratePostgres } = await postgres();
    return { store: 'postgres', ...(await migratePostgres(s.db, { log, ...postgresOptions(s) })) };
  }
  const store = await openSqliteStore(s.db, { log });
  await store.close();
  return { store: 'sqlite', ...store.migrations };
}

/**
 * `papgate copy`: moves a whole SQLite store into an empty PostgreSQL
 * database, in one transaction. The source is only read.
 */
export async function copyStore(from: string, to: string, log: Logger = silentLogger): Promise<StoreDumpCounts> {
  if (isPostgresUrl(from)) throw invalid('from', '--from must be a SQLite database file');
  if (!isPostgresUrl(to)) throw invalid('to', '--to must be a postgres:// or postgresql:// URL');
  const now = Date.now();
  const dump = dumpSqliteFile(from, now);
  const { loadIntoEmptyDatabase, withPostgresPool } = await postgres();
  await withPostgresPool(to, { log, poolSize: 1, timeoutMs: 60_000 }, (pool) => loadIntoEmptyDatabase(pool, dump, now));
  return countDump(dump);
}

function postgresOptions(s: StoreSettings) {
  return {
    ...(s.dbPoolSize !== undefined ? { poolSize: s.dbPoolSize } : {}),
    ...(s.dbTimeoutSeconds !== undefined ? { timeoutMs: Math.round(s.dbTimeoutSeconds * 1000) } : {}),
  };
}
