import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Provisioning } from '../../src/app/provisioning';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import type { Tenant } from '../../src/domain/types';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { makeAudit, makeDevice, makeTenant } from '../helpers/store-fixtures';
import { TEST_PROVISIONING_SETTINGS as SETTINGS } from '../helpers/provisioning-settings';

/**
 * The SQLite store keeps each tenant's allow-list and trust windows in
 * memory (src/store/sqlite/trust-cache.ts). Trust must still follow every
 * change at once: made through the same store, or by another connection to
 * the file (the CLI, a second papgate process), which `other` stands for.
 */

const IP = '203.0.113.7';
const NET = '203.0.113.0/24';

describe('provisioning trust follows allow-list and window changes at once', () => {
  let dir: string;
  let store: SqliteStore;
  let other: SqliteStore;
  let tenant: Tenant;
  let provisioning: Provisioning;
  let now = 1_800_000_000_000;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-trust-cache-'));
    store = await openSqliteStore(join(dir, 'papgate.db'));
    other = await openSqliteStore(join(dir, 'papgate.db'));
    tenant = await makeTenant(store, 'acme');
    provisioning = new Provisioning(
      {
        store,
        clock: { now: () => now },
        random: cryptoRandom,
        policy: DEFAULT_POLICY,
        log: silentLogger,
      },
      SETTINGS,
    );
  });
  afterEach(async () => {
    await other.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh device (no secret) asking from `ip`: what does trust alone give it? */
  async function kindFor(ip: string, readOnly = true): Promise<string> {
    const d = makeDevice({ tenantId: tenant.id });
    await store.insertDevices([d], []);
    return (await provisioning.handle({ mac: d.mac, ip, secret: null, readOnly })).kind;
  }
  const entry = (cidr: string) => ({ tenantId: tenant.id, cidr, createdAt: now });
  const audit = () => makeAudit({ tenantId: tenant.id });

  it('an entry added or removed through the same store counts from the next request', async () => {
    assert.equal(await kindFor(IP), 'minimal');
    await store.addAllowEntry(entry(NET), audit());
    assert.equal(await kindFor(IP), 'full');
    assert.equal(await kindFor(IP), 'full');
    await store.removeAllowEntry(tenant.id, NET, audit());
    assert.equal(await kindFor(IP), 'minimal', 'a removed entry stops trusting at once');
  });

  it('an entry added or removed by another connection counts from the next request', async () => {
    assert.equal(await kindFor(IP), 'minimal');
    await other.addAllowEntry(entry(NET), audit());
    assert.equal(await kindFor(IP), 'full');
    await other.removeAllowEntry(tenant.id, NET, audit());
    assert.equal(await kindFor(IP), 'minimal', 'a removed entry stops trusting at once');
    assert.deepEqual(await store.listAllowEntries(tenant.id), []);
  });

  for (const [by, writer] of [
    ['the same store', () => store],
    ['another connection', () => other],
  ] as const) {
    it(`a window opened through ${by} (a PAP success) counts from the next request`, async () => {
      assert.equal(await kindFor(IP), 'minimal');
      const d = makeDevice({ tenantId: tenant.id });
      await writer().insertDevices([d], []);
      await writer().mutateDevice(d.mac, () => ({ result: null, trust: [{ tenantId: tenant.id, ip: IP, until: now + 1000 }] }));
      assert.equal(await kindFor(IP), 'full');
      now += 1000;
      assert.equal(await kindFor(IP), 'minimal', 'the window has ended');
    });
  }

  it('a full configuration opens a window that the next request from that IP sees', async () => {
    await store.addAllowEntry(entry(NET), audit());
    assert.equal(await kindFor(IP, false), 'full'); // trusted: full, and the IP gets a window
    await store.removeAllowEntry(tenant.id, NET, audit());
    assert.deepEqual(
      (await store.listTemporaryTrust(tenant.id, now)).map((w) => w.ip),
      [IP],
    );
    assert.equal(await kindFor(IP), 'full', 'the window still trusts the IP');
    assert.equal(await kindFor('203.0.113.8'), 'minimal');
  });

  it('windows read for a later time are not served for an earlier one', async () => {
    const d = makeDevice({ tenantId: tenant.id });
    await store.insertDevices([d], []);
    await store.mutateDevice(d.mac, () => ({ result: null, trust: [{ tenantId: tenant.id, ip: IP, until: 2000 }] }));
    const ips = async (at: number) => (await store.listTemporaryTrust(tenant.id, at)).map((w) => w.ip);
    assert.deepEqual(await ips(1000), [IP]);
    assert.deepEqual(await ips(2500), []);
    assert.deepEqual(await ips(1500), [IP]);
  });

  it('hands out copies: a caller editing its list does not change the next one', async () => {
    await store.addAllowEntry(entry(NET), audit());
    const first = await store.listAllowEntries(tenant.id);
    first.pop();
    assert.equal((await store.listAllowEntries(tenant.id)).length, 1);
  });
});
