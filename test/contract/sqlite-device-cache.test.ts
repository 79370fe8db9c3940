import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { closeSqlitePair, openSqlitePair, pastObservation, type SqlitePair } from '../helpers/sqlite-pair';
import { makeAudit, makeDevice, makeTenant } from '../helpers/store-fixtures';

/**
 * The SQLite store keeps devices that are read again (src/store/sqlite/device-cache.ts):
 * its own changes show on the next read; another connection's once the
 * store's last data_version reading is a few milliseconds old (data-version.ts).
 */
describe('SQLite store: devices read again come from memory, never staler than a few milliseconds', () => {
  let pair: SqlitePair;
  let path: string;
  let store: SqliteStore;
  let other: BetterSqlite3.Database;
  beforeEach(async () => {
    pair = await openSqlitePair('papgate-device-cache-');
    ({ path, store, other } = pair);
  });
  afterEach(async () => closeSqlitePair({ ...pair, store })); // a test may have opened the file again

  /** A device read often enough to be kept. */
  async function polledDevice() {
    const t = await makeTenant(store, 'acme');
    const d = makeDevice({ tenantId: t.id });
    await store.insertDevices([d], []);
    for (let i = 0; i < 3; i++) assert.deepEqual(await store.getDevice(d.mac), d);
    return { t, d };
  }

  it('a change by another connection (the CLI, another process) shows on the next read past the observation', async () => {
    const { d } = await polledDevice();
    other.prepare("UPDATE devices SET auth_state = 'blocked', pap = NULL WHERE mac = ?").run(d.mac);
    await pastObservation();
    assert.equal((await store.getDevice(d.mac))?.auth.state, 'blocked');
    other.prepare('DELETE FROM devices WHERE mac = ?').run(d.mac);
    await pastObservation();
    assert.equal(await store.getDevice(d.mac), null);
  });

  it("this store's own mutation, deletion and last-seen writes show on the next read", async () => {
    const { t, d } = await polledDevice();
    await store.mutateDevice(d.mac, (cur) => ({ next: { ...cur!, auth: { ...cur!.auth, failures: 2 } }, result: 0 }));
    assert.equal((await store.getDevice(d.mac))?.auth.failures, 2);
    await store.recordLastSeen(d.mac, '198.51.100.8', 8_000);
    await store.close(); // writes the pending value
    store = await openSqliteStore(path);
    assert.equal((await store.getDevice(d.mac))?.lastProvisionedIp, '198.51.100.8');
    for (let i = 0; i < 3; i++) await store.getDevice(d.mac);
    assert.equal(await store.deleteDevice(d.mac, makeAudit({ tenantId: t.id })), true);
    assert.equal(await store.getDevice(d.mac), null);
  });

  it('a deletion that waits for the write lock is not undone by a read made while it waits', async () => {
    for (const inMemory of [false, true]) {
      const { t, d } = await polledDevice();
      if (inMemory) store.keepDeviceDirectory();
      other.exec('BEGIN IMMEDIATE');
      const deleting = store.deleteDevice(d.mac, makeAudit({ tenantId: t.id }));
      await new Promise((r) => setTimeout(r, 30));
      assert.deepEqual(await store.getDevice(d.mac), d, 'still there while the deletion waits');
      other.exec('ROLLBACK');
      assert.equal(await deleting, true);
      assert.equal(await store.getDevice(d.mac), null, inMemory ? 'with every device in memory' : 'with the copies of devices polled again');
      other.exec('DELETE FROM tenants');
      await pastObservation();
    }
  });

  it('a mutation that fails leaves the stored device as it was', async () => {
    const { d } = await polledDevice();
    await assert.rejects(
      store.mutateDevice(d.mac, () => {
        throw new Error('refused');
      }),
      /refused/,
    );
    assert.deepEqual(await store.getDevice(d.mac), d);
  });

  it('a caller cannot change the kept copy', async () => {
    const { d } = await polledDevice();
    const got = (await store.getDevice(d.mac))!;
    assert.throws(() => {
      (got.auth as { failures: number }).failures = 99;
    }, TypeError);
    assert.throws(() => {
      (got.lines as unknown[]).push({ ...got.lines[0]! });
    }, TypeError);
    assert.deepEqual(await store.getDevice(d.mac), d);
  });
});
