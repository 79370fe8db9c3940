import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite';
import { storeContract } from './store.contract';

const dir = mkdtempSync(join(tmpdir(), 'papgate-store-contract-'));
let files = 0;

after(() => rmSync(dir, { recursive: true, force: true }));

storeContract('SQLite file', () => openSqliteStore(join(dir, `db-${++files}`, 'papgate.db')));
storeContract('SQLite :memory:', () => openSqliteStore(':memory:'));
storeContract('SQLite file, every device kept in memory', async () => {
  const store = await openSqliteStore(join(dir, `db-${++files}`, 'papgate.db'));
  store.keepDeviceDirectory(); // as a server process does (device-directory.ts)
  return store;
});
