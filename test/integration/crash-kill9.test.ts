import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { CLI_ACTOR } from '../../src/app/actor';
import type { DeviceView } from '../../src/app/device-view';
import { createServices } from '../../src/app/services';
import { attempt, newAuthRecord, type AttemptOutcome } from '../../src/domain/auth';
import type { AuthRecord } from '../../src/domain/types';
import { systemClock } from '../../src/ports/clock';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import { openSqliteStore } from '../../src/store/sqlite';
import { REPO_ROOT } from '../helpers/cli';
import { wrongDigitFor } from '../helpers/dtmf-scenarios';
import { earPort, PORTS, runPhone, sleep, startRtpEar, TEST_IVR_ENV, writeTonePrompts, type RtpEar } from '../helpers/papgate-harness';
import { sippAvailable } from '../helpers/sipp';

// papgate as a child process (`papgate serve`) on its own SQLite file; a
// burst of wrong PAPs from parallel calls of one device; SIGKILL while the
// burst is on. After a restart, every verdict a caller heard ("wrong PIN",
// "locked out", "blocked") is counted in the store, the file passes
// PRAGMA integrity_check, and the device's counters are exactly what its
// audited attempts add up to, within the 9-guess budget.

const ADMIN_PORT = 18_091;
const POLICY = { maxFailures: 3, lockoutMs: 1000, maxLockouts: 3, suspendMs: 1_800_000, trustMs: 1_800_000 };
const ROUNDS = 3;
const CALLS = 8;

/** The verdict prompt a caller hears for each counted outcome. */
const HEARD_AS: Partial<Record<AttemptOutcome, string>> = { wrong: 'wrong-pin', locked: 'locked-out', blocked: 'blocked-now' };

