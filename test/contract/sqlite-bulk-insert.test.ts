import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Device } from '../../src/domain/types';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { makeAudit, makeDevice, makeTenant } from '../helpers/store-fixtures';
import { expectError } from './expect-error';

/** Large inserts (CSV imports) run on a worker thread, still all or nothing. */
describe('SQLite store bulk insert (worker thread)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: SqliteStore;
  let path: string;
  let tenantId: number;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-bulk-'));
    path = join(dir, 'papgate.db');
    store = await openSqliteStore(path, { busyTimeoutMs: 400 });
    tenantId = (await makeTenant(store, 'acme')).id;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const many = (n: number): Device[] => Array.from({ length: n }, () => makeDevice({ tenantId }));
  const audits = (ds: Device[]) => ds.map((d) => makeAudit({ tenantId, mac: d.mac, action: 'device-import' }));

  it('inserts thousands of devices and their audit rows, while the event loop keeps turning', async () => {
    const ds = many(3000);
    let turns = 0;
    let on = true;
    const spin = () => {
      if (on) {
        turns++;
        setImmediate(spin);
      }
    };
    setImmediate(spin);
    await store.insertDevices(ds, audits(ds));
    on = false;
    assert.equal(await store.countDevices(tenantId), 3000);
    assert.deepEqual(await store.getDevice(ds[1234]!.mac), ds[1234]);
    assert.equal((await store.listAudit(tenantId, 5000)).length, 3000);
    assert.ok(turns > 3, `the event loop ran during the insert (${turns} turns)`);
  });

  it('writes nothing when one device clashes, and names it', async () => {
    const existing = makeDevice({ tenantId });
    await store.insertDevices([existing], []);
    const ds = many(2000);
    ds[1500] = makeDevice({ tenantId, mac: existing.mac });
    await expectError(store.insertDevices(ds, audits(ds)), 'conflict', new RegExp(`MAC ${existing.mac} already exists`));
    assert.equal(await store.countDevices(tenantId), 1);
    assert.equal((await store.listAudit(tenantId, 10)).length, 0);
  });

  it('an unknown tenant is not_found, nothing written', async () => {
    const ds = many(1500).map((d) => ({ ...d, tenantId: 999 }));
    await expectError(store.insertDevices(ds, []), 'not_found', /no tenant with id 999/);
    assert.equal(await store.countDevices(), 0);
  });

  it("waits for another connection's lock, and gives up with unavailable (nothing written) past the deadline", async () => {
    const other = new BetterSqlite3(path);
    other.exec('BEGIN IMMEDIATE');
    const ds = many(1500);
    const waiting = store.insertDevices(ds, []);
    await new Promise((r) => setTimeout(r, 100));
    other.exec('ROLLBACK');
    await waiting;
    assert.equal(await store.countDevices(tenantId), 1500);

    other.exec('BEGIN IMMEDIATE');
    try {
      const more = many(1500);
      await expectError(store.insertDevices(more, []), 'unavailable', /busy/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    assert.equal(await store.countDevices(tenantId), 1500);
  });

  it('writes of the main connection during the bulk insert wait for it, then land', async () => {
    await store.close();
    store = await openSqliteStore(path, { busyTimeoutMs: 60_000 });
    const d = makeDevice({ tenantId });
    await store.insertDevices([d], []);
    const ds = many(20_000);
    const bulk = store.insertDevices(ds, []);
    // Issued while the worker is sent rows or inserts them: each waits for the lock if it must, none is lost.
    const writes = Array.from(
      { length: 5 },
      (_, i) =>
        new Promise<number>((resolve, reject) => {
          setTimeout(() => {
            store.mutateDevice(d.mac, (dv) => ({ next: { ...dv!, auth: { ...dv!.auth, failures: dv!.auth.failures + 1 } }, result: 1 })).then(resolve, reject);
          }, 25 * i);
        }),
    );
    await bulk;
    await Promise.all(writes);
    assert.equal(await store.countDevices(tenantId), 20_001);
    assert.equal((await store.getDevice(d.mac))!.auth.failures, 5);
  });
});
