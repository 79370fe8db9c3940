import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import BetterSqlite3 from 'better-sqlite3';
import { attempt } from '../../src/domain/auth';
import { DEFAULT_POLICY, type Policy } from '../../src/domain/policy';
import type { AuthRecord } from '../../src/domain/types';
import { MIGRATIONS, openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';

/**
 * Several processes share one SQLite file, as the SIP side and the
 * provisioning side (or several papgate processes) do. Parallel wrong PAPs
 * must leave exactly what the same attempts made one after another leave.
 */

const WORKERS = 4;
const PER_WORKER = 5; // 20 attempts in all
const REPLY_TIMEOUT_MS = 15_000;
const WORKER_SCRIPT = join(__dirname, '..', 'helpers', 'store-attempt-worker.ts');

/** One worker process and the JSON lines it prints. */
class Worker {
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private stderr = '';

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.waiter?.();
    });
    child.stderr!.on('data', (b: Buffer) => {
      this.stderr += b.toString();
    });
    child.on('exit', () => this.waiter?.());
  }

  send(msg: object): void {
    this.child.stdin!.write(`${JSON.stringify(msg)}\n`);
  }

  async next(): Promise<Record<string, unknown>> {
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    while (this.lines.length === 0) {
      if (this.child.exitCode !== null) throw new Error(`worker exited ${this.child.exitCode}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`worker did not answer: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 250);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return JSON.parse(this.lines.shift()!) as Record<string, unknown>;
  }
}

/** What `n` wrong attempts in a row do, by the pure state machine. */
function sequential(auth: AuthRecord, n: number, policy: Policy) {
  const outcomes: string[] = [];
  let now = Date.now();
  for (let i = 0; i < n; i++) {
    const r = attempt(auth, 'wrong!', now, policy);
    outcomes.push(r.outcome);
    auth = r.auth;
    now += 1; // the real attempts happen at increasing times
  }
  return { outcomes, auth };
}

const tally = (xs: string[]) => [...xs].sort().join(',');

describe('SQLite store shared by several processes', function () {
  this.timeout(60_000);
  let dir: string;
  let dbPath: string;
  let store: SqliteStore;
  let tenantId: number;
  const workers: Worker[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-store-conc-'));
    dbPath = join(dir, 'nested', 'papgate.db');
    // The workers race to create and migrate the fresh file.
    for (let i = 0; i < WORKERS; i++) {
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', WORKER_SCRIPT, dbPath], {
        cwd: join(__dirname, '..', '..'),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      workers.push(new Worker(child));
    }
    for (const w of workers) assert.deepEqual(await w.next(), { ready: true });
    store = await openSqliteStore(dbPath);
    tenantId = (await makeTenant(store, 'acme')).id;
  });

  after(async () => {
    for (const w of workers) {
      w.child.stdin!.end();
      if (w.child.exitCode === null) w.child.kill();
    }
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applied the migrations once although four processes opened the new file at once', () => {
    assert.equal(store.schemaVersion(), MIGRATIONS.length);
    assert.deepEqual(store.migrations, { from: MIGRATIONS.length, to: MIGRATIONS.length });
    const raw = new BetterSqlite3(dbPath, { readonly: true });
    try {
      assert.deepEqual(
        raw.prepare('SELECT version FROM schema_migrations').all(),
        MIGRATIONS.map((_, i) => ({ version: i + 1 })),
      );
    } finally {
      raw.close();
    }
  });

  const cases: [string, Policy][] = [
    ['default policy (the 3rd wrong PAP locks for 30 min)', DEFAULT_POLICY],
    // Lock-outs already over when they start. Not 0: each attempt reads the clock before it waits for
    // the lock, so its `now` may be a few ms older than a lockedUntil another process just wrote.
    ['lock-outs that end at once (the 9th wrong PAP blocks)', { ...DEFAULT_POLICY, lockoutMs: -60_000 }],
    ['maxFailures 100 (every attempt counts)', { ...DEFAULT_POLICY, maxFailures: 100 }],
  ];

  for (const [name, policy] of cases) {
    it(`20 parallel wrong PAPs from 4 processes equal 20 in a row: ${name}`, async () => {
      const device = makeDevice({ tenantId });
      await store.insertDevices([device], []);
      const expected = sequential(device.auth, WORKERS * PER_WORKER, policy);

      for (const w of workers) w.send({ mac: device.mac, n: PER_WORKER, policy });
      const outcomes: string[] = [];
      for (const w of workers) {
        const reply = await w.next();
        assert.equal(reply.error, undefined, String(reply.error));
        outcomes.push(...(reply.outcomes as string[]));
      }

      assert.equal(outcomes.length, 20);
      assert.equal(tally(outcomes), tally(expected.outcomes));
      const after = (await store.getDevice(device.mac))!.auth;
      assert.equal(after.state, expected.auth.state);
      assert.equal(after.failures, expected.auth.failures);
      assert.equal(after.lockouts, expected.auth.lockouts);
      assert.equal(after.pap, device.auth.pap);
      assert.equal(after.lockedUntil === null, expected.auth.lockedUntil === null);
      const audit = (await store.listAudit(tenantId, 1000)).filter((e) => e.mac === device.mac);
      assert.equal(tally(audit.map((e) => e.outcome)), tally(expected.outcomes));
    });
  }

  it('sanity: the three cases end in different places', () => {
    const ends = cases.map(([, p]) => sequential(makeDevice().auth, 20, p).auth);
    assert.deepEqual(
      ends.map((a) => [a.state, a.failures, a.lockouts]),
      [
        ['failed', 3, 1],
        ['blocked', 3, 3],
        ['needed', 20, 0],
      ],
    );
  });
});

describe('SQLite store reopened', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-store-reopen-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('does not re-apply migrations, and the data survives', async () => {
    const path = join(dir, 'papgate.db');
    const first = await openSqliteStore(path);
    assert.deepEqual(first.migrations, { from: 0, to: MIGRATIONS.length });
    const t = await makeTenant(first, 'acme');
    const d = makeDevice({ tenantId: t.id, lines: [{ server: 's', user: 'u', authName: 'a', password: 'p', displayName: 'd' }] });
    await first.insertDevices([d], []);
    await first.close();

    const raw = new BetterSqlite3(path, { readonly: true });
    const appliedAt = raw.prepare('SELECT version, applied_at FROM schema_migrations').all();
    raw.close();

    for (let i = 0; i < 2; i++) {
      const again = await openSqliteStore(path);
      try {
        assert.deepEqual(again.migrations, { from: MIGRATIONS.length, to: MIGRATIONS.length });
        assert.deepEqual(await again.getDevice(d.mac), d);
        assert.equal((await again.getTenantByName('acme'))?.id, t.id);
      } finally {
        await again.close();
      }
    }
    const raw2 = new BetterSqlite3(path, { readonly: true });
    try {
      assert.deepEqual(raw2.prepare('SELECT version, applied_at FROM schema_migrations').all(), appliedAt);
    } finally {
      raw2.close();
    }
  });
});
