import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../src/ports/store';
import { openPostgresStore } from '../../src/store/postgres';
import { openSqliteStore } from '../../src/store/sqlite';
import { runCli } from '../helpers/cli';
import { describePostgres } from '../helpers/postgres';
import { makeAudit, makeDevice, makeTenant, sha256 } from '../helpers/store-fixtures';

/** `papgate copy`: a SQLite store moved into PostgreSQL through the real CLI, compared row by row. */

const NOW = Date.now();

/** Everything the Store port can read back, for comparing two stores. */
async function contents(store: Store) {
  const tenants = await store.listTenants();
  const per = await Promise.all(
    tenants.map(async (t) => ({
      tenant: t,
      byToken: (await store.getTenantByTokenHash(sha256(`token-${t.name}`)))?.id ?? null,
      sites: await store.listSites(t.id),
      devices: await store.listDevices(t.id),
      allow: await store.listAllowEntries(t.id),
      trust: await store.listTemporaryTrust(t.id, NOW),
    })),
  );
  return { per, audit: await store.listAudit(null, 1000) };
}

async function fill(store: Store): Promise<void> {
  const acme = await makeTenant(store, 'acme', { locale: 'de' });
  const other = await makeTenant(store, 'other');
  const hq = await store.createSite({ tenantId: acme.id, name: 'HQ', locale: 'en', emergencyNumbers: ['15', '17'] });
  await store.createSite({ tenantId: other.id, name: 'Süd', locale: null });
  const full = makeDevice({
    tenantId: acme.id,
    siteId: hq.id,
    vendor: 'snom',
    model: 'D785',
    createdAt: 1_700_000_000_123,
    auth: { state: 'failed', pap: '012345', failures: 2, lockouts: 1, lockedUntil: NOW + 60_000, suspendedUntil: 7 },
    secretHash: 'a'.repeat(64),
    prevSecretHash: 'b'.repeat(64),
    sipPassword: 'p"w\'ö',
    lines: [{ server: 'sip.example.com', user: '100', authName: 'a100', password: 's3cr3t', displayName: 'Zoë "Z"' }],
    lastProvisionedIp: '2001:db8::1',
    lastProvisionedAt: 1_700_000_500_000,
  });
  const devices = [full, ...Array.from({ length: 30 }, (_, i) => makeDevice({ tenantId: i % 2 ? acme.id : other.id, createdAt: i }))];
  await store.insertDevices(devices, [makeAudit({ tenantId: acme.id, action: 'import', outcome: '31 devices' })]);
  await store.addAllowEntry({ tenantId: acme.id, cidr: '203.0.113.0/24', createdAt: 5 }, makeAudit({ tenantId: acme.id, action: 'allow-add' }));
  await store.mutateDevice(full.mac, () => ({
    result: null,
    trust: [
      { tenantId: acme.id, ip: '198.51.100.7', until: NOW + 3_600_000 },
      { tenantId: acme.id, ip: '198.51.100.8', until: NOW - 1 },
    ],
    audit: [makeAudit({ tenantId: acme.id, mac: full.mac, sourceIp: '198.51.100.7', actor: 'phone', action: 'provision', outcome: 'full' })],
  }));
  await store.appendAudit(makeAudit({ tenantId: null, action: 'platform' }));
}

describePostgres('papgate copy (SQLite to PostgreSQL)', (pg) => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-copy-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('moves every tenant, site, device, allow-list, open trust window and audit event; new ids follow on', async () => {
    const file = join(dir, 'source.db');
    const source = await openSqliteStore(file);
    await fill(source);
    const expected = await contents(source);
    await source.close();
    const url = await pg().emptyDatabase();

    const r = await runCli(['copy', '--from', file, '--to', url, '--json'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      copied: { tenants: 2, sites: 2, devices: 31, allowEntries: 1, temporaryTrust: 1, audit: 4 },
    });

    const target = await openPostgresStore(url);
    try {
      assert.deepEqual(await contents(target), expected);
      // The identity sequences moved past the copied ids.
      const t = await makeTenant(target, 'third');
      assert.equal(t.id, 3);
      await target.appendAudit(makeAudit({ action: 'after-copy' }));
      const [newest, previous] = await target.listAudit(null, 2);
      assert.ok(newest!.id! > previous!.id!);
    } finally {
      await target.close();
    }
  });

  it('refuses a target that is not empty, and changes nothing there', async () => {
    const file = join(dir, 'small.db');
    const source = await openSqliteStore(file);
    await makeTenant(source, 'acme');
    await source.close();
    const url = await pg().freshDatabase();
    const target = await openPostgresStore(url);
    try {
      await makeTenant(target, 'already-here');
      const r = await runCli(['copy', '--from', file, '--to', url], { timeoutMs: 60_000 });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^papgate: the target database is not empty \(it has tenants\): copy only into an empty database\n$/);
      assert.deepEqual(
        (await target.listTenants()).map((t) => t.name),
        ['already-here'],
      );
    } finally {
      await target.close();
    }
  });

  it('refuses a missing source file or a target that is not a PostgreSQL URL, creating nothing', async () => {
    const missing = join(dir, 'nope.db');
    const r1 = await runCli(['copy', '--from', missing, '--to', await pg().emptyDatabase()]);
    assert.equal(r1.code, 3);
    assert.match(r1.stderr, /^papgate: there is no SQLite database at .*nope\.db\n$/);
    const r2 = await runCli(['copy', '--from', missing, '--to', join(dir, 'other.db')]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /--to must be a postgres:\/\//);
    assert.equal(existsSync(missing), false);
  });
});
