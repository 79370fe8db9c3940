import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { OBSERVATION_MS } from '../../src/store/sqlite/data-version';

/** A store on a fresh file, and a second plain connection to that file: what another process would see and do. */
export interface SqlitePair {
  dir: string;
  path: string;
  store: SqliteStore;
  other: BetterSqlite3.Database;
}

export async function openSqlitePair(prefix: string): Promise<SqlitePair> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, 'papgate.db');
  const store = await openSqliteStore(path);
  return { dir, path, store, other: new BetterSqlite3(path) };
}

export async function closeSqlitePair(p: SqlitePair): Promise<void> {
  p.other.close();
  await p.store.close();
  rmSync(p.dir, { recursive: true, force: true });
}

/**
 * Waits until the store's last `data_version` reading no longer stands for
 * "now" (src/store/sqlite/data-version.ts): from then on, its next read sees
 * what another connection committed.
 */
export function pastObservation(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, OBSERVATION_MS + 2));
}
