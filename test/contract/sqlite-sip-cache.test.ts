import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import BetterSqlite3 from 'better-sqlite3';
import type { StoredRegistration } from '../../src/ports/store';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { closeSqlitePair, openSqlitePair, pastObservation, type SqlitePair } from '../helpers/sqlite-pair';
import { makeDevice, makeRegistration, makeTenant } from '../helpers/store-fixtures';

/**
 * What a digest REGISTER reads, the device by SIP username and the account's
 * registration, is kept in memory by the SQLite store (device-cache.ts,
 * registrations.ts): every change by this store shows on the next read; by
 * another connection or process, once the store's last data_version reading
 * is a few milliseconds old (data-version.ts).
 */
describe('SQLite store: devices by SIP username and registrations read again, never staler than a few milliseconds', () => {
  let pair: SqlitePair;
  let path: string;
  let store: SqliteStore;
  let other: BetterSqlite3.Database;
  beforeEach(async () => {
    pair = await openSqlitePair('papgate-sip-cache-');
    ({ path, store, other } = pair);
  });
  afterEach(async () => closeSqlitePair({ ...pair, store })); // a test may have opened the file again

  const reg = (over: Partial<StoredRegistration> = {}) => makeRegistration('pgcache1', { expiresAt: 100_000, ...over });

  /** A device whose SIP account was looked up often enough to be kept. */
  async function registeringDevice() {
    const t = await makeTenant(store, 'acme');
    const d = makeDevice({ tenantId: t.id });
    await store.insertDevices([d], []);
    for (let i = 0; i < 3; i++) assert.equal((await store.getDeviceBySipUsername(d.sipUsername))?.sipPassword, d.sipPassword);
    return d;
  }

  it('a SIP password changed by another process is used on the next lookup', async () => {
    const d = await registeringDevice();
    // a separate node process, as the CLI or another papgate would be
    const script = `const D = require('better-sqlite3'); const db = new D(process.argv[1]);
      db.prepare('UPDATE devices SET sip_password = ? WHERE mac = ?').run('changed-elsewhere', process.argv[2]); db.close();`;
    execFileSync(process.execPath, ['-e', script, path, d.mac], { cwd: process.cwd(), timeout: 30_000 });
    await pastObservation();
    assert.equal((await store.getDeviceBySipUsername(d.sipUsername))?.sipPassword, 'changed-elsewhere');
  });

  it('a renamed or deleted SIP account is gone on the next lookup, by another connection or by this store', async () => {
    const d = await registeringDevice();
    other.prepare('UPDATE devices SET sip_username = ? WHERE mac = ?').run('pgrenamed', d.mac);
    await pastObservation();
    assert.equal(await store.getDeviceBySipUsername(d.sipUsername), null);
    assert.equal((await store.getDeviceBySipUsername('pgrenamed'))?.mac, d.mac);
    other.prepare('UPDATE devices SET sip_username = ? WHERE mac = ?').run(d.sipUsername, d.mac);
    await pastObservation();
    for (let i = 0; i < 3; i++) await store.getDeviceBySipUsername(d.sipUsername);
    await store.mutateDevice(d.mac, (cur) => ({ next: { ...cur!, sipPassword: 'changed-here' }, result: 0 }));
    assert.equal((await store.getDeviceBySipUsername(d.sipUsername))?.sipPassword, 'changed-here');
  });

  it("this store's own saves and deletions of a registration show on the next read", async () => {
    const r = reg();
    assert.equal(await store.getRegistration(r.username, 1_000), null);
    await store.saveRegistration(r, 1_000);
    assert.deepEqual(await store.getRegistration(r.username, 1_000), r);
    await store.saveRegistration(reg({ cseq: 2, contact: 'sip:pgcache1@203.0.113.9' }), 1_000);
    assert.equal((await store.getRegistration(r.username, 1_000))?.contact, 'sip:pgcache1@203.0.113.9');
    assert.equal(await store.getRegistration(r.username, 100_000), null, 'lapsed');
    assert.equal(await store.deleteRegistration(r.username), true);
    assert.equal(await store.getRegistration(r.username, 1_000), null);
  });

  it('a registration written or removed by another papgate process shows on the next read', async () => {
    const r = reg();
    await store.saveRegistration(r, 1_000);
    assert.deepEqual(await store.getRegistration(r.username, 1_000), r);
    const second = await openSqliteStore(path); // another node on the same file
    try {
      const moved = reg({ cseq: 5, sourceAddress: '203.0.113.50', path: ['sip:lb.example.net;lr'] });
      await second.saveRegistration(moved, 1_000);
      await pastObservation();
      assert.deepEqual(await store.getRegistration(r.username, 1_000), moved);
      assert.equal(await second.deleteRegistration(r.username), true);
      await pastObservation();
      assert.equal(await store.getRegistration(r.username, 1_000), null);
      await second.saveRegistration(r, 1_000); // a binding where this store last read none
      await pastObservation();
      assert.deepEqual(await store.getRegistration(r.username, 1_000), r);
    } finally {
      await second.close();
    }
    other.prepare('UPDATE registrations SET cseq = 77 WHERE username = ?').run(r.username);
    await pastObservation();
    assert.equal((await store.getRegistration(r.username, 1_000))?.cseq, 77);
  });

  it('a caller cannot change a kept registration', async () => {
    await store.saveRegistration(reg({ path: ['sip:lb.example.net;lr'] }), 1_000);
    const got = (await store.getRegistration('pgcache1', 1_000))!;
    assert.throws(() => {
      (got as { cseq: number }).cseq = 99;
    }, TypeError);
    assert.throws(() => got.path.push('sip:evil.example.net'), TypeError);
    assert.equal((await store.getRegistration('pgcache1', 1_000))?.cseq, 1);
  });
});
