import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attempt, newAuthRecord, type AttemptOutcome } from '../../src/domain/auth';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import type { Device } from '../../src/domain/types';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { wrongDigitFor } from '../helpers/dtmf-scenarios';
import { TEST_IVR_ENV, writeTonePrompts } from '../helpers/papgate-harness';
import { PapgateNode } from '../helpers/papgate-node';
import { describePostgres } from '../helpers/postgres';
import { runSipp, sippAvailable, type SippResult } from '../helpers/sipp';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';
import { freePortBlock } from '../helpers/ports';

/**
 * Two papgate processes on one PostgreSQL database, each with its own SIP
 * port, and one device guessing wrong PAPs through both at once (SIPp, real
 * SIP calls with SIP INFO digits). However the calls interleave, the PAPs
 * compared must be exactly those of one caller guessing one after the other:
 * 9 (wrong, wrong, locked, x3, the last one blocking), never one more.
 */

interface NodePorts {
  name: string;
  sip: number;
  admin: number;
  provisioning: number;
  rtp: [number, number];
  phone: number;
}

/** Both nodes' ports and their SIPp phones', offsets in one free block. */
async function nodePorts(): Promise<NodePorts[]> {
  const b = await freePortBlock(200);
  return [
    { name: 'node-a', sip: b, admin: b + 1, provisioning: b + 2, rtp: [b + 10, b + 49], phone: b + 100 },
    { name: 'node-b', sip: b + 20, admin: b + 21, provisioning: b + 22, rtp: [b + 50, b + 89], phone: b + 150 },
  ];
}
let NODES: NodePorts[] = [];
const CALLS_PER_NODE = 4;
const MAX_ROUNDS = 8;
const COMPARED: ReadonlySet<AttemptOutcome> = new Set(['wrong', 'locked', 'blocked', 'success']);

/** The outcomes of wrong PAPs typed one after the other, each after any lock-out ended, until blocked. */
function sequentialUntilBlocked(): AttemptOutcome[] {
  const policy = DEFAULT_POLICY;
  let auth = newAuthRecord('123456');
  let now = 1;
  const out: AttemptOutcome[] = [];
  while (auth.state !== 'blocked') {
    const r = attempt(auth, '000000', now, policy);
    out.push(r.outcome);
    auth = r.auth;
    now = (auth.lockedUntil ?? now) + 1;
  }
  return out;
}

describePostgres('two papgate nodes on one PostgreSQL database', (pg) => {
  let dir: string;
  let store: PostgresStore;
  const nodes: PapgateNode[] = [];

  before(async function () {
    if (!sippAvailable()) this.skip();
    this.timeout(120_000);
    NODES = await nodePorts();
    dir = mkdtempSync(join(tmpdir(), 'papgate-nodes-'));
    const url = await pg().freshDatabase();
    store = await openPostgresStore(url);
    const prompts = writeTonePrompts(join(dir, 'prompts'));
    for (const n of NODES) {
      nodes.push(
        new PapgateNode(n.name, n.admin, {
          PAPGATE_DB: url,
          PAPGATE_DB_POOL_SIZE: '4',
          PAPGATE_LOG_LEVEL: 'warn',
          PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
          PAPGATE_PROVISIONING_PORT: String(n.provisioning),
          PAPGATE_ADMIN_ADDRESS: '127.0.0.1',
          PAPGATE_PUBLIC_URL: `http://127.0.0.1:${n.provisioning}`,
          PAPGATE_SIGNALLING: 'embedded',
          PAPGATE_MEDIA: 'embedded',
          PAPGATE_SIP_ADDRESS: '127.0.0.1',
          PAPGATE_SIP_PORT: String(n.sip),
          PAPGATE_SIP_TRANSPORTS: 'udp',
          PAPGATE_SIP_ADVERTISED_ADDRESS: '127.0.0.1',
          PAPGATE_RTP_ADDRESS: '127.0.0.1',
          PAPGATE_RTP_PORT_MIN: String(n.rtp[0]),
          PAPGATE_RTP_PORT_MAX: String(n.rtp[1]),
          PAPGATE_MAX_CALLS_PER_DEVICE: '10',
          // Short lock-outs, so the device gets through all three within the test.
          PAPGATE_LOCKOUT_SECONDS: '1',
          PAPGATE_PROMPTS_DIR: prompts,
          ...TEST_IVR_ENV,
        }),
      );
    }
    await Promise.all(nodes.map((n) => n.ready()));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('compares exactly the sequential 9 wrong PAPs, however the calls through both nodes interleave', async function () {
    this.timeout(300_000);
    const t = await makeTenant(store, 'acme');
    const device: Device = makeDevice({ tenantId: t.id, auth: newAuthRecord('482915') });
    await store.insertDevices([device], []);
    const wrong = wrongDigitFor('482915');

    const results: SippResult[] = [];
    for (let round = 0; round < MAX_ROUNDS; round++) {
      // Both phones call at once, each through its own node; each call guesses up to 3 times.
      results.push(
        ...(await Promise.all(
          NODES.map((n) =>
            runSipp({
              scenario: 'parallel-guesses.xml',
              target: `127.0.0.1:${n.sip}`,
              localPort: n.phone,
              timeoutSec: 40,
              calls: CALLS_PER_NODE,
              rate: 100,
              extraArgs: ['-l', String(CALLS_PER_NODE), '-rp', '1000'],
              auth: { username: device.sipUsername, password: device.sipPassword },
              vars: { user: device.sipUsername, dial: '*89', wrong },
            }),
          ),
        )),
      );
      if ((await store.getDevice(device.mac))?.auth.state === 'blocked') break;
      await new Promise((r) => setTimeout(r, 1200)); // let the 1 s lock-out end
    }

    const attempts = (await store.listAudit(t.id, 10_000)).filter((e) => e.mac === device.mac && e.action === 'pap-attempt').sort((a, b) => a.id! - b.id!);
    const compared = attempts.map((e) => e.outcome as AttemptOutcome).filter((o) => COMPARED.has(o));
    const expected = sequentialUntilBlocked();
    const after = await store.getDevice(device.mac);
    const logs = nodes.map((n) => `--- ${n.name} ---\n${n.logTail(1500)}`).join('\n');
    assert.equal(expected.length, 9);
    assert.deepEqual(compared, expected, `compared outcomes ${compared.join(',')}; all ${attempts.length}\n${logs}`);
    assert.equal(after?.auth.state, 'blocked');
    assert.equal(after?.auth.failures, DEFAULT_POLICY.maxFailures);
    assert.equal(after?.auth.lockouts, DEFAULT_POLICY.maxLockouts);
    // Both nodes really took calls and compared guesses: each phone's calls were answered by its node.
    for (const [i, n] of NODES.entries()) {
      const answered = results.filter((_, k) => k % NODES.length === i).reduce((s, r) => s + (r.logs.match(/answered:/g)?.length ?? 0), 0);
      assert.ok(answered > 0, `${n.name} answered no call`);
    }
    const rounds = results.length / NODES.length;
    process.stdout.write(
      `      (${attempts.length} attempts recorded over ${rounds} round(s) of ${NODES.length * CALLS_PER_NODE} calls; ` +
        `${compared.length} PAPs compared; others: ${[...new Set(attempts.map((e) => e.outcome).filter((o) => !COMPARED.has(o as AttemptOutcome)))].join(', ') || 'none'})\n`,
    );
  });
});
