import assert from 'node:assert/strict';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { silentLogger, type Logger } from '../../src/ports/logger';
import { MIGRATIONS, openSqliteStore } from '../../src/store/sqlite';
import { Checkpointer } from '../../src/store/sqlite/checkpointer';
import { applyMigrations } from '../../src/store/sqlite/migrate';
import { DEVICE_COLUMNS, deviceParams, deviceRowOf } from '../../src/store/sqlite/rows';
import { INSERT_DEVICE_SQL } from '../../src/store/sqlite/statements';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';
import { expectError } from './expect-error';

/** What only the SQLite adapter does: files, pragmas, locks, housekeeping. */
describe('SQLite store specifics', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-sqlite-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates missing parent directories and leaves the file in WAL mode', async () => {
    const path = join(dir, 'a', 'b', 'papgate.db');
    const store = await openSqliteStore(path);
    await store.close();
    assert.ok(existsSync(path));
    const raw = new BetterSqlite3(path);
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal'); // persistent in the file
    } finally {
      raw.close();
    }
  });

  it('fails closed with unavailable when another process holds the write lock', async () => {
    const path = join(dir, 'papgate.db');
    const store = await openSqliteStore(path, { busyTimeoutMs: 50 });
    const t = await makeTenant(store, 'acme');
    const d = makeDevice({ tenantId: t.id });
    await store.insertDevices([d], []);
    const other = new BetterSqlite3(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      let called = false;
      const err = await expectError(
        store.mutateDevice(d.mac, () => {
          called = true;
          return { result: 0 };
        }),
        'unavailable',
        /busy/,
      );
      assert.equal(called, false, 'the check must not run without the lock');
      assert.doesNotMatch(err.message, /SQLITE_BUSY|database is locked/);
      assert.equal((await store.getDevice(d.mac))?.mac, d.mac, 'reads still work under WAL');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    assert.equal(await store.mutateDevice(d.mac, () => ({ result: 'ok' })), 'ok');
    await store.close();
  });

  it('ping rejects at once while another process holds the write lock, and resolves after', async () => {
    const path = join(dir, 'papgate.db');
    const store = await openSqliteStore(path, { busyTimeoutMs: 5000 });
    const other = new BetterSqlite3(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      await expectError(store.ping(), 'unavailable', /busy/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    await store.ping();
    await store.close();
  });

  it('refuses a file that is not a database with a clear unavailable error', async () => {
    const path = join(dir, 'junk.db');
    writeFileSync(path, 'this is not a database, just some text that is long enough to look like a header....');
    await expectError(openSqliteStore(path), 'unavailable', /junk\.db.*not a database/);
  });

  it('refuses a path it cannot create', async () => {
    const file = join(dir, 'file');
    writeFileSync(file, '');
    await expectError(openSqliteStore(join(file, 'papgate.db')), 'unavailable', /cannot open the database.*directory should be/);
  });

  it('refuses a database written by a newer papgate', async () => {
    const path = join(dir, 'papgate.db');
    await (await openSqliteStore(path)).close();
    const raw = new BetterSqlite3(path);
    raw.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)').run(MIGRATIONS.length + 1);
    raw.close();
    await expectError(openSqliteStore(path), 'unavailable', /newer/);
  });

  it('keeps the registrations of a version-2 file when it adds TLS to the allowed transports', async () => {
    const path = join(dir, 'papgate.db');
    const raw = new BetterSqlite3(path);
    applyMigrations(raw, 0, MIGRATIONS.slice(0, 2));
    raw
      .prepare(
        `INSERT INTO registrations (username, contact, source_address, source_port, source_transport, call_id, cseq, expires_at)
      VALUES ('pg1', 'sip:pg1@192.0.2.7:5060', '192.0.2.7', 5060, 'udp', 'c1', 3, 9000)`,
      )
      .run();
    assert.throws(() => raw.prepare("UPDATE registrations SET source_transport = 'tls'").run(), /CHECK/);
    raw.close();
    const store = await openSqliteStore(path);
    const kept = await store.getRegistration('pg1', 1000);
    assert.equal(kept?.sourceTransport, 'udp');
    assert.equal(kept?.cseq, 3);
    await store.saveRegistration({ ...kept, sourceTransport: 'tls', sourcePort: 40000 }, 1000);
    assert.equal((await store.getRegistration('pg1', 1000))?.sourceTransport, 'tls');
    await store.close();
  });

  it('keeps every device of a version-5 file when it rebuilds the table keyed by MAC alone', async () => {
    const path = join(dir, 'papgate.db');
    const raw = new BetterSqlite3(path);
    raw.pragma('foreign_keys = ON');
    applyMigrations(raw, 0, MIGRATIONS.slice(0, 5));
    raw.prepare("INSERT INTO tenants (id, name, locale, token_hash, created_at) VALUES (1, 'acme', 'en', 'h1', 0), (2, 'other', 'de', 'h2', 0)").run();
    raw.prepare("INSERT INTO sites (id, tenant_id, name, locale, emergency_numbers) VALUES (7, 1, 'paris', 'fr', '15,17')").run();
    const devices = [
      makeDevice({ tenantId: 1, siteId: 7, lines: [{ server: 'pbx.example', user: 'u"1', authName: 'a', password: 'p,é', displayName: 'Ann' }] }),
      makeDevice({
        tenantId: 1,
        auth: { state: 'successful', pap: null, failures: 0, lockouts: 1, lockedUntil: null, suspendedUntil: 99 },
        secretHash: 'aa',
        prevSecretHash: 'bb',
      }),
      makeDevice({ tenantId: 2, lastProvisionedIp: '2001:db8::1', lastProvisionedAt: 1234 }),
    ];
    const insert = raw.prepare(INSERT_DEVICE_SQL);
    for (const d of devices) insert.run(deviceParams(d));
    raw.close();

    const store = await openSqliteStore(path);
    try {
      for (const d of devices) assert.deepEqual(await store.getDevice(d.mac), d);
      assert.deepEqual(await store.getDeviceBySipUsername(devices[1]!.sipUsername), devices[1]);
      assert.deepEqual((await store.listDevices(1)).map((d) => d.mac).sort(), [devices[0]!.mac, devices[1]!.mac].sort());
      assert.deepEqual(
        (await store.listDevices(1, { siteId: 7 })).map((d) => d.mac),
        [devices[0]!.mac],
      );
      // The constraints came along: one SIP user name per device, a site of the device's own tenant.
      await expectError(store.insertDevices([makeDevice({ tenantId: 1, sipUsername: devices[0]!.sipUsername })], []), 'conflict');
      await expectError(store.insertDevices([makeDevice({ tenantId: 2, siteId: 7 })], []), 'not_found');
    } finally {
      await store.close();
    }
    const check = new BetterSqlite3(path, { readonly: true });
    try {
      const sql = check.prepare<[], string>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'devices'").pluck().get()!;
      assert.match(sql, /STRICT, WITHOUT ROWID/);
      const indexes = check.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'devices' ORDER BY name").pluck().all();
      assert.deepEqual(
        indexes.filter((n) => !n.startsWith('sqlite_autoindex')),
        ['devices_by_site', 'devices_by_tenant'],
      );
      assert.deepEqual(check.pragma('foreign_key_check'), []);
    } finally {
      check.close();
    }
  });

  it('deletes expired trust windows lazily, without touching live ones', async () => {
    const path = join(dir, 'papgate.db');
    const store = await openSqliteStore(path);
    const t = await makeTenant(store, 'acme');
    const d = makeDevice({ tenantId: t.id });
    await store.insertDevices([d], []);
    await store.mutateDevice(d.mac, () => ({
      result: null,
      trust: [
        { tenantId: t.id, ip: '192.0.2.1', until: 1000 },
        { tenantId: t.id, ip: '192.0.2.2', until: 5000 },
      ],
    }));
    assert.equal((await store.listTemporaryTrust(t.id, 2000)).length, 1);
    const raw = new BetterSqlite3(path, { readonly: true });
    try {
      assert.deepEqual(raw.prepare('SELECT ip FROM temporary_trust').all(), [{ ip: '192.0.2.2' }]);
    } finally {
      raw.close();
      await store.close();
    }
  });

  it('updates only the columns a change touched, and nothing for an unchanged device', async () => {
    const path = join(dir, 'papgate.db');
    const store = await openSqliteStore(path);
    const t = await makeTenant(store, 'acme');
    const site = await store.createSite({ tenantId: t.id, name: 'hq', locale: null });
    const d = makeDevice({ tenantId: t.id });
    await store.insertDevices([d], []);
    const raw = new BetterSqlite3(path, { readonly: true });
    const version = () => raw.pragma('data_version', { simple: true });
    try {
      const before = version();
      await store.mutateDevice(d.mac, (cur) => ({ next: { ...cur! }, result: null }));
      assert.equal(version(), before, 'an unchanged device is not written');
      const lines = [{ server: 'pbx.example:5070', user: '100', authName: '100', password: 'pw', displayName: 'Desk' }];
      const changed = { ...d, siteId: site.id, sipUsername: 'renamed', lines, auth: { ...d.auth, failures: 2 } };
      await store.mutateDevice(d.mac, () => ({ next: changed, result: null }));
      assert.notEqual(version(), before);
      assert.deepEqual(await store.getDevice(d.mac), changed);
      assert.equal((await store.getDeviceBySipUsername('renamed'))?.mac, d.mac, 'the SIP username index follows');
      // A change that keeps the lines it read keeps them as stored (their text is not written out again):
      // stored in another spelling of the same JSON, they keep that spelling.
      const spelled = JSON.stringify(lines, null, 1);
      const writer = new BetterSqlite3(path);
      writer.prepare('UPDATE devices SET lines = ? WHERE mac = ?').run(spelled, d.mac);
      writer.close();
      await store.mutateDevice(d.mac, (cur) => ({ next: { ...cur!, auth: { ...cur!.auth, failures: 3 } }, result: null }));
      assert.deepEqual((await store.getDevice(d.mac))?.lines, lines);
      assert.equal((raw.prepare('SELECT lines FROM devices WHERE mac = ?').get(d.mac) as { lines: string }).lines, spelled);
      assert.deepEqual(
        (await store.listDevices(t.id, { siteId: site.id })).map((x) => x.mac),
        [d.mac],
      );
    } finally {
      raw.close();
      await store.close();
    }
  });

  it('maps raw device values to columns in DEVICE_COLUMNS order', () => {
    assert.deepEqual(deviceRowOf(DEVICE_COLUMNS), Object.fromEntries(DEVICE_COLUMNS.map((c) => [c, c])));
  });

  it('checkpoints the WAL into the database file on a timer, and stops with the store', async () => {
    const path = join(dir, 'papgate.db');
    const store = await openSqliteStore(path);
    const t = await makeTenant(store, 'acme');
    store.startCheckpoints(5);
    const d = makeDevice({ tenantId: t.id });
    await store.insertDevices([d], []);
    /** Whether the database file alone (a copy, without its WAL) holds the device yet. */
    const inFile = () => {
      copyFileSync(path, join(dir, 'copy.db'));
      const raw = new BetterSqlite3(join(dir, 'copy.db'), { readonly: true });
      try {
        return (raw.prepare('SELECT count(*) AS n FROM devices WHERE mac = ?').get(d.mac) as { n: number }).n === 1;
      } catch {
        return false; // no schema yet, or copied mid-checkpoint
      } finally {
        raw.close();
      }
    };
    const deadline = Date.now() + 5000;
    while (!inFile()) {
      assert.ok(Date.now() < deadline, 'the device never reached the database file');
      await new Promise((r) => setTimeout(r, 20));
    }
    const started = Date.now();
    await store.close();
    assert.ok(Date.now() - started < 1000, 'close waits for the checkpointer only briefly');
  });

  it('checkpoints only on its worker: the WAL starts over under steady writes, with no checkpoint on the event loop', async () => {
    const path = join(dir, 'papgate.db');
    // The worker loads its own better-sqlite3: this wrapper sees only the connections of this thread.
    const onThisThread: string[] = [];
    const pragma = BetterSqlite3.prototype.pragma;
    BetterSqlite3.prototype.pragma = function (this: BetterSqlite3.Database, source: string, options?: BetterSqlite3.PragmaOptions) {
      if (/wal_checkpoint/i.test(source)) onThisThread.push(source);
      return pragma.call(this, source, options) as unknown;
    };
    const store = await openSqliteStore(path);
    try {
      const t = await makeTenant(store, 'acme');
      store.startCheckpoints(5);
      /** Salt-1 of the WAL header: SQLite changes it each time the WAL starts over. */
      const salt = () => {
        const fd = openSync(`${path}-wal`, 'r');
        try {
          const header = Buffer.alloc(32);
          readSync(fd, header, 0, 32, 0);
          return header.readUInt32BE(16);
        } finally {
          closeSync(fd);
        }
      };
      let restarts = 0;
      let last = salt();
      // A write every few milliseconds, for at least 400 ms, until the WAL has started over twice.
      const started = Date.now();
      while (restarts < 2 || Date.now() - started < 400) {
        assert.ok(Date.now() - started < 5000, `the WAL started over ${restarts} times in 5 s of writes`);
        await store.insertDevices([makeDevice({ tenantId: t.id })], []);
        await new Promise((r) => setTimeout(r, 2));
        const now = salt();
        if (now !== last) restarts++;
        last = now;
      }
    } finally {
      BetterSqlite3.prototype.pragma = pragma;
      await store.close();
    }
    assert.deepEqual(onThisThread, [], 'the event loop ran a checkpoint');
  });

  it('keeps the WAL short under commits faster than its passes: the backstop on the event loop is never reached', async () => {
    const path = join(dir, 'papgate.db');
    const store = await openSqliteStore(path);
    // Small thresholds, the same logic: the worker finishes the WAL at 100 frames; SQLite's own checkpoint would run at 1,000.
    const backstop = 2000;
    try {
      const t = await makeTenant(store, 'acme');
      store.startCheckpoints(50, { restart: 100, backstop });
      // A commit every millisecond or so for a second: one lands during nearly every pass of the worker (its file syncs take longer).
      const started = Date.now();
      let commits = 0;
      while (Date.now() - started < 1000) {
        await new Promise((r) => setTimeout(r, 1));
        await store.insertDevices(
          Array.from({ length: 10 }, () => makeDevice({ tenantId: t.id })),
          [],
        );
        commits++;
      }
      // The WAL file never shrinks: its size is the most frames it ever held (a 32-byte header, then 24 + 4,096 bytes a frame).
      const frames = (statSync(`${path}-wal`).size - 32) / (24 + 4096);
      assert.ok(commits > 100, `only ${commits} commits`);
      assert.ok(frames < backstop * 0.75, `the WAL grew to ${frames} frames (backstop ${backstop})`);
    } finally {
      await store.close();
    }
  });

  it('the checkpoint worker says when it lets the write lock go', async () => {
    const path = join(dir, 'papgate.db');
    const store = await openSqliteStore(path);
    const reader = new BetterSqlite3(path);
    let released = 0;
    const checkpointer = Checkpointer.start(path, 5, silentLogger, () => released++, 1);
    try {
      const t = await makeTenant(store, 'acme');
      // A reader's open snapshot keeps later frames from being copied: a round ends with frames left, and takes the lock for one more pass.
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM devices').get();
      await store.insertDevices([makeDevice({ tenantId: t.id })], []);
      const started = Date.now();
      while (released === 0) {
        assert.ok(Date.now() - started < 5000, 'no release in 5 s');
        await new Promise((r) => setTimeout(r, 10));
      }
      reader.exec('COMMIT');
      // And the lock really was let go: a write goes through at once.
      await store.insertDevices([makeDevice({ tenantId: t.id })], []);
    } finally {
      await checkpointer.stop();
      reader.close();
      await store.close();
    }
  });

  it('logs failures without secrets', async () => {
    const lines: string[] = [];
    const log: Logger = {
      debug: (o) => lines.push(JSON.stringify(o)),
      info: (o) => lines.push(JSON.stringify(o)),
      warn: (o) => lines.push(JSON.stringify(o)),
      error: (o) => lines.push(JSON.stringify(o)),
      child: () => log,
    };
    const path = join(dir, 'papgate.db');
    const store = await openSqliteStore(path, { log, busyTimeoutMs: 20 });
    const t = await makeTenant(store, 'acme');
    const d = makeDevice({ tenantId: t.id, sipPassword: 'hunter2-secret', auth: { pap: '987654' } });
    const other = new BetterSqlite3(path);
    other.exec('BEGIN IMMEDIATE');
    await expectError(store.insertDevices([d], []), 'unavailable');
    other.exec('ROLLBACK');
    other.close();
    await store.close();
    assert.ok(lines.length > 0, 'the failure was logged');
    assert.doesNotMatch(lines.join('\n'), /hunter2|987654/);
  });
});
