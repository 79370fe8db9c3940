import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Provisioning, type ProvisioningResult } from '../../src/app/provisioning';
import { encodeSecret, hashSecret, matchSecret, SECRET_BYTES } from '../../src/domain/identity-secret';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import type { Device } from '../../src/domain/types';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';
import { TEST_PROVISIONING_SETTINGS as SETTINGS } from '../helpers/provisioning-settings';

/**
 * Group commit on a real SQLite file: the device mutations of one event-loop
 * turn (here: phones fetching their full configuration with their secret,
 * each minting a new one) share a transaction. Each caller must get what was
 * committed for it, a failure must stay with its own request, and what a
 * caller was told must be what a fresh connection reads from the file.
 */

const PHONES = 12;

const newSecret = () => encodeSecret(randomBytes(SECRET_BYTES));
/** The secret a full configuration hands out, from its per-device URL. */
const handedOut = (r: ProvisioningResult): string => {
  assert.equal(r.kind, 'full');
  return /\/p\/([^/]+)\/$/.exec(r.kind === 'full' ? r.provisioningUrl : '')![1]!;
};

describe('SQLite group commit of device mutations', () => {
  let dir: string;
  let path: string;
  let store: SqliteStore;
  let provisioning: Provisioning;
  let phones: { device: Device; secret: string }[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-group-commit-'));
    path = join(dir, 'papgate.db');
    store = await openSqliteStore(path);
    const tenant = await makeTenant(store, 'group');
    phones = Array.from({ length: PHONES }, () => {
      const secret = newSecret();
      return { secret, device: makeDevice({ tenantId: tenant.id, secretHash: hashSecret(secret), auth: { state: 'successful', pap: null } }) };
    });
    await store.insertDevices(
      phones.map((p) => p.device),
      [],
    );
    provisioning = new Provisioning({ store, clock: { now: () => Date.now() }, random: cryptoRandom, policy: DEFAULT_POLICY, log: silentLogger }, SETTINGS);
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The devices as a new connection reads them from the file: only what was committed. */
  async function committed(): Promise<Map<string, Device>> {
    const fresh = await openSqliteStore(path);
    try {
      const out = new Map<string, Device>();
      for (const p of phones) out.set(p.device.mac, (await fresh.getDevice(p.device.mac))!);
      return out;
    } finally {
      await fresh.close();
    }
  }

  const fetchFull = (p: (typeof phones)[number]) => provisioning.handle({ mac: p.device.mac, ip: '198.51.100.9', secret: p.secret });

  it('parallel full-configuration requests of one turn each get their own secret, committed', async () => {
    const results = await Promise.all(phones.map(fetchFull));
    const secrets = results.map(handedOut);
    assert.equal(new Set(secrets).size, PHONES, 'every phone a secret of its own');
    const stored = await committed();
    phones.forEach((p, i) => {
      const d = stored.get(p.device.mac)!;
      assert.equal(matchSecret(d, secrets[i]!), 'current', `${p.device.mac} holds the secret it was given`);
      assert.equal(d.lastProvisionedIp, '198.51.100.9');
    });
    // The next round proves the phones with the new secrets: the group read what the last one committed.
    phones.forEach((p, i) => (p.secret = secrets[i]!));
    const again = await Promise.all(phones.map(fetchFull));
    assert.ok(again.every((r) => r.kind === 'full'));
  });

  it('a mutation that throws, or that the schema refuses, fails alone; the rest of its group commits', async () => {
    const [bad, taken, ...good] = phones;
    const mutations = [
      store.mutateDevice(bad!.device.mac, () => {
        throw new Error('this request failed');
      }),
      // Another device's SIP username: a UNIQUE violation inside the shared transaction.
      store.mutateDevice(taken!.device.mac, (d) => ({ next: { ...d!, sipUsername: good[0]!.device.sipUsername, model: 'changed' }, result: 'written' })),
      ...good.map((p) => store.mutateDevice(p.device.mac, (d) => ({ next: { ...d!, model: `T5${p.device.mac.slice(-1)}` }, result: p.device.mac }))),
    ];
    const settled = await Promise.allSettled(mutations);
    assert.equal(settled[0]!.status, 'rejected');
    assert.match(String((settled[0] as PromiseRejectedResult).reason), /this request failed/);
    assert.equal(settled[1]!.status, 'rejected');
    assert.equal((settled[1] as PromiseRejectedResult).reason.code, 'conflict');
    assert.deepEqual(
      settled.slice(2).map((s) => s.status === 'fulfilled' && s.value),
      good.map((p) => p.device.mac),
    );
    const stored = await committed();
    assert.equal(stored.get(bad!.device.mac)!.model, 'T46U');
    assert.equal(stored.get(taken!.device.mac)!.model, 'T46U', 'the refused change left nothing behind');
    assert.equal(stored.get(taken!.device.mac)!.sipUsername, taken!.device.sipUsername);
    for (const p of good) assert.equal(stored.get(p.device.mac)!.model, `T5${p.device.mac.slice(-1)}`);
  });

  it('an error that ends the whole transaction: the others are run again alone and commit; the failing one fails', async () => {
    const [doomed, ...rest] = phones;
    // A trigger that rolls back the whole transaction (not just the statement) when this device is written.
    const other = new Database(path);
    other.exec(`CREATE TRIGGER doom BEFORE UPDATE ON devices WHEN OLD.mac = '${doomed!.device.mac}' BEGIN SELECT RAISE(ROLLBACK, 'doomed device'); END`);
    other.close();
    const settled = await Promise.allSettled(phones.map(fetchFull));
    assert.equal(settled[0]!.status, 'rejected');
    const secrets = settled.slice(1).map((s) => {
      assert.equal(s.status, 'fulfilled');
      return handedOut((s as PromiseFulfilledResult<ProvisioningResult>).value);
    });
    const stored = await committed();
    assert.equal(matchSecret(stored.get(doomed!.device.mac)!, doomed!.secret), 'current', 'the doomed device kept its secret');
    rest.forEach((p, i) => assert.equal(matchSecret(stored.get(p.device.mac)!, secrets[i]!), 'current'));
  });

  it('closing the store in the same turn lets the queued group commit first: every answer given is stored', async () => {
    const requests = phones.map((p) =>
      store.mutateDevice(p.device.mac, (d) => {
        const secret = newSecret();
        return { next: { ...d!, secretHash: hashSecret(secret), prevSecretHash: d!.secretHash }, result: secret };
      }),
    );
    const closing = store.close();
    const settled = await Promise.allSettled(requests);
    await closing;
    await assert.rejects(
      store.mutateDevice(phones[0]!.device.mac, () => ({ result: null })),
      (e: Error & { code?: string }) => e.code === 'unavailable',
    );
    const stored = await committed();
    settled.forEach((s, i) => {
      assert.equal(s.status, 'fulfilled', 'queued before close: committed, not dropped');
      const secret = (s as PromiseFulfilledResult<string>).value;
      assert.equal(matchSecret(stored.get(phones[i]!.device.mac)!, secret), 'current');
    });
  });
});
