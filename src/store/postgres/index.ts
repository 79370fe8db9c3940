/** The PostgreSQL store adapter: what the composition root and tests need. */
export { openPostgresStore, migratePostgres, withPostgresPool, type OpenPostgresOptions } from './open';
export type { PostgresStoreOptions } from './pool';
export { PostgresStore } from './postgres-store';
export { MIGRATIONS } from './migrations';
export { schemaVersion, type MigrationReport } from './migrate';
export { describeUrl } from './pg-errors';
export { loadIntoEmptyDatabase } from './load';
