import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli';
import { kamailioMissing, startKamailio, type Kamailio } from '../helpers/kamailio';
import { writeTonePrompts } from '../helpers/papgate-harness';
import { httpGet, secretOf, startServe, yealinkCfg, type ServeProcess } from '../helpers/serve-process';
import { runSipp, sippAvailable, type SippResult } from '../helpers/sipp';
import { portLayout } from '../helpers/ports';

// Two papgate nodes on one store behind Kamailio (kamailio-conf/kamailio.cfg),
// all on loopback: Kamailio on 127.0.0.10, node A on .11, node B on .12,
// phones on .21 and .22 (SIP and HTTP from the same address, like a phone).
// Phones register and call only through Kamailio; the check-sync NOTIFY
// comes back through it by the stored Path, whichever node sends it; the
// full configuration comes from the other node's provisioning port. Then one
// node dies (SIGKILL) and a second phone is served by the survivor.
// The store is a SQLite file shared by both nodes, or PostgreSQL when
// PAPGATE_TEST_PG_URL names one.

const LB = '127.0.0.10';
const NODES = { A: '127.0.0.11', B: '127.0.0.12' } as const;
type NodeName = keyof typeof NODES;
/** The port numbers (the same on every address), from one free block in the suite's first hook. */
const P = { lb: 0, sip: 0, provisioning: 0, admin: 0, phone: 0, rtpA: 0, rtpB: 0 };
const ADMIN_TOKEN = 'cluster-admin-token-0123456789';

