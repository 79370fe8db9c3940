import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeSecret, hashSecret } from '../../src/domain/identity-secret';
import type { Store } from '../../src/ports/store';
import { openSqliteStore } from '../../src/store/sqlite';
import { wrongDigitFor } from '../helpers/dtmf-scenarios';
import { writeTonePrompts } from '../helpers/papgate-harness';
import { httpGet, secretOf, startServe, type LogLine, type ServeProcess } from '../helpers/serve-process';
import { runSipp, sippAvailable } from '../helpers/sipp';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';
import { portLayout } from '../helpers/ports';

// `papgate serve` with two provisioning workers (node:cluster), as a real
// child process on one SQLite file: what one worker decides is what the other
// sees at once, because every decision that matters is taken in a store
// transaction. Requests come on new connections from distinct loopback
// addresses (each its own client IP); the workers' debug log says which
// worker served which request.

/** From a free block, in the suite's first hook. */
const PORTS = { sip: 0, rtpMin: 0, rtpMax: 0, phone: 0, provisioning: 0, admin: 0 };
let BASE = '';

describe('provisioning workers: several processes on one port, exact across them', function () {
  this.timeout(120_000);
  let dir: string;
  let store: Store;
  let serve: ServeProcess | undefined;

  before(async () => {
    Object.assign(PORTS, await portLayout({ sip: 0, rtpMin: 10, rtpMax: 49, phone: 60, provisioning: 80, admin: 81 }));
    BASE = `http://127.0.0.1:${PORTS.provisioning}`;
    dir = mkdtempSync(path.join(tmpdir(), 'papgate-workers-'));
    store = await openSqliteStore(path.join(dir, 'papgate.db'));
    await makeTenant(store, 'workers');
    serve = await startServe({
      PAPGATE_DB: path.join(dir, 'papgate.db'),
      PAPGATE_WORKERS: '2',
      PAPGATE_DB_DEVICES_IN_MEMORY: 'on', // workers keep no devices in memory by default (auto)
      // many calls to one device within a minute: the per-device call budget has its own tests
      PAPGATE_LIMIT_IVR_CALLS_PER_DEVICE_PER_MINUTE: '0',
      PAPGATE_LIMIT_IVR_CALLS_PER_MINUTE: '0',
      PAPGATE_LOG_LEVEL: 'debug',
      PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
      PAPGATE_PROVISIONING_PORT: String(PORTS.provisioning),
      PAPGATE_ADMIN_PORT: String(PORTS.admin),
      PAPGATE_PUBLIC_URL: BASE,
      PAPGATE_SIP_ADDRESS: '127.0.0.1',
      PAPGATE_SIP_PORT: String(PORTS.sip),
      PAPGATE_SIP_TRANSPORTS: 'udp',
      PAPGATE_SIP_ADVERTISED_ADDRESS: '127.0.0.1',
      PAPGATE_RTP_ADDRESS: '127.0.0.1',
      PAPGATE_RTP_PORT_MIN: String(PORTS.rtpMin),
      PAPGATE_RTP_PORT_MAX: String(PORTS.rtpMax),
      PAPGATE_PROMPTS_DIR: writeTonePrompts(path.join(dir, 'prompts')),
      PAPGATE_IVR_FIRST_DIGIT_SECONDS: '10',
      PAPGATE_IVR_INTER_DIGIT_SECONDS: '5',
      PAPGATE_IVR_REPROMPTS: '1',
      PAPGATE_MAX_CALLS_PER_DEVICE: '10',
      PAPGATE_LOCKOUT_SECONDS: '1',
    });
  });

  after(async () => {
    await serve?.stop();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The worker whose debug log line says it served `url` to `ip`. */
  const servedBy = (url: string, ip: string): Promise<LogLine> =>
    serve!.waitForLog(
      (l) => l.msg === 'provisioning request' && l.url === url && l.ip === ip && typeof l.worker === 'number',
      10_000,
      `the log of GET ${url} from ${ip}`,
    );
  const withSecret = async (secret: string, over: Parameters<typeof makeDevice>[0] = {}) => {
    const d = makeDevice({ secretHash: hashSecret(secret), auth: { state: 'successful', pap: null }, ...over });
    await store.insertDevices([d], []);
    return d;
  };
  const newSecret = () => encodeSecret(Buffer.from(Array.from({ length: 24 }, () => Math.floor(Math.random() * 256))));

  it('a trust window opened by one worker lets the next request in at once, on either worker', async () => {
    const crossed: number[] = [];
    for (let k = 0; k < 6; k++) {
      const ip = `127.0.1.${10 + k}`;
      const s = newSecret();
      const known = await withSecret(s);
      const fresh = makeDevice();
      await store.insertDevices([fresh], []);
      const first = await httpGet(`${BASE}/p/${s}/${known.mac}.cfg`, { localAddress: ip });
      assert.equal(first.status, 200);
      assert.ok(secretOf(first.body), 'full configuration by the identity secret');
      const second = await httpGet(`${BASE}/${fresh.mac}.cfg`, { localAddress: ip });
      assert.equal(second.status, 200);
      assert.ok(secretOf(second.body), `request ${k}: the trust window opened a moment ago gives the full configuration`);
      const [a, b] = await Promise.all([servedBy(`/p/***/${known.mac}.cfg`, ip), servedBy(`/${fresh.mac}.cfg`, ip)]);
      if (a.worker !== b.worker) crossed.push(k);
    }
    assert.ok(crossed.length > 0, 'at least one pair was served by two different workers');
  });

  it('parallel full configurations on both workers rotate the identity secret exactly', async () => {
    const s0 = newSecret();
    const d = await withSecret(s0);
    const ip = '127.0.2.1';
    const results = await Promise.all(Array.from({ length: 12 }, () => httpGet(`${BASE}/p/${s0}/${d.mac}.cfg`, { localAddress: ip })));
    assert.deepEqual(
      results.map((r) => r.status),
      Array(12).fill(200),
    );
    const handedOut = results.map((r) => secretOf(r.body));
    assert.ok(
      handedOut.every((x) => x !== null),
      'each request presented a valid secret: each got a full configuration',
    );
    assert.equal(new Set(handedOut).size, 12, 'each got a secret of its own');
    const served = serve!.logs().filter((l) => l.msg === 'provisioning request' && l.url === `/p/***/${d.mac}.cfg` && l.ip === ip);
    assert.equal(new Set(served.map((l) => l.worker)).size, 2, 'both workers served some of them');

    const row = (await store.getDevice(d.mac))!;
    assert.equal(row.prevSecretHash, hashSecret(s0), 'the secret all of them presented stays valid (previous)');
    const winner = handedOut.find((x) => hashSecret(x!) === row.secretHash);
    assert.ok(winner, 'the current secret is one that was handed out');

    // Until the newest is used, the presented one still works; losers never do.
    const loser = handedOut.find((x) => x !== winner)!;
    assert.equal(secretOf((await httpGet(`${BASE}/p/${loser}/${d.mac}.cfg`, { localAddress: '127.0.2.2' })).body), null, 'an overwritten secret is not valid');
    assert.ok(secretOf((await httpGet(`${BASE}/p/${winner}/${d.mac}.cfg`, { localAddress: '127.0.2.3' })).body), 'the newest secret is valid');
    assert.equal(
      secretOf((await httpGet(`${BASE}/p/${s0}/${d.mac}.cfg`, { localAddress: '127.0.2.4' })).body),
      null,
      'once the newest was used, the one before it is no longer valid',
    );
  });

  it('every worker keeps every device in memory, and answers at once what another process added or deleted', async () => {
    const workers = new Set(
      serve!
        .logs()
        .filter((l) => l.msg === 'every device in memory')
        .map((l) => l.worker),
    );
    assert.equal(workers.size, 2, 'both workers loaded the devices');
    const d = makeDevice();
    await store.insertDevices([d], []);
    const answered = async (status: number, tag: number) => {
      const by = new Set<unknown>();
      for (let i = 0; i < 16; i++) {
        const ip = `127.0.5.${tag + i}`;
        assert.equal((await httpGet(`${BASE}/${d.mac}.cfg`, { localAddress: ip })).status, status, `request ${i}`);
        by.add((await servedBy(`/${d.mac}.cfg`, ip)).worker);
      }
      return by.size;
    };
    assert.equal(await answered(200, 10), 2, 'both workers served the device added a moment ago');
    await store.deleteDevice(d.mac, { at: Date.now(), tenantId: 1, mac: d.mac, sourceIp: null, actor: 'test', action: 'device-delete', outcome: 'ok' });
    await new Promise((r) => setTimeout(r, 20)); // another process's change shows within 5 ms (docs/store.md)
    assert.equal(await answered(404, 40), 2, 'both workers forgot the deleted device');
  });

  it('at most 9 wrong PINs are compared: parallel SIP guesses while both workers write the same device', async function () {
    if (!sippAvailable()) this.skip();
    const d = makeDevice();
    await store.insertDevices([d], []);
    let hammering = true;
    const fullSeen: string[] = [];
    let requests = 0;
    const hammer = (async () => {
      for (let i = 0; hammering && i < 100_000; i++) {
        // A new client IP each time: every request records it (a write on the device's row).
        const r = await httpGet(`${BASE}/${d.mac}.cfg`, { localAddress: `127.0.3.${1 + (i % 200)}` });
        requests++;
        if (r.status !== 200 || secretOf(r.body)) fullSeen.push(`${r.status}`);
      }
    })();
    try {
      for (let round = 0; round < 6; round++) {
        const r = await runSipp({
          scenario: 'parallel-guesses.xml',
          target: `127.0.0.1:${PORTS.sip}`,
          localPort: PORTS.phone,
          timeoutSec: 40,
          auth: { username: d.sipUsername, password: d.sipPassword },
          calls: 3,
          rate: 100,
          vars: { user: d.sipUsername, dial: '*89', wrong: wrongDigitFor('123456') },
          extraArgs: ['-l', '3', '-rp', '1000'],
        });
        assert.equal(r.code, 0, `SIPp round ${round}: ${r.errors}\n${serve!.tail()}`);
        if ((await store.getDevice(d.mac))!.auth.state === 'blocked') break;
        await new Promise((res) => setTimeout(res, 1200)); // the 1 s lock-out ends
      }
    } finally {
      hammering = false;
      await hammer;
    }
    const outcomes = (await store.listAudit(1, 10_000)).filter((e) => e.mac === d.mac && e.action === 'pap-attempt').map((e) => e.outcome);
    const compared = outcomes.filter((o) => o === 'wrong' || o === 'locked' || o === 'blocked');
    assert.equal(compared.length, 9, `wrong PINs compared: ${outcomes.join(',')}`);
    assert.equal(compared.filter((o) => o === 'locked').length, 2);
    assert.equal(compared.filter((o) => o === 'blocked').length, 1);
    assert.equal((await store.getDevice(d.mac))!.auth.state, 'blocked');
    assert.deepEqual(fullSeen, [], 'no request got anything but the minimal configuration');
    assert.ok(requests > 0);
  });

  it('a killed worker is replaced while the other keeps serving', async () => {
    const d = makeDevice();
    await store.insertDevices([d], []);
    const listening = () => serve!.logs().filter((l) => l.msg === 'provisioning worker listening');
    const before = listening();
    const victim = before.at(-1)!;
    process.kill(victim.pid as number, 'SIGKILL');
    await serve!.waitForLog((l) => l.msg === 'provisioning worker died; starting another' && l.pid === victim.pid, 10_000, 'the primary to notice');
    for (let i = 0; i < 20; i++) {
      const r = await httpGet(`${BASE}/${d.mac}.cfg`, { localAddress: '127.0.4.1' });
      assert.equal(r.status, 200, `request ${i} while a worker is down`);
    }
    const replacement = await serve!.waitForLog(
      (l) => l.msg === 'provisioning worker listening' && !before.some((b) => b.pid === l.pid),
      60_000,
      'a new worker',
    );
    // The new worker takes its share: within a few connections one lands on it.
    let servedByNew = false;
    for (let i = 0; i < 20 && !servedByNew; i++) {
      const ip = `127.0.4.${10 + i}`;
      assert.equal((await httpGet(`${BASE}/${d.mac}.cfg`, { localAddress: ip })).status, 200);
      servedByNew = (await servedBy(`/${d.mac}.cfg`, ip)).worker === replacement.worker;
    }
    assert.ok(servedByNew, 'the replacement worker serves requests');
  });

  it("the primary's /metrics sums what every worker counted", async () => {
    const minimalCount = async () => {
      const text = (await httpGet(`http://127.0.0.1:${PORTS.admin}/metrics`)).body;
      return Number(/^papgate_provisioning_requests_total\{vendor="yealink",decision="minimal"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const d = makeDevice();
    await store.insertDevices([d], []);
    const before = await minimalCount();
    for (let i = 0; i < 10; i++) assert.equal((await httpGet(`${BASE}/${d.mac}.cfg`, { localAddress: `127.0.5.${1 + i}` })).status, 200);
    const workers = await Promise.all(Array.from({ length: 10 }, (_, i) => servedBy(`/${d.mac}.cfg`, `127.0.5.${1 + i}`)));
    assert.equal(new Set(workers.map((l) => l.worker)).size, 2, 'both workers served some');
    assert.equal((await minimalCount()) - before, 10);
  });

  it('SIGTERM to the primary stops every worker, then itself', async () => {
    const pids = serve!
      .logs()
      .filter((l) => l.msg === 'provisioning worker listening')
      .map((l) => l.pid as number);
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    assert.equal(alive.length, 2, 'two workers run before');
    const exited = new Promise<number | null>((r) => serve!.child.once('exit', (code) => r(code)));
    serve!.child.kill('SIGTERM');
    assert.equal(await exited, 0, 'the primary exits 0');
    for (const pid of alive) {
      assert.ok(
        serve!.logs().some((l) => l.msg === 'provisioning worker stopped' && l.pid === pid),
        `worker ${pid} reported stopped`,
      );
      assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} is gone`);
    }
  });
});
