import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../src/store/sqlite';
import { kamailioMissing, startKamailio } from '../test/helpers/kamailio';
import { startServe, type ServeProcess } from '../test/helpers/serve-process';
import { runSipp, sippAvailable } from '../test/helpers/sipp';
import { makeDevice, makeTenant } from '../test/helpers/store-fixtures';

/**
 * Digest REGISTERs per second: SIPp (one digest user per call, -inf with
 * -au/-ap) straight at one papgate node, then through Kamailio
 * (kamailio-conf/kamailio.cfg) to one node and to two nodes on one SQLite
 * file. Loopback addresses as in test/integration/cluster-kamailio.test.ts,
 * so run it in a network namespace of its own. Asserts nothing.
 */

const DEVICES = 1_000;
const REGISTRATIONS = 4_000;
const CONCURRENT = 100;
const LB = '127.0.0.10';
const NODE_IPS = ['127.0.0.11', '127.0.0.12'];

export async function benchRegisters(): Promise<void> {
  const missing = kamailioMissing() ?? (sippAvailable() ? null : 'sipp is not installed');
  if (missing) {
    console.log(`REGISTER benchmark skipped: ${missing}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'papgate-bench-reg-'));
  const nodes: ServeProcess[] = [];
  try {
    const db = join(dir, 'papgate.db');
    const store = await openSqliteStore(db);
    await makeTenant(store, 'bench');
    const devices = Array.from({ length: DEVICES }, () => makeDevice());
    await store.insertDevices(devices, []);
    await store.close();
    const users = join(dir, 'users.csv');
    writeFileSync(users, `SEQUENTIAL\n${devices.map((d) => `${d.sipUsername};${d.sipPassword}`).join('\n')}\n`);
    for (const ip of NODE_IPS) nodes.push(await startServe(nodeEnv(ip, db)));

    const rows: [string, number, number][] = [];
    const measure = async (label: string, target: string) => {
      const started = Date.now();
      const r = await runSipp({
        scenario: 'bench-register.xml', target, localPort: 5090, calls: REGISTRATIONS, rate: 10_000, timeoutSec: 300,
        extraArgs: ['-inf', users, '-au', '[field0]', '-ap', '[field1]', '-l', String(CONCURRENT), '-rp', '1000'],
      });
      const seconds = (Date.now() - started) / 1000;
      const failed = Number(/Failed call[^\d]*(\d+)/.exec(r.stdout)?.[1] ?? (r.code === 0 ? 0 : NaN));
      rows.push([label, REGISTRATIONS / seconds, failed]);
    };
    await measure('straight to one node', `${NODE_IPS[0]}:5060`);
    for (const count of [1, 2]) {
      const lb = await startKamailio({ address: LB, nodes: NODE_IPS.slice(0, count).map((ip) => `sip:${ip}:5060`), dir, frTimerMs: 3000 });
      try {
        await new Promise((r) => setTimeout(r, 1500)); // first OPTIONS probes
        await measure(`through Kamailio to ${count} node${count > 1 ? 's' : ''}`, `${LB}:5060`);
      } finally {
        await lb.stop();
      }
    }
    console.log(`\nREGISTER with digest (401 + authenticated REGISTER = one registration), ${REGISTRATIONS} per row, ${CONCURRENT} at once, ${DEVICES} devices`);
    for (const [label, rate, failed] of rows) console.log(`${label.padEnd(32)} ${rate.toFixed(0).padStart(6)} registrations/s  failed: ${failed}`);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

function nodeEnv(ip: string, db: string): Record<string, string> {
  return {
    PAPGATE_DB: db, PAPGATE_WORKERS: '1', PAPGATE_LOG_LEVEL: 'info',
    PAPGATE_PROVISIONING_ADDRESS: ip, PAPGATE_ADMIN_ADDRESS: ip, PAPGATE_PUBLIC_URL: `http://${ip}:8080`,
    PAPGATE_SIP_ADDRESS: ip, PAPGATE_SIP_PORT: '5060', PAPGATE_SIP_TRANSPORTS: 'udp', PAPGATE_SIP_ADVERTISED_ADDRESS: ip,
    PAPGATE_SIP_PROXY: `${LB}:5060`, PAPGATE_SIP_TRUSTED_PROXIES: LB, PAPGATE_RTP_ADDRESS: ip,
  };
}
