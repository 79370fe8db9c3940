import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { TEST_IVR_ENV, writeTonePrompts } from '../helpers/papgate-harness';
import { PapgateNode } from '../helpers/papgate-node';
import { describePostgres } from '../helpers/postgres';
import { runSipp, sippAvailable, startSippUas, type SippResult } from '../helpers/sipp';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';
import { Relay } from '../helpers/tcp-relay';
import { portLayout } from '../helpers/ports';

/**
 * A papgate node whose PostgreSQL goes away (a TCP relay in front of it is
 * stopped) and comes back: phones get 503, readiness says so, emergency calls
 * still reach the gateway, and the node recovers on its own.
 */

/** The node's and the SIPp peers' ports, from a free block (reservePorts, in the suite's first hook). */
const PORT = { sip: 0, admin: 0, provisioning: 0, rtp: [0, 0], phone: 0, gateway: 0 };

async function reservePorts(): Promise<void> {
  const p = await portLayout({ sip: 0, admin: 1, provisioning: 2, rtpMin: 50, rtpMax: 59, phone: 160, gateway: 190 });
  Object.assign(PORT, { sip: p.sip, admin: p.admin, provisioning: p.provisioning, rtp: [p.rtpMin, p.rtpMax], phone: p.phone, gateway: p.gateway });
}

async function status(url: string): Promise<number> {
  return fetch(url).then(
    (r) => r.status,
    () => -1,
  );
}

/** Polls `url` until it answers `want` (bounded); returns the last status seen. */
async function waitForStatus(url: string, want: number, timeoutMs = 20_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  let last = await status(url);
  while (last !== want && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    last = await status(url);
  }
  return last;
}

function passed(who: string, r: SippResult, node: PapgateNode): void {
  assert.equal(r.code, 0, `${who} failed:\n${r.errors}\n${r.messages.slice(-3000)}\n--- node ---\n${node.logTail()}`);
}

describePostgres('a papgate node whose PostgreSQL goes away', (pg) => {
  let dir: string;
  let relay: Relay;
  let store: PostgresStore;
  let node: PapgateNode;

  before(async function () {
    if (!sippAvailable()) this.skip();
    this.timeout(90_000);
    await reservePorts();
    dir = mkdtempSync(join(tmpdir(), 'papgate-dbdown-'));
    const url = await pg().freshDatabase();
    store = await openPostgresStore(url);
    relay = new Relay(new URL(url));
    await relay.start();
    node = new PapgateNode('node', PORT.admin, {
      PAPGATE_DB: relay.url(),
      PAPGATE_DB_TIMEOUT_SECONDS: '2',
      PAPGATE_LOG_LEVEL: 'warn',
      PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
      PAPGATE_PROVISIONING_PORT: String(PORT.provisioning),
      PAPGATE_ADMIN_ADDRESS: '127.0.0.1',
      PAPGATE_PUBLIC_URL: `http://127.0.0.1:${PORT.provisioning}`,
      PAPGATE_SIGNALLING: 'embedded',
      PAPGATE_MEDIA: 'embedded',
      PAPGATE_SIP_ADDRESS: '127.0.0.1',
      PAPGATE_SIP_PORT: String(PORT.sip),
      PAPGATE_SIP_TRANSPORTS: 'udp',
      PAPGATE_SIP_ADVERTISED_ADDRESS: '127.0.0.1',
      PAPGATE_RTP_ADDRESS: '127.0.0.1',
      PAPGATE_RTP_PORT_MIN: String(PORT.rtp[0]),
      PAPGATE_RTP_PORT_MAX: String(PORT.rtp[1]),
      PAPGATE_EMERGENCY_GATEWAY: `sip:127.0.0.1:${PORT.gateway}`,
      PAPGATE_PROMPTS_DIR: writeTonePrompts(join(dir, 'prompts')),
      ...TEST_IVR_ENV,
    });
    await node.ready();
  });

  after(async () => {
    await node?.stop();
    await relay?.stop();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 to phones and on /readyz, lets an emergency call through, and recovers when it is back', async function () {
    this.timeout(120_000);
    const t = await makeTenant(store, 'acme');
    const d = makeDevice({ tenantId: t.id });
    await store.insertDevices([d], []);
    const config = `http://127.0.0.1:${PORT.provisioning}/${d.mac}.cfg`;
    const ready = `http://127.0.0.1:${PORT.admin}/readyz`;
    assert.equal(await status(config), 200);

    await relay.stop();
    assert.equal(await waitForStatus(ready, 503), 503, 'readiness reports the store');
    assert.equal(await status(config), 503);

    const gateway = await startSippUas({ scenario: 'emergency-gateway-uas-anonymous.xml', localPort: PORT.gateway, timeoutSec: 40 });
    try {
      const r = await runSipp({
        scenario: 'emergency-store-down-passthrough.xml',
        target: `127.0.0.1:${PORT.sip}`,
        localPort: PORT.phone,
        timeoutSec: 40,
        vars: { user: d.sipUsername, dial: '112' },
      });
      passed('phone', r, node);
      passed('gateway', await gateway.done, node);
      assert.match(r.logs, /answered by the gateway/);
    } finally {
      await gateway.stop();
    }

    await relay.start(relay.port);
    assert.equal(await waitForStatus(ready, 200), 200, `the node did not recover:\n${node.logTail()}`);
    assert.equal(await status(config), 200);
  });
});
