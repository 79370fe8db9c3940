import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite';
import { isLockError, LockRelease, retryWhileLocked } from '../../src/store/sqlite/lock-retry';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';
import { expectError } from './expect-error';

/** Counts event-loop turns until stopped: proof that the loop kept running while a call waited. */
function loopTurns() {
  let turns = 0;
  let on = true;
  const spin = () => {
    if (on) {
      turns++;
      setImmediate(spin);
    }
  };
  setImmediate(spin);
  return {
    stop: () => {
      on = false;
      return turns;
    },
  };
}

const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

/** How the SQLite adapter waits for another connection's write lock: from timers, never inside SQLite. */
describe('SQLite store waiting for a lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-lockwait-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("a release by the lock's holder ends every waiting pause at once", async () => {
    const release = new LockRelease();
    let locked = true;
    let tries = 0;
    const pauses: number[] = [];
    const waiting = [1, 2].map(() =>
      retryWhileLocked(
        () => {
          tries++;
          if (locked) throw busy();
          return 'done';
        },
        {
          deadlineMs: 600_000,
          // Pauses that only the release can end in this test's time.
          pause: (ms) => {
            pauses.push(ms);
            return release.pause(ms * 600_000);
          },
        },
      ),
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(tries, 2, 'each call tried once and is pausing');
    locked = false;
    release.released();
    assert.deepEqual(await Promise.all(waiting), ['done', 'done']);
    assert.equal(tries, 4);
    assert.ok(pauses.every((ms) => ms > 0 && ms <= 1));
    release.released(); // nobody waits: nothing happens
  });

  it('retryWhileLocked retries only lock errors, and gives up with the last one at the deadline', async () => {
    let tries = 0;
    assert.equal(
      await retryWhileLocked(
        () => {
          if (++tries < 4) throw busy();
          return 'done';
        },
        { deadlineMs: 5000 },
      ),
      'done',
    );
    assert.equal(tries, 4);
    tries = 0;
    await assert.rejects(
      retryWhileLocked(
        () => {
          tries++;
          throw new Error('other');
        },
        { deadlineMs: 5000 },
      ),
      /other/,
    );
    assert.equal(tries, 1, 'an error that is not a lock is not retried');
    tries = 0;
    await assert.rejects(
      retryWhileLocked(
        () => {
          tries++;
          throw busy();
        },
        { deadlineMs: 30 },
      ),
      (e) => isLockError(e),
    );
    assert.ok(tries > 1, `retried until the deadline (${tries} tries)`);
    await assert.rejects(
      retryWhileLocked(
        () => {
          throw busy();
        },
        { deadlineMs: 0 },
      ),
      (e) => isLockError(e),
    );
  });

  it('pauses stay short while a wait is young, then grow for a long lock, and stop at the deadline', async () => {
    let clock = 0;
    const pauses: { at: number; ms: number }[] = [];
    await assert.rejects(
      retryWhileLocked(
        () => {
          throw busy();
        },
        {
          deadlineMs: 2000,
          now: () => clock,
          random: () => 0.999_999, // no jitter: each pause is the whole current one
          pause: async (ms) => {
            pauses.push({ at: clock, ms });
            clock += ms;
          },
        },
      ),
      (e) => isLockError(e),
    );
    const young = pauses.filter((p) => p.at < 250);
    assert.deepEqual(
      young.slice(0, 4).map((p) => Math.round(p.ms)),
      [1, 2, 4, 5],
    );
    assert.ok(
      young.every((p) => p.ms <= 5),
      'a young wait pauses 5 ms at most: a sibling worker or the checkpoint worker lets go within a few',
    );
    const old = pauses.filter((p) => p.at >= 300);
    assert.ok(old.length > 0 && old.every((p) => p.ms > 5 && p.ms <= 50), 'a long wait pauses longer, up to 50 ms');
    assert.ok(old.some((p) => Math.round(p.ms) === 50));
    assert.ok(clock >= 2000 && clock < 2050, `gave up at the deadline (${clock} ms)`);
  });

  it('a write waits for the lock with the event loop running, then decides on the row as stored after the lock', async () => {
    const path = join(dir, 'papgate.db');
    const store = await openSqliteStore(path, { busyTimeoutMs: 10_000 });
    const t = await makeTenant(store, 'acme');
    const d = makeDevice({ tenantId: t.id });
    await store.insertDevices([d], []);
    const other = new BetterSqlite3(path);
    other.exec('BEGIN IMMEDIATE');
    other.prepare('UPDATE devices SET failures = 2 WHERE mac = ?').run(d.mac);
    const seen: number[] = [];
    const turns = loopTurns();
    const write = store.mutateDevice(d.mac, (dv) => {
      seen.push(dv!.auth.failures);
      return { next: { ...dv!, auth: { ...dv!.auth, failures: dv!.auth.failures + 1 } }, result: dv!.auth.failures };
    });
    // Let the write meet the lock several times; reads and pings answer meanwhile.
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(seen, [], 'the change must not run without the lock');
    assert.equal((await store.getDevice(d.mac))!.auth.failures, 0, 'reads go on under WAL (the old row)');
    await expectError(store.ping(), 'unavailable', /busy/);
    other.exec('COMMIT');
    assert.equal(await write, 2, 'the change saw the row as the other connection left it');
    assert.ok(turns.stop() > 10, 'the event loop kept turning while the write waited');
    assert.deepEqual(seen, [2], 'the change ran once');
    assert.equal((await store.getDevice(d.mac))!.auth.failures, 3);
    other.close();
    await store.close();
  });

  it('many waiting writes all land once the lock is released, none twice', async () => {
    const path = join(dir, 'papgate.db');
    const store = await openSqliteStore(path, { busyTimeoutMs: 10_000 });
    const t = await makeTenant(store, 'acme');
    const d = makeDevice({ tenantId: t.id });
    await store.insertDevices([d], []);
    const other = new BetterSqlite3(path);
    other.exec('BEGIN IMMEDIATE');
    const writes = Array.from({ length: 30 }, () =>
      store.mutateDevice(d.mac, (dv) => ({
        next: { ...dv!, auth: { ...dv!.auth, failures: dv!.auth.failures + 1 } },
        result: dv!.auth.failures,
      })),
    );
    await new Promise((r) => setTimeout(r, 100));
    other.exec('ROLLBACK');
    const before = (await Promise.all(writes)).sort((a, b) => a - b);
    assert.deepEqual(
      before,
      Array.from({ length: 30 }, (_, i) => i),
      'each write saw the one before',
    );
    assert.equal((await store.getDevice(d.mac))!.auth.failures, 30);
    other.close();
    await store.close();
  });

  it('opening waits longer than a call would (a slow first migrator), and gives up at its own deadline', async () => {
    const path = join(dir, 'papgate.db');
    (await openSqliteStore(path)).close();
    const other = new BetterSqlite3(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      await expectError(openSqliteStore(path, { busyTimeoutMs: 20, openTimeoutMs: 20 }), 'unavailable', /busy/);
    } catch (e) {
      other.exec('ROLLBACK');
      other.close();
      throw e;
    }
    await opensOnceReleased(path, other, 'ROLLBACK');
  });

  it('opening waits while another process holds a new file exclusively (switching it to WAL)', async () => {
    const path = join(dir, 'fresh.db');
    const other = new BetterSqlite3(path);
    other.pragma('journal_mode = DELETE');
    other.exec('BEGIN EXCLUSIVE; CREATE TABLE first_migrator_was_here (x INTEGER)');
    await opensOnceReleased(path, other, 'COMMIT');
  });

  it('opening waits for a lock held by another connection without blocking the loop', async () => {
    const path = join(dir, 'papgate.db');
    (await openSqliteStore(path)).close();
    const other = new BetterSqlite3(path);
    other.exec('BEGIN IMMEDIATE');
    const turns = loopTurns();
    const opening = openSqliteStore(path, { busyTimeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    other.exec('ROLLBACK');
    const store = await opening;
    assert.ok(turns.stop() > 10, 'the event loop kept turning while opening waited');
    await store.ping();
    other.close();
    await store.close();
  });
});

/**
 * Opens `path` (with a call deadline far shorter than the wait) while `other`
 * holds its lock, ends `other`'s transaction 300 ms later with `release`,
 * and checks that the opening then completes to a working store.
 */
async function opensOnceReleased(path: string, other: BetterSqlite3.Database, release: 'COMMIT' | 'ROLLBACK'): Promise<void> {
  try {
    const opening = openSqliteStore(path, { busyTimeoutMs: 20 });
    await new Promise((r) => setTimeout(r, 300));
    other.exec(release);
    const store = await opening;
    await store.ping();
    await store.close();
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
  }
}
