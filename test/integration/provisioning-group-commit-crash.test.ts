import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeSecret, hashSecret, matchSecret, SECRET_BYTES } from '../../src/domain/identity-secret';
import { openSqliteStore } from '../../src/store/sqlite';
import { writeTonePrompts } from '../helpers/papgate-harness';
import { portLayout } from '../helpers/ports';
import { httpGet, secretOf, startServe, type HttpResult, type ServeProcess } from '../helpers/serve-process';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';

// `papgate serve` killed (SIGKILL) while many phones fetch their full
// configuration at once: their secrets are minted in shared transactions
// (group commit). Whatever a phone was sent must be in the file afterwards:
// a phone must never hold a secret the store lost.

const PHONES = 60;

describe('provisioning group commit survives a crash: no phone holds a secret the store lost', function () {
  this.timeout(120_000);
  let dir: string;
  let serve: ServeProcess | undefined;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'papgate-group-crash-'));
  });

  after(async () => {
    await serve?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every 200 sent before the kill carries a secret that a fresh connection finds committed', async () => {
    const ports = await portLayout({ sip: 0, rtpMin: 10, rtpMax: 19, provisioning: 30, admin: 31 });
    const dbPath = path.join(dir, 'papgate.db');
    const setup = await openSqliteStore(dbPath);
    const tenant = await makeTenant(setup, 'crash');
    const phones = Array.from({ length: PHONES }, () => {
      const secret = encodeSecret(randomBytes(SECRET_BYTES));
      return { secret, device: makeDevice({ tenantId: tenant.id, secretHash: hashSecret(secret), auth: { state: 'successful', pap: null } }) };
    });
    await setup.insertDevices(
      phones.map((p) => p.device),
      [],
    );
    await setup.close();

    const base = `http://127.0.0.1:${ports.provisioning}`;
    serve = await startServe({
      PAPGATE_DB: dbPath,
      PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
      PAPGATE_PROVISIONING_PORT: String(ports.provisioning),
      PAPGATE_ADMIN_PORT: String(ports.admin),
      PAPGATE_PUBLIC_URL: base,
      PAPGATE_SIP_ADDRESS: '127.0.0.1',
      PAPGATE_SIP_PORT: String(ports.sip),
      PAPGATE_SIP_TRANSPORTS: 'udp',
      PAPGATE_SIP_ADVERTISED_ADDRESS: '127.0.0.1',
      PAPGATE_RTP_ADDRESS: '127.0.0.1',
      PAPGATE_RTP_PORT_MIN: String(ports.rtpMin),
      PAPGATE_RTP_PORT_MAX: String(ports.rtpMax),
      PAPGATE_PROMPTS_DIR: writeTonePrompts(path.join(dir, 'prompts')),
    });
    const child = serve.child;

    // All at once; a third of the way through the answers, the server is killed while the others are in flight.
    let answered = 0;
    const answers = await Promise.allSettled(
      phones.map(async (p) => {
        const r: HttpResult = await httpGet(`${base}/p/${p.secret}/${p.device.mac}.cfg`, { timeoutMs: 30_000 });
        if (r.status === 200 && ++answered === PHONES / 3) child.kill('SIGKILL');
        return r;
      }),
    );
    await serve.stop();

    const fresh = await openSqliteStore(dbPath);
    try {
      let given = 0;
      for (const [i, a] of answers.entries()) {
        if (a.status !== 'fulfilled' || a.value.status !== 200) continue; // cut off by the kill: the phone keeps its old secret
        const secret = secretOf(a.value.body);
        assert.ok(secret, 'a full configuration with a per-device URL');
        const stored = await fresh.getDevice(phones[i]!.device.mac);
        assert.equal(matchSecret(stored!, secret), 'current', `${phones[i]!.device.mac} was sent a secret the file does not hold`);
        given++;
      }
      assert.ok(given >= PHONES / 3, 'at least the answers before the kill');
      // A phone cut off keeps a secret that still works: the one it had, or (if its change committed) the previous one.
      for (const [i, a] of answers.entries()) {
        if (a.status === 'fulfilled' && a.value.status === 200) continue;
        const stored = await fresh.getDevice(phones[i]!.device.mac);
        assert.notEqual(matchSecret(stored!, phones[i]!.secret), null, 'a phone that got no answer can still prove itself');
      }
    } finally {
      await fresh.close();
    }
  });
});