describe('kill -9 during a burst of wrong PAPs (papgate serve as a child process)', function () {
  this.timeout(240_000);
  let dir: string;
  let db: string;
  let child: ChildProcess | null = null;

  before(function () {
    if (!sippAvailable()) this.skip();
    dir = mkdtempSync(path.join(tmpdir(), 'papgate-kill9-'));
    db = path.join(dir, 'papgate.db');
  });
  after(() => {
    child?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function startServe(): Promise<ChildProcess> {
    const env = {
      ...process.env,
      ...TEST_IVR_ENV,
      PAPGATE_DB: db,
      PAPGATE_LOG_LEVEL: 'warn',
      PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
      PAPGATE_PROVISIONING_PORT: String(ADMIN_PORT + 1),
      PAPGATE_ADMIN_ADDRESS: '127.0.0.1',
      PAPGATE_ADMIN_PORT: String(ADMIN_PORT),
      PAPGATE_PUBLIC_URL: `http://127.0.0.1:${ADMIN_PORT + 1}`,
      PAPGATE_SIGNALLING: 'embedded',
      PAPGATE_MEDIA: 'embedded',
      PAPGATE_SIP_ADDRESS: '127.0.0.1',
      PAPGATE_SIP_PORT: String(PORTS.sip),
      PAPGATE_SIP_TRANSPORTS: 'udp',
      PAPGATE_SIP_ADVERTISED_ADDRESS: '127.0.0.1',
      PAPGATE_RTP_ADDRESS: '127.0.0.1',
      PAPGATE_RTP_PORT_MIN: String(PORTS.rtpMin),
      PAPGATE_RTP_PORT_MAX: String(PORTS.rtpMax),
      PAPGATE_MAX_CALLS_PER_DEVICE: String(CALLS),
      PAPGATE_LOCKOUT_SECONDS: String(POLICY.lockoutMs / 1000),
      PAPGATE_PROMPTS_DIR: writeTonePrompts(path.join(dir, 'prompts')),
    };
    const c = spawn(process.execPath, ['--require', 'tsx/cjs', 'src/cli.ts', 'serve'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const until = Date.now() + 60_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`papgate serve exited (${c.exitCode}): ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${ADMIN_PORT}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return c;
      if (Date.now() > until) {
        c.kill('SIGKILL');
        throw new Error(`papgate serve not ready within 60 s: ${stderr}`);
      }
      await sleep(200);
    }
  }

  async function kill9(c: ChildProcess): Promise<void> {
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGKILL');
    await exited;
  }

  /** The verdicts the ear heard, over every call's stream. */
  const heardVerdicts = (ear: RtpEar) =>
    ear
      .streams()
      .flatMap((s) => s.prompts.map((p) => p.name))
      .filter((n) => Object.values(HEARD_AS).includes(n));

  it(`after ${ROUNDS} kills mid-burst every verdict a caller heard is counted, and the file is intact`, async () => {
    const store = await openSqliteStore(db);
    const services = createServices({ store, clock: systemClock, random: cryptoRandom, policy: POLICY, log: silentLogger });
    await services.tenants.create(CLI_ACTOR, 'acme', 'en');
    const device: DeviceView = await services.devices.create(CLI_ACTOR, { tenant: 'acme', mac: '001565aa0001', vendor: 'yealink', model: 'T46S' });
    await store.close();

    const heard: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      child = await startServe();
      const ear = await startRtpEar(earPort(PORTS.phone));
      try {
        const burst = runPhone('parallel-guesses.xml', device, {
          vars: { wrong: wrongDigitFor(device.pap!) },
          calls: CALLS,
          rate: 100,
          timeoutSec: 12,
          extraArgs: ['-l', String(CALLS), '-rp', '1000'],
        });
        // Kill once some verdicts were heard: the other calls are typing, waiting or being answered.
        const until = Date.now() + 30_000;
        while (heardVerdicts(ear).length < 2 && Date.now() < until) await sleep(20);
        await kill9(child);
        child = null;
        await burst; // SIPp's calls fail without papgate: only the ear and the store are judged
        heard.push(...heardVerdicts(ear));
      } finally {
        await ear.close();
      }
    }

    // Restarted on the same file: it opens (WAL recovery) and is ready.
    child = await startServe();
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    child = null;

    const raw = new BetterSqlite3(db, { readonly: true });
    try {
      assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(raw.pragma('foreign_key_check'), []);
      const rows = raw.prepare(`SELECT at, outcome FROM audit WHERE mac = ? AND action = 'pap-attempt' ORDER BY id`).all(device.mac) as {
        at: number;
        outcome: AttemptOutcome;
      }[];
      const stored = raw.prepare('SELECT auth_state, failures, lockouts, locked_until FROM devices WHERE mac = ?').get(device.mac) as {
        auth_state: string;
        failures: number;
        lockouts: number;
        locked_until: number | null;
      };
      const count = (xs: string[], x: string) => xs.filter((y) => y === x).length;
      for (const [outcome, prompt] of Object.entries(HEARD_AS)) {
        const counted = count(
          rows.map((r) => r.outcome),
          outcome,
        );
        assert.ok(counted >= count(heard, prompt!), `heard "${prompt}" ${count(heard, prompt!)} times, counted ${counted}`);
      }
      // The audited attempts, replayed through the state machine at their own times, give the stored device.
      let auth: AuthRecord = newAuthRecord(device.pap!);
      for (const r of rows) {
        const step = attempt(auth, wrongDigitFor(device.pap!).repeat(6), r.at, POLICY);
        assert.equal(step.outcome, r.outcome, `attempt at ${r.at}`);
        auth = step.auth;
      }
      assert.deepEqual(
        { state: stored.auth_state, failures: stored.failures, lockouts: stored.lockouts, lockedUntil: stored.locked_until },
        { state: auth.state, failures: auth.failures, lockouts: auth.lockouts, lockedUntil: auth.lockedUntil },
      );
      const guesses = rows.filter((r) => r.outcome in HEARD_AS).length;
      assert.ok(guesses <= POLICY.maxFailures * POLICY.maxLockouts, `${guesses} wrong guesses counted: within the budget of 9`);
      assert.ok(heard.length > 0 && rows.length > 0, 'the burst was on when papgate was killed');
      console.log(
        `      [figures] ${ROUNDS} kills: ${heard.length} verdicts heard, ${rows.length} attempts counted ` +
          `(${rows.map((r) => r.outcome).join(',')}); device ${stored.auth_state} ${stored.failures}/${stored.lockouts}`,
      );
    } finally {
      raw.close();
    }
  });
});
