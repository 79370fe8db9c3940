import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_ACTOR } from '../../src/app/actor';
import { Provisioning } from '../../src/app/provisioning';
import { createServices, type AdminServices } from '../../src/app/services';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import type { Store } from '../../src/ports/store';
import { openSqliteStore } from '../../src/store/sqlite';

/** The use cases together over a real SQLite file: PAP success, trust it earns, reset and suspension. */
describe('authentication use cases over a real store', () => {
  let dir: string;
  let store: Store;
  let s: AdminServices;
  let provisioning: Provisioning;
  const clock = {
    t: Date.UTC(2026, 10, 28),
    now() {
      return this.t;
    },
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-app-'));
    store = await openSqliteStore(join(dir, 'p.db'));
    const deps = { store, clock, random: cryptoRandom, policy: DEFAULT_POLICY, log: silentLogger };
    s = createServices(deps);
    provisioning = new Provisioning(deps, {
      publicUrl: 'http://prov.example',
      sip: { server: 'sip.example', port: 5060, transport: 'udp' },
      emergencyNumbers: ['112'],
      hotline: '*89',
      minimalResyncSeconds: 300,
      fullResyncSeconds: 14400,
    });
    await s.tenants.create(CLI_ACTOR, 'acme');
    await s.tenants.create(CLI_ACTOR, 'other');
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a PAP success trusts the IP of the last provisioning request for the tenant only', async () => {
    const a = await s.devices.create(CLI_ACTOR, { tenant: 'acme', mac: '00:15:65:00:00:01', vendor: 'yealink', model: 'T46U' });
    const b = await s.devices.create(CLI_ACTOR, { tenant: 'acme', mac: '00:15:65:00:00:02', vendor: 'yealink', model: 'T46U' });
    const c = await s.devices.create(CLI_ACTOR, { tenant: 'other', mac: '00:15:65:00:00:03', vendor: 'yealink', model: 'T46U' });
    assert.equal((await provisioning.handle({ mac: a.mac, ip: '198.51.100.7', secret: null })).kind, 'minimal');

    const r = await s.authentication.attempt(a.mac, a.pap!, '198.51.100.7');
    assert.equal(r.outcome, 'success');
    const shown = await s.devices.show(CLI_ACTOR, a.mac);
    assert.equal(shown.state, 'successful');
    assert.equal(shown.pap, null);

    const full = await provisioning.handle({ mac: a.mac, ip: '198.51.100.7', secret: null });
    assert.equal(full.kind, 'full');
    assert.equal((await provisioning.handle({ mac: b.mac, ip: '198.51.100.7', secret: null })).kind, 'full', 'same tenant, same IP');
    assert.equal((await provisioning.handle({ mac: c.mac, ip: '198.51.100.7', secret: null })).kind, 'minimal', 'other tenant');
    assert.equal((await provisioning.handle({ mac: c.mac, ip: '10.9.9.9', secret: null })).kind, 'minimal');
    assert.equal((await provisioning.handle({ mac: b.mac, ip: '10.9.9.9', secret: null })).kind, 'minimal', 'nothing else trusted');

    clock.t += DEFAULT_POLICY.trustMs + 1;
    const d = await s.devices.create(CLI_ACTOR, { tenant: 'acme', mac: '00:15:65:00:00:04', vendor: 'yealink', model: 'T46U' });
    assert.equal((await provisioning.handle({ mac: d.mac, ip: '198.51.100.7', secret: null })).kind, 'minimal', 'window ended');
  });

  it("someone polling the MAC from elsewhere does not earn the trust of the phone's PAP success", async () => {
    const a = await s.devices.create(CLI_ACTOR, { tenant: 'acme', mac: '00:15:65:00:00:51', vendor: 'yealink', model: 'T46U' });
    const b = await s.devices.create(CLI_ACTOR, { tenant: 'acme', mac: '00:15:65:00:00:52', vendor: 'yealink', model: 'T46U' });
    await provisioning.handle({ mac: a.mac, ip: '203.0.113.10', secret: null }); // the phone
    await provisioning.handle({ mac: a.mac, ip: '192.0.2.66', secret: null }); // an attacker who read the label
    assert.equal((await s.authentication.attempt(a.mac, a.pap!, '203.0.113.10')).outcome, 'success');
    assert.equal((await provisioning.handle({ mac: b.mac, ip: '192.0.2.66', secret: null })).kind, 'minimal', 'the attacker is not trusted');
    assert.equal((await provisioning.handle({ mac: a.mac, ip: '203.0.113.10', secret: null })).kind, 'full', 'the phone is');
  });

  it('reset revokes the identity secret and issues a new PAP', async () => {
    const a = await s.devices.create(CLI_ACTOR, { tenant: 'acme', mac: '001565000011', vendor: 'snom', model: 'D385' });
    await s.devices.suspend(CLI_ACTOR, a.mac);
    const full = await provisioning.handle({ mac: a.mac, ip: '203.0.113.1', secret: null });
    assert.equal(full.kind, 'full');
    const secret = /\/p\/([^/]+)\//.exec((full as { provisioningUrl: string }).provisioningUrl)![1]!;
    clock.t += DEFAULT_POLICY.suspendMs + DEFAULT_POLICY.trustMs + 1;
    assert.equal((await provisioning.handle({ mac: a.mac, ip: '192.0.2.1', secret })).kind, 'full', 'the secret works from anywhere');

    const reset = await s.devices.reset(CLI_ACTOR, a.mac);
    assert.equal(reset.state, 'needed');
    assert.match(reset.pap!, /^\d{6}$/);
    // 192.0.2.1 is now trusted for 8 hours (it got a full configuration); ask from elsewhere.
    const after = await provisioning.handle({ mac: a.mac, ip: '192.0.2.99', secret });
    assert.equal(after.kind, 'minimal');
    assert.equal((after as { label: string }).label, 'Authentication needed');
  });

  it("HEAD requests and another vendor's file format change nothing", async () => {
    const a = await s.devices.create(CLI_ACTOR, { tenant: 'acme', mac: '001565000031', vendor: 'yealink', model: 'T46U' });
    await s.allowList.add(CLI_ACTOR, 'acme', '203.0.113.0/24');
    const head = await provisioning.handle({ mac: a.mac, ip: '203.0.113.9', secret: null, readOnly: true });
    assert.equal(head.kind, 'full');
    const wrongFormat = await provisioning.handle({ mac: a.mac, ip: '203.0.113.9', secret: null, vendors: ['snom'] });
    assert.equal(wrongFormat.kind, 'unknown');
    const stored = (await store.getDevice(a.mac))!;
    assert.equal(stored.auth.state, 'needed', 'still needs authentication');
    assert.equal(stored.secretHash, null, 'no secret minted');
    assert.equal(stored.lastProvisionedIp, null);
    assert.equal((await provisioning.handle({ mac: a.mac, ip: '203.0.113.9', secret: null, vendors: ['yealink'] })).kind, 'full');
  });

  it('polling in the minimal configuration records the last-seen IP without a write per request', async () => {
    const a = await s.devices.create(CLI_ACTOR, { tenant: 'acme', mac: '001565000041', vendor: 'yealink', model: 'T46U' });
    await provisioning.handle({ mac: a.mac, ip: '198.51.100.1', secret: null });
    const t1 = (await store.getDevice(a.mac))!.lastProvisionedAt;
    clock.t += 1000;
    await provisioning.handle({ mac: a.mac, ip: '198.51.100.1', secret: null });
    assert.equal((await store.getDevice(a.mac))!.lastProvisionedAt, t1, 'same IP within a minute: not rewritten');
    await provisioning.handle({ mac: a.mac, ip: '198.51.100.2', secret: null });
    assert.equal((await store.getDevice(a.mac))!.lastProvisionedIp, '198.51.100.2', 'a new IP is recorded at once');
  });

  it('audits admin actions with the source IP of the request', async () => {
    const admin = { kind: 'platform' as const, label: 'admin-token' as const, sourceIp: '192.0.2.5' };
    const a = await s.devices.create(admin, { tenant: 'acme', mac: '001565000061', vendor: 'snom', model: 'D385' });
    await s.devices.reset(admin, a.mac);
    await s.allowList.add(admin, 'acme', '198.51.100.0/24');
    const events = await s.audit.recent(CLI_ACTOR, 'acme', 10);
    for (const action of ['device-add', 'device-reset', 'trust-add']) {
      const e = events.find((x) => x.action === action);
      assert.equal(e?.sourceIp, '192.0.2.5', action);
      assert.equal(e?.actor, 'admin-token', action);
    }
  });

  it('refuses line values a vendor format would alter, and a site that is not a name', async () => {
    const a = await s.devices.create(CLI_ACTOR, { tenant: 'acme', mac: '001565000071', vendor: 'gigaset', model: 'N720' });
    const line = { server: 'sip.example.net', user: '201', password: 'pa"ss', displayName: 'A "quoted" name' };
    await assert.rejects(s.devices.setLines(CLI_ACTOR, a.mac, [line]), (e: { field?: string }) => e.field === 'lines[0].password');
    await assert.rejects(s.devices.setLines(CLI_ACTOR, a.mac, [{ ...line, password: ' padded' }]), /blank/);
    const ok = await s.devices.setLines(CLI_ACTOR, a.mac, [{ ...line, password: 'pa$s wo rd' }]);
    assert.equal(ok.lines[0]!.displayName, 'A "quoted" name', 'display names may quote');
    await assert.rejects(
      s.devices.create(CLI_ACTOR, { tenant: 'acme', mac: '001565000072', vendor: 'snom', model: 'D385', site: { toString: 1 } }),
      (e: { field?: string; code?: string }) => e.code === 'invalid' && e.field === 'site',
    );
  });

  it('parallel wrong attempts never buy more than the allowed guesses', async () => {
    const a = await s.devices.create(CLI_ACTOR, { tenant: 'acme', mac: '001565000021', vendor: 'yealink', model: 'T46U' });
    const wrong = a.pap === '000000' ? '000001' : '000000';
    const outcomes = await Promise.all(Array.from({ length: 12 }, () => s.authentication.attempt(a.mac, wrong, null)));
    const counts = outcomes.reduce<Record<string, number>>((m, r) => ({ ...m, [r.outcome]: (m[r.outcome] ?? 0) + 1 }), {});
    assert.deepEqual(counts, { wrong: 2, locked: 1, 'already-failed': 9 });
    assert.equal((await s.authentication.attempt(a.mac, a.pap!, null)).outcome, 'already-failed', 'locked even for the right PAP');
  });
});
