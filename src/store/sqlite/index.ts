/** The SQLite store adapter: what main.ts and tests need. */
export { openSqliteStore, type SqliteStoreOptions } from './open';
export { SqliteStore } from './sqlite-store';
export { MIGRATIONS } from './migrations';
