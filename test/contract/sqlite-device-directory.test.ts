import assert from 'node:assert/strict';
import type BetterSqlite3 from 'better-sqlite3';
import type { Device } from '../../src/domain/types';
import type { SqliteStore } from '../../src/store/sqlite';
import { deviceParams } from '../../src/store/sqlite/rows';
import { INSERT_DEVICE_SQL, prepareStatements } from '../../src/store/sqlite/statements';
import { closeSqlitePair, openSqlitePair, pastObservation, type SqlitePair } from '../helpers/sqlite-pair';
import { makeAudit, makeDevice, makeTenant } from '../helpers/store-fixtures';

/**
 * A server process keeps every device in memory (src/store/sqlite/device-directory.ts),
 * kept exact from the `device_changes` log: what another connection (the CLI,
 * another process) changes shows once the store's last data_version reading
 * is a few milliseconds old; what the store itself writes, at once.
 */
describe('SQLite store: the device directory answers from memory and stays exact', () => {
  let pair: SqlitePair;
  let store: SqliteStore;
  let other: BetterSqlite3.Database;
  beforeEach(async () => {
    pair = await openSqlitePair('papgate-directory-');
    ({ store, other } = pair);
    other.pragma('foreign_keys = ON');
  });
  afterEach(async () => closeSqlitePair(pair));

  const directory = () => store.devicesInMemory!;

  async function untilLoaded(): Promise<void> {
    for (let i = 0; i < 500 && !directory().ready; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(directory().ready, 'the directory did not load');
  }

  /** Inserts devices over the other connection, in one transaction. */
  function insertOver(devices: Device[]): void {
    const insert = other.prepare(INSERT_DEVICE_SQL);
    other.transaction(() => devices.forEach((d) => insert.run(deviceParams(d))))();
  }

  async function keptFleet(n: number) {
    const t = await makeTenant(store, 'acme');
    const devices = Array.from({ length: n }, () => makeDevice({ tenantId: t.id }));
    await store.insertDevices(devices, []);
    store.keepDeviceDirectory();
    await untilLoaded();
    return { t, devices };
  }

  it('answers from memory: a change made behind the log (the trigger dropped) is not seen, a logged one is', async () => {
    const { devices } = await keptFleet(3);
    const [a, b] = devices as [Device, Device];
    other.exec('DROP TRIGGER devices_updated');
    other.prepare("UPDATE devices SET model = 'hidden' WHERE mac = ?").run(a.mac);
    other.prepare('INSERT INTO device_changes (mac) VALUES (?)').run(b.mac); // moves data_version and names b only
    other.prepare("UPDATE devices SET model = 'T54W' WHERE mac = ?").run(b.mac);
    await pastObservation();
    assert.equal((await store.getDevice(a.mac))?.model, 'T46U', 'the directory, not the row, answered');
    assert.equal((await store.getDevice(b.mac))?.model, 'T54W');
  });

  it("another connection's inserts, updates, SIP usernames and deletions show on the next read past the observation", async () => {
    const { t, devices } = await keptFleet(2);
    const [a, b] = devices as [Device, Device];
    const added = makeDevice({ tenantId: t.id });
    assert.equal(await store.getDevice(added.mac), null);
    insertOver([added]);
    other.prepare("UPDATE devices SET auth_state = 'blocked', pap = NULL, sip_username = 'renamed' WHERE mac = ?").run(a.mac);
    other.prepare('DELETE FROM devices WHERE mac = ?').run(b.mac);
    await pastObservation();
    assert.deepEqual(await store.getDevice(added.mac), added);
    assert.equal((await store.getDevice(a.mac))?.auth.state, 'blocked');
    assert.equal((await store.getDeviceBySipUsername('renamed'))?.mac, a.mac);
    assert.equal(await store.getDeviceBySipUsername(a.sipUsername), null);
    assert.equal(await store.getDevice(b.mac), null);
    assert.equal(await store.getDeviceBySipUsername(b.sipUsername), null);
    assert.equal(directory().ready, true);
  });

  it("another connection's change of a MAC logs the new and the old one: the device answers under its new MAC only", async () => {
    const { devices } = await keptFleet(1);
    const a = devices[0]!;
    const newest = () => other.prepare('SELECT max(seq) FROM device_changes').pluck().get() as number;
    const before = newest();
    other.prepare("UPDATE devices SET model = 'T58W' WHERE mac = ?").run(a.mac);
    assert.equal(newest() - before, 1, 'a change is one entry');
    other.prepare("UPDATE devices SET mac = 'aabbccddeeff' WHERE mac = ?").run(a.mac);
    const logged = other
      .prepare('SELECT mac FROM device_changes WHERE seq > ? ORDER BY seq')
      .pluck()
      .all(before + 1);
    assert.deepEqual(logged.sort(), ['aabbccddeeff', a.mac].sort());
    await pastObservation();
    assert.equal(await store.getDevice(a.mac), null);
    assert.equal((await store.getDevice('aabbccddeeff'))?.model, 'T58W');
  });

  it("logging a change builds no temporary B-tree (a routine full configuration's write, thousands a second)", () => {
    // What a device proving itself again writes: its secrets and where it was seen.
    const sql = 'UPDATE devices SET secret_hash = ?, prev_secret_hash = ?, last_provisioned_ip = ?, last_provisioned_at = ? WHERE mac = ?';
    const plan = other.prepare(`EXPLAIN ${sql}`).all(null, null, null, null, null) as { opcode: string }[];
    assert.ok(
      plan.some((op) => op.opcode === 'Program'),
      'the trigger runs',
    );
    assert.equal(plan.filter((op) => op.opcode === 'OpenEphemeral').length, 0);
  });

  it('the bounds of the log are read at its ends, never by a scan (the newest after every write transaction)', () => {
    const q = prepareStatements(other);
    for (const statement of [q.changeBounds, q.newestChange]) {
      const plan = other.prepare(`EXPLAIN QUERY PLAN ${statement.source}`).all() as { detail: string }[];
      assert.ok(plan.length > 0 && plan.every((step) => !step.detail.startsWith('SCAN device_changes')), plan.map((p) => p.detail).join('; '));
    }
  });

  it("a tenant's deletion (its devices deleted by the foreign key) shows", async () => {
    const { t, devices } = await keptFleet(2);
    other.prepare('DELETE FROM tenants WHERE id = ?').run(t.id);
    await pastObservation();
    for (const d of devices) assert.equal(await store.getDevice(d.mac), null);
  });

  it("this store's own inserts, mutations, deletions and last-seen writes show at once", async () => {
    const { t, devices } = await keptFleet(1);
    const a = devices[0]!;
    const added = makeDevice({ tenantId: t.id });
    await store.insertDevices([added], []);
    assert.deepEqual(await store.getDevice(added.mac), added);
    assert.equal((await store.getDeviceBySipUsername(added.sipUsername))?.mac, added.mac);
    await store.mutateDevice(a.mac, (cur) => ({ next: { ...cur!, sipUsername: 'moved', auth: { ...cur!.auth, failures: 2 } }, result: 0 }));
    assert.equal((await store.getDevice(a.mac))?.auth.failures, 2);
    assert.equal((await store.getDeviceBySipUsername('moved'))?.mac, a.mac);
    assert.equal(await store.getDeviceBySipUsername(a.sipUsername), null);
    await store.recordLastSeen(a.mac, '198.51.100.8', 8_000);
    assert.equal((await store.getDevice(a.mac))?.lastProvisionedIp, '198.51.100.8');
    await new Promise((r) => setTimeout(r, 50)); // the batch is written
    assert.equal(other.prepare('SELECT last_provisioned_ip FROM devices WHERE mac = ?').pluck().get(a.mac), '198.51.100.8');
    assert.equal((await store.getDevice(a.mac))?.lastProvisionedAt, 8_000);
    assert.equal(await store.deleteDevice(added.mac, makeAudit({ tenantId: t.id })), true);
    assert.equal(await store.getDevice(added.mac), null);
    assert.equal(await store.getDeviceBySipUsername(added.sipUsername), null);
  });

  it('a mutation that fails leaves the device as it was, and a copy cannot be changed by a caller', async () => {
    const { devices } = await keptFleet(1);
    const a = devices[0]!;
    await assert.rejects(
      store.mutateDevice(a.mac, () => {
        throw new Error('refused');
      }),
      /refused/,
    );
    const got = (await store.getDevice(a.mac))!;
    assert.deepEqual(got, a);
    assert.throws(() => {
      (got.auth as { failures: number }).failures = 99;
    }, TypeError);
    assert.deepEqual(await store.getDevice(a.mac), a);
  });

  it('a device written here is kept as written: its next write and read decide on the copy, not the row', async () => {
    const { devices } = await keptFleet(1);
    const a = devices[0]!;
    // First, so that the directory has caught up with it: its own logged write would drop the copy when another connection commits.
    other.exec('DROP TRIGGER devices_updated');
    await pastObservation();
    assert.deepEqual(await store.getDevice(a.mac), a);
    await store.mutateDevice(a.mac, (cur) => ({ next: { ...cur!, model: 'T57W' }, result: 0 }));
    assert.equal(directory().devices, 1, 'the written device is the copy');
    other.prepare("UPDATE devices SET model = 'hidden' WHERE mac = ?").run(a.mac); // behind the log: only the row knows
    await pastObservation();
    assert.equal((await store.getDevice(a.mac))?.model, 'T57W', 'the copy answered the read');
    const seen = await store.mutateDevice(a.mac, (cur) => ({ next: { ...cur!, auth: { ...cur!.auth, failures: 1 } }, result: cur!.model }));
    assert.equal(seen, 'T57W', 'the copy answered inside the write transaction');
    const row = other.prepare('SELECT model, failures FROM devices WHERE mac = ?').get(a.mac);
    assert.deepEqual(row, { model: 'hidden', failures: 1 }, 'only the changed column was written');
  });

  it("a write decided on a copy sets both last-seen columns when either changed (another process's are not logged)", async () => {
    const { devices } = await keptFleet(1);
    const a = devices[0]!;
    await store.mutateDevice(a.mac, (cur) => ({ next: { ...cur!, lastProvisionedIp: '198.51.100.1', lastProvisionedAt: 1_000 }, result: 0 }));
    other.prepare("UPDATE devices SET last_provisioned_ip = '203.0.113.9', last_provisioned_at = 2_000 WHERE mac = ?").run(a.mac);
    await pastObservation();
    assert.equal((await store.getDevice(a.mac))?.lastProvisionedIp, '198.51.100.1', 'the copy still answers');
    await store.mutateDevice(a.mac, (cur) => ({ next: { ...cur!, lastProvisionedAt: 3_000 }, result: 0 }));
    const row = other.prepare('SELECT last_provisioned_ip AS ip, last_provisioned_at AS at FROM devices WHERE mac = ?').get(a.mac);
    assert.deepEqual(row, { ip: '198.51.100.1', at: 3_000 }, 'the address and time written together, as one pair');
  });

  it('in a group, a mutation rolled back to its savepoint is not kept; the others are', async () => {
    const { devices } = await keptFleet(2);
    const [a, b] = devices as [Device, Device];
    const failing = store.mutateDevice(a.mac, (cur) => ({
      next: { ...cur!, model: 'rolled-back' },
      result: 0,
      trust: [{ tenantId: 999_999, ip: '198.51.100.1', until: 1 }], // no such tenant: fails after the device was written
    }));
    const passing = store.mutateDevice(b.mac, (cur) => ({ next: { ...cur!, model: 'kept' }, result: 0 }));
    await assert.rejects(failing, /no tenant/);
    await passing;
    assert.equal((await store.getDevice(a.mac))?.model, a.model);
    assert.equal((await store.getDevice(b.mac))?.model, 'kept');
    assert.equal(other.prepare('SELECT model FROM devices WHERE mac = ?').pluck().get(a.mac), a.model);
  });

  it('in a group, a second mutation of a device decides on what the first wrote, not on the older copy', async () => {
    const { devices } = await keptFleet(1);
    const a = devices[0]!;
    const bump = () =>
      store.mutateDevice(a.mac, (cur) => ({ next: { ...cur!, auth: { ...cur!.auth, failures: cur!.auth.failures + 1 } }, result: cur!.auth.failures }));
    assert.deepEqual(await Promise.all([bump(), bump(), bump()]), [0, 1, 2]);
    assert.equal(other.prepare('SELECT failures FROM devices WHERE mac = ?').pluck().get(a.mac), 3);
    assert.equal((await store.getDevice(a.mac))?.auth.failures, 3);
  });

  it('a copy whose row is gone behind the log fails the write and keeps nothing', async () => {
    const { devices } = await keptFleet(1);
    const a = devices[0]!;
    other.exec('DROP TRIGGER devices_deleted');
    other.prepare('DELETE FROM devices WHERE mac = ?').run(a.mac);
    await pastObservation();
    await assert.rejects(store.mutateDevice(a.mac, (cur) => ({ next: { ...cur!, model: 'ghost' }, result: 0 })));
    assert.equal(await store.getDevice(a.mac), null, 'the copy went with the failed write; the row answers');
  });

  it("this process's own changes do not count against the log: another connection's commit after many of them costs no catching up", async () => {
    const { devices } = await keptFleet(2_500);
    const bump = (d: Device) => store.mutateDevice(d.mac, (cur) => ({ next: { ...cur!, auth: { ...cur!.auth, failures: 1 } }, result: 0 }));
    await Promise.all(devices.map(bump)); // 2,500 entries of its own, more than one step applies
    other.prepare("UPDATE devices SET model = 'other' WHERE mac = ?").run(devices[0]!.mac);
    await pastObservation();
    await bump(devices[1]!); // a write of its own before any read: the other connection's entry is applied, not passed over
    assert.equal((await store.getDevice(devices[0]!.mac))?.model, 'other', "the other connection's change shows");
    assert.equal(directory().ready, true, "caught up in one step: only the other connection's entry was new");
    assert.equal(directory().devices, 2_500, 'the devices written here kept their copies');
    assert.equal((await store.getDevice(devices[1_234]!.mac))?.auth.failures, 1);
  });

  it('loads a large store between other work, answering from the rows meanwhile', async () => {
    const t = await makeTenant(store, 'acme');
    const devices = Array.from({ length: 5_000 }, () => makeDevice({ tenantId: t.id }));
    insertOver(devices);
    store.keepDeviceDirectory();
    assert.equal(directory().ready, false, 'still loading after the first chunk');
    const last = devices[4_999]!;
    assert.deepEqual(await store.getDevice(last.mac), last);
    other.prepare("UPDATE devices SET model = 'during' WHERE mac = ?").run(last.mac); // after the load began
    await untilLoaded();
    assert.ok(directory().devices >= 4_999, 'every device, but perhaps the one changed meanwhile (its row answers)');
    await pastObservation();
    assert.equal((await store.getDevice(last.mac))?.model, 'during');
    assert.deepEqual(await store.getDevice(devices[0]!.mac), devices[0]);
  });

  it('more changes than one step catches up in the background, answering from the rows meanwhile', async () => {
    const { t } = await keptFleet(1);
    const many = Array.from({ length: 2_500 }, () => makeDevice({ tenantId: t.id }));
    insertOver(many);
    await pastObservation();
    assert.deepEqual(await store.getDevice(many[2_499]!.mac), many[2_499]);
    await untilLoaded();
    for (const d of [many[0]!, many[1_234]!]) assert.deepEqual(await store.getDevice(d.mac), d);
  });

  it('keeps the newest 100,000 entries of the log (trimmed every 1,000); a process that missed trimmed ones loads again', async () => {
    const { devices } = await keptFleet(2);
    const a = devices[0]!;
    other.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 101000)
      INSERT INTO device_changes (mac) SELECT 'ff0000000000' FROM n`);
    const [count, oldest, newest] = other.prepare('SELECT count(*), min(seq), max(seq) FROM device_changes').raw().get() as number[];
    assert.ok(count! >= 100_000 && count! < 101_000, `${count} entries kept`); // trimmed every 1,000
    assert.ok(oldest! > 2, 'the oldest entries are gone');
    // The change below is logged, but the entries between the directory's last one and it are gone.
    other.prepare("UPDATE devices SET model = 'after-trim' WHERE mac = ?").run(a.mac);
    other.prepare('DELETE FROM device_changes WHERE seq = ?').run(newest! + 1);
    await pastObservation();
    assert.equal((await store.getDevice(a.mac))?.model, 'after-trim', 'read from the row while loading again');
    await untilLoaded();
    assert.equal((await store.getDevice(a.mac))?.model, 'after-trim');
  });
});
