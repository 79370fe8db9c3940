import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite';
import { MAX_PENDING } from '../../src/store/sqlite/last-seen';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';

/**
 * The SQLite store writes phones' last addresses behind, in batches
 * (src/store/sqlite/last-seen.ts): what reaches the file, and when.
 */
describe('SQLite store: last-seen written behind', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-last-seen-'));
    path = join(dir, 'papgate.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** What another connection (the CLI, another worker) reads from the file. */
  function readFromFile(mac: string): { ip: string | null; at: number | null } | undefined {
    const raw = new BetterSqlite3(path, { readonly: true });
    try {
      const row = raw.prepare('SELECT last_provisioned_ip AS ip, last_provisioned_at AS at FROM devices WHERE mac = ?').get(mac) as
        { ip: string | null; at: number | null } | undefined;
      return row;
    } finally {
      raw.close();
    }
  }

  /** Polls the file until `mac` shows `ip` (bounded: 100 tries). */
  async function untilWritten(mac: string, ip: string): Promise<boolean> {
    for (let i = 0; i < 100; i++) {
      if (readFromFile(mac)?.ip === ip) return true;
      await sleep(50);
    }
    return false;
  }

  it('a change written in the same moment as a queued address wins over it, also after the batch is written', async () => {
    const store = await openSqliteStore(path);
    try {
      const t = await makeTenant(store, 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store.insertDevices([d], []);
      const at = Date.now();
      await store.recordLastSeen(d.mac, '203.0.113.7', at); // a minimal answer, queued
      // a full answer in the same millisecond, from another address, decided later
      await store.mutateDevice(d.mac, (cur) => ({ next: { ...cur!, lastProvisionedIp: '198.51.100.5', lastProvisionedAt: at }, result: null }));
      await sleep(100); // the queue's batch (every ~10 ms) has been written by now
      assert.equal((await store.getDevice(d.mac))?.lastProvisionedIp, '198.51.100.5');
      assert.equal(readFromFile(d.mac)?.ip, '198.51.100.5');
    } finally {
      await store.close();
    }
  });

  it('reaches the file for other connections soon after, without a call to flush it', async () => {
    const store = await openSqliteStore(path);
    try {
      const t = await makeTenant(store, 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store.insertDevices([d], []);
      await store.recordLastSeen(d.mac, '198.51.100.4', 4_000);
      assert.ok(await untilWritten(d.mac, '198.51.100.4'), 'another connection never saw the value');
      assert.equal(readFromFile(d.mac)?.at, 4_000);
    } finally {
      await store.close();
    }
  });

  it('writes what is pending when the store closes', async () => {
    const store = await openSqliteStore(path);
    const t = await makeTenant(store, 'acme');
    const d = makeDevice({ tenantId: t.id });
    await store.insertDevices([d], []);
    await store.recordLastSeen(d.mac, '198.51.100.5', 5_000);
    await store.close();
    assert.deepEqual(readFromFile(d.mac), { ip: '198.51.100.5', at: 5_000 });
  });

  it('keeps a value while another connection holds the write lock and writes it once the lock goes', async () => {
    const store = await openSqliteStore(path);
    const other = new BetterSqlite3(path);
    try {
      const t = await makeTenant(store, 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store.insertDevices([d], []);
      other.exec('BEGIN IMMEDIATE');
      await store.recordLastSeen(d.mac, '198.51.100.6', 6_000);
      await sleep(100); // several flush periods meet the lock
      assert.equal((await store.getDevice(d.mac))?.lastProvisionedIp, '198.51.100.6', 'this process reads its own value');
      assert.equal(readFromFile(d.mac)?.ip, null, 'nothing written under the lock');
      other.exec('ROLLBACK');
      assert.ok(await untilWritten(d.mac, '198.51.100.6'), 'the value was lost');
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await store.close();
    }
  });

  it(`drops nothing when more than ${MAX_PENDING} values wait: the caller waits for a flush instead`, async () => {
    const store = await openSqliteStore(path);
    const t = await makeTenant(store, 'acme');
    const devices = Array.from({ length: MAX_PENDING + 500 }, () => makeDevice({ tenantId: t.id }));
    await store.insertDevices(devices, []);
    await Promise.all(devices.map((d, i) => store.recordLastSeen(d.mac, '203.0.113.1', 10_000 + i)));
    await store.close();
    const raw = new BetterSqlite3(path, { readonly: true });
    try {
      const n = raw.prepare("SELECT count(*) AS n FROM devices WHERE last_provisioned_ip = '203.0.113.1'").get() as { n: number };
      assert.equal(n.n, devices.length);
    } finally {
      raw.close();
    }
  });
});