describe('several papgate nodes behind Kamailio', function () {
  this.timeout(240_000);
  let dir: string;
  let lb: Kamailio | undefined;
  const nodes: Partial<Record<NodeName, ServeProcess>> = {};

  before(async function () {
    const missing = kamailioMissing() ?? (sippAvailable() ? null : 'sipp is not installed');
    if (missing) {
      if (process.env.CI === 'true') throw new Error(`${missing}: CI must run the Kamailio test`);
      console.warn(`\n  SKIPPED: several papgate nodes behind Kamailio: ${missing}\n`);
      this.skip();
    }
    Object.assign(P, await portLayout({ lb: 0, sip: 1, provisioning: 2, admin: 3, phone: 10, rtpA: 100, rtpB: 140 }, 60));
    dir = mkdtempSync(path.join(tmpdir(), 'papgate-cluster-'));
    const db = process.env.PAPGATE_TEST_PG_URL || path.join(dir, 'papgate.db');
    if (db.startsWith('postgres')) {
      const m = await runCli(['migrate'], { env: { PAPGATE_DB: db }, timeoutMs: 60_000 });
      assert.equal(m.code, 0, `papgate migrate: ${m.stderr}`);
    }
    const prompts = writeTonePrompts(path.join(dir, 'prompts'));
    // One after the other: the first one creates the SQLite schema.
    nodes.A = await startServe(nodeEnv('A', db, prompts, P.rtpA));
    nodes.B = await startServe(nodeEnv('B', db, prompts, P.rtpB));
    lb = await startKamailio({ address: LB, port: P.lb, nodes: Object.values(NODES).map((ip) => `sip:${ip}:${P.sip}`), dir });
  });

  after(async () => {
    await lb?.stop();
    await Promise.all(Object.values(nodes).map((n) => n?.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const admin = async (node: NodeName, method: string, url: string, body?: unknown) => {
    const res = await fetch(`http://${NODES[node]}:${P.admin}/api/v1${url}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    assert.ok(res.status < 300, `${method} ${url} on node ${node}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const fetchCfg = async (node: NodeName, urlPath: string, phoneIp: string) => {
    const r = await httpGet(`http://${NODES[node]}:${P.provisioning}${urlPath}`, { localAddress: phoneIp });
    assert.equal(r.status, 200, `GET ${urlPath} from node ${node}`);
    return r.body;
  };
  /** The node whose log says it did `msg` for this account, at or after line `from`. */
  const nodeThat = async (msg: string, username: string, key: 'username' | 'account'): Promise<NodeName> => {
    const found = await Promise.any(
      (Object.keys(nodes) as NodeName[])
        .filter((n) => nodes[n]!.child.exitCode === null)
        .map((n) => nodes[n]!.waitForLog((l) => l.msg === msg && l[key] === username, 15_000, `"${msg}" for ${username}`).then(() => n)),
    );
    return found;
  };
  const phone = (scenario: string, d: Device, ip: string, extra: { vars?: Record<string, string>; extraArgs?: string[] } = {}) =>
    runSipp({
      scenario,
      target: `${LB}:${P.lb}`,
      localIp: ip,
      localPort: P.phone,
      timeoutSec: 60,
      auth: { username: d.sipUsername, password: d.sipPassword },
      vars: { user: d.sipUsername, ...extra.vars },
      extraArgs: extra.extraArgs,
    });
  const passed = (r: SippResult, what: string) =>
    assert.equal(
      r.code,
      0,
      `${what}: ${r.errors}\n--- messages ---\n${r.messages.slice(-5000)}\n--- kamailio ---\n${lb?.output().slice(-3000)}\n` +
        `--- node A ---\n${nodes.A?.tail(30)}\n--- node B ---\n${nodes.B?.tail(30)}`,
    );
  const pinCall = (d: Device, ip: string) =>
    phone('cluster-call.xml', d, ip, {
      vars: { dial: '*89', ...Object.fromEntries([...d.pap].map((c, i) => [`d${i + 1}`, c])) },
      extraArgs: ['-oocsf', path.join(__dirname, '..', '..', 'scenarios', 'cluster-notify.xml')],
    });

  it('register, *89 with the PIN, NOTIFY through Kamailio, full configuration from the other node; then a node dies', async () => {
    await admin('A', 'POST', '/tenants', { name: 'cluster' });
    const d1: Device = await admin('A', 'POST', '/tenants/cluster/devices', { mac: '001565c10001', vendor: 'yealink', model: 'T46S' });
    await admin('B', 'PUT', `/devices/${d1.mac}/lines`, {
      lines: [{ server: 'sip.example.net', user: '4711', authName: 'auth4711', password: 'Line-Secret-4711', displayName: 'Alice' }],
    });
    const d2: Device = await admin('B', 'POST', '/tenants/cluster/devices', { mac: '001565c10002', vendor: 'yealink', model: 'T46S' });

    // 1. Minimal configuration: papgate's SIP account at Kamailio's address.
    const minimal = yealinkCfg(await fetchCfg('A', `/${d1.mac}.cfg`, '127.0.0.21'));
    assert.equal(minimal.get('account.1.sip_server.1.address'), LB);
    assert.equal(minimal.get('account.1.sip_server.1.port'), String(P.lb));

    // 2. REGISTER through Kamailio: Path stored, echoed.
    passed(await phone('cluster-register.xml', d1, '127.0.0.21'), 'REGISTER through Kamailio');
    const registeredAt = await nodeThat('registered', d1.sipUsername, 'username');

    // 3. The PIN call through Kamailio; check-sync comes back through Kamailio.
    const call = await pinCall(d1, '127.0.0.21');
    passed(call, 'PIN call through Kamailio');
    assert.match(call.logs, /check-sync NOTIFY: event= ?check-sync .*via=SIP\/2\.0\/UDP 127\.0\.0\.10\b/, 'the NOTIFY came through Kamailio');
    const calledAt = await nodeThat('call admitted', d1.sipUsername, 'account');
    console.log(`      (REGISTER went to node ${registeredAt}, the call to node ${calledAt})`);

    // 4. The full configuration from the other node.
    const other: NodeName = calledAt === 'A' ? 'B' : 'A';
    const fullText = await fetchCfg(other, `/${d1.mac}.cfg`, '127.0.0.21');
    const full = yealinkCfg(fullText);
    assert.equal(full.get('account.1.user_name'), '4711');
    assert.equal(full.get('account.1.password'), 'Line-Secret-4711');
    const secret = secretOf(fullText);
    assert.ok(secret, 'a per-device URL with the identity secret');

    // 5. Phone 2 registers; the node that took its REGISTER dies.
    await fetchCfg('A', `/${d2.mac}.cfg`, '127.0.0.22');
    passed(await phone('cluster-register.xml', d2, '127.0.0.22'), 'REGISTER of phone 2');
    const victim = await nodeThat('registered', d2.sipUsername, 'username');
    const survivor: NodeName = victim === 'A' ? 'B' : 'A';
    const killedAt = Date.now();
    nodes[victim]!.child.kill('SIGKILL');
    await new Promise((r) => nodes[victim]!.child.once('exit', r));

    // 6. New calls go to the survivor, whose NOTIFY uses the registration the dead node wrote.
    const call2 = await pinCall(d2, '127.0.0.22');
    const failoverMs = Date.now() - killedAt;
    passed(call2, 'PIN call after a node died');
    assert.match(call2.logs, /check-sync NOTIFY: event= ?check-sync .*via=SIP\/2\.0\/UDP 127\.0\.0\.10\b/);
    assert.equal(await nodeThat('call admitted', d2.sipUsername, 'account'), survivor);
    console.log(`      (node ${victim} killed; the next PIN call, NOTIFY included, was done ${failoverMs} ms later by node ${survivor})`);

    // 7. Nothing lost: both phones get their full configuration from the survivor.
    assert.ok(secretOf(await fetchCfg(survivor, `/${d2.mac}.cfg`, '127.0.0.22')), 'phone 2: full configuration');
    const again = await fetchCfg(survivor, `/p/${secret}/${d1.mac}.cfg`, '127.0.0.21');
    assert.equal(yealinkCfg(again).get('account.1.user_name'), '4711', 'phone 1: its identity secret still works');
    const view = await admin(survivor, 'GET', `/devices/${d1.mac}`);
    assert.equal(view.state, 'successful');
  });
});

interface Device {
  mac: string;
  pap: string;
  sipUsername: string;
  sipPassword: string;
}

function nodeEnv(name: NodeName, db: string, prompts: string, rtpMin: number): Record<string, string> {
  const ip = NODES[name];
  return {
    PAPGATE_DB: db,
    PAPGATE_WORKERS: '1',
    PAPGATE_LOG_LEVEL: 'info',
    PAPGATE_ADMIN_TOKEN: ADMIN_TOKEN,
    PAPGATE_PROVISIONING_ADDRESS: ip,
    PAPGATE_PROVISIONING_PORT: String(P.provisioning),
    PAPGATE_ADMIN_ADDRESS: ip,
    PAPGATE_ADMIN_PORT: String(P.admin),
    PAPGATE_PUBLIC_URL: `http://${ip}:${P.provisioning}`,
    PAPGATE_SIP_ADDRESS: ip,
    PAPGATE_SIP_PORT: String(P.sip),
    PAPGATE_SIP_TRANSPORTS: 'udp',
    PAPGATE_SIP_ADVERTISED_ADDRESS: ip,
    PAPGATE_SIP_PROXY: `${LB}:${P.lb}`,
    PAPGATE_SIP_TRUSTED_PROXIES: LB,
    PAPGATE_RTP_ADDRESS: ip,
    PAPGATE_RTP_PORT_MIN: String(rtpMin),
    PAPGATE_RTP_PORT_MAX: String(rtpMin + 39),
    PAPGATE_PROMPTS_DIR: prompts,
    PAPGATE_IVR_FIRST_DIGIT_SECONDS: '10',
    PAPGATE_IVR_INTER_DIGIT_SECONDS: '5',
    PAPGATE_IVR_REPROMPTS: '1',
  };
}
