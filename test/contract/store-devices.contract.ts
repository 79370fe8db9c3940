import assert from 'node:assert/strict';
import type { Device } from '../../src/domain/types';
import type { DeviceChange, Store } from '../../src/ports/store';
import { makeAudit, makeDevice, makeTenant } from '../helpers/store-fixtures';
import { expectError } from './expect-error';

/** Devices and the atomic read-check-write (part of storeContract). */
export function deviceContract(store: () => Store): void {
  const fullDevice = (tenantId: number, siteId: number | null): Device =>
    makeDevice({
      tenantId,
      siteId,
      vendor: 'snom',
      model: 'D785',
      createdAt: 1_700_000_000_123,
      auth: { state: 'failed', pap: '012345', failures: 3, lockouts: 1, lockedUntil: 1_700_000_999_000, suspendedUntil: 7 },
      secretHash: 'a'.repeat(64),
      prevSecretHash: 'b'.repeat(64),
      sipUsername: 'gate-42',
      sipPassword: 'p"w\'ö',
      lines: [{ server: 'sip.example.com', user: '100', authName: 'a100', password: 's3cr3t', displayName: 'Zoë "Z"' }],
      lastProvisionedIp: '2001:db8::1',
      lastProvisionedAt: 1_700_000_500_000,
    });

  describe('devices', () => {
    it('stores every field and reads it back by MAC and by SIP username', async () => {
      const t = await makeTenant(store(), 'acme');
      const site = await store().createSite({ tenantId: t.id, name: 'HQ', locale: null });
      const full = fullDevice(t.id, site.id);
      const bare = makeDevice({ tenantId: t.id });
      await store().insertDevices([full, bare], []);
      assert.deepEqual(await store().getDevice(full.mac), full);
      assert.deepEqual(await store().getDevice(bare.mac), bare);
      assert.deepEqual(await store().getDeviceBySipUsername('gate-42'), full);
      assert.equal(await store().getDevice('02ffffffffff'), null);
      assert.equal(await store().getDeviceBySipUsername('nobody'), null);
    });

    it('imports all or nothing: a duplicate MAC anywhere in the batch saves none', async () => {
      const t = await makeTenant(store(), 'acme');
      const old = makeDevice({ tenantId: t.id });
      await store().insertDevices([old], []);
      const batch = [makeDevice({ tenantId: t.id }), makeDevice({ tenantId: t.id }), makeDevice({ tenantId: t.id, mac: old.mac })];
      await expectError(store().insertDevices(batch, [makeAudit({ tenantId: t.id })]), 'conflict', new RegExp(`device with MAC ${old.mac} already exists`));
      assert.equal(await store().countDevices(t.id), 1);
      assert.equal(await store().getDevice(batch[0]!.mac), null);
      assert.deepEqual(await store().listAudit(t.id, 10), []);
    });

    it('refuses duplicates inside one batch and duplicate SIP usernames', async () => {
      const t = await makeTenant(store(), 'acme');
      const d = makeDevice({ tenantId: t.id });
      await expectError(store().insertDevices([d, { ...d, sipUsername: 'other' }], []), 'conflict', new RegExp(d.mac));
      await expectError(
        store().insertDevices([d, makeDevice({ tenantId: t.id, sipUsername: d.sipUsername })], []),
        'conflict',
        new RegExp(`SIP username ${d.sipUsername}`),
      );
      assert.equal(await store().countDevices(), 0);
    });

    it('refuses an unknown tenant, or a site of another tenant', async () => {
      const a = await makeTenant(store(), 'a');
      const b = await makeTenant(store(), 'b');
      const siteOfB = await store().createSite({ tenantId: b.id, name: 'B-HQ', locale: null });
      await expectError(store().insertDevices([makeDevice({ tenantId: 999_999 })], []), 'not_found', /tenant/);
      await expectError(store().insertDevices([makeDevice({ tenantId: a.id, siteId: siteOfB.id })], []), 'not_found', /site/);
      assert.equal(await store().countDevices(), 0);
    });

    it('writes the import audit in the same transaction', async () => {
      const t = await makeTenant(store(), 'acme');
      await store().insertDevices([makeDevice({ tenantId: t.id })], [makeAudit({ tenantId: t.id, action: 'import' })]);
      assert.deepEqual(
        (await store().listAudit(t.id, 10)).map((e) => e.action),
        ['import'],
      );
    });

    it('lists and counts per tenant, by site, in creation order, with limit and offset', async () => {
      const a = await makeTenant(store(), 'a');
      const b = await makeTenant(store(), 'b');
      const hq = await store().createSite({ tenantId: a.id, name: 'HQ', locale: null });
      const ofA = [3, 1, 2].map((n) => makeDevice({ tenantId: a.id, createdAt: n, siteId: n === 2 ? null : hq.id }));
      await store().insertDevices([...ofA, makeDevice({ tenantId: b.id })], []);
      const byAge = [...ofA].sort((x, y) => x.createdAt - y.createdAt).map((d) => d.mac);
      assert.deepEqual(
        (await store().listDevices(a.id)).map((d) => d.mac),
        byAge,
      );
      assert.deepEqual(
        (await store().listDevices(a.id, { limit: 2 })).map((d) => d.mac),
        byAge.slice(0, 2),
      );
      assert.deepEqual(
        (await store().listDevices(a.id, { limit: 2, offset: 2 })).map((d) => d.mac),
        byAge.slice(2),
      );
      assert.deepEqual(
        (await store().listDevices(a.id, { siteId: hq.id })).map((d) => d.createdAt),
        [1, 3],
      );
      assert.deepEqual(await store().listDevices(b.id, { siteId: hq.id }), []);
      assert.equal((await store().listDevices(b.id)).length, 1);
      assert.deepEqual(await store().listDevices(999_999), []);
      assert.equal(await store().countDevices(a.id), 3);
      assert.equal(await store().countDevices(), 4);
      await expectError(store().listDevices(a.id, { limit: -1 }), 'invalid');
    });

    it('deletes a device once, auditing only the real deletion', async () => {
      const t = await makeTenant(store(), 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store().insertDevices([d], []);
      assert.equal(await store().deleteDevice(d.mac, makeAudit({ tenantId: t.id, action: 'delete' })), true);
      assert.equal(await store().getDevice(d.mac), null);
      assert.equal(await store().deleteDevice(d.mac, makeAudit({ tenantId: t.id, action: 'delete' })), false);
      assert.equal((await store().listAudit(t.id, 10)).length, 1);
      await store().insertDevices([d], []); // the MAC is free again
    });
  });

  describe('mutateDevice', () => {
    const fail = (d: Device | null): DeviceChange<number> => {
      if (!d) throw new Error('missing');
      return { next: { ...d, auth: { ...d.auth, failures: d.auth.failures + 1 } }, result: d.auth.failures + 1 };
    };

    it('passes null for an unknown MAC and writes nothing when there is no `next`', async () => {
      let seen: Device | null | undefined;
      const r = await store().mutateDevice('02aaaaaaaaaa', (d) => {
        seen = d;
        return { result: 'none' };
      });
      assert.equal(seen, null);
      assert.equal(r, 'none');
      assert.equal(await store().countDevices(), 0);
    });

    it('writes `next`, the audit rows and trust windows, and returns `result`', async () => {
      const t = await makeTenant(store(), 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store().insertDevices([d], []);
      const r = await store().mutateDevice(d.mac, (cur) => ({
        next: { ...cur!, auth: { ...cur!.auth, state: 'successful', pap: null }, lastProvisionedIp: '198.51.100.7' },
        result: cur!.auth.state,
        audit: [makeAudit({ tenantId: t.id, mac: d.mac, action: 'a1' }), makeAudit({ tenantId: t.id, mac: d.mac, action: 'a2' })],
        trust: [{ tenantId: t.id, ip: '198.51.100.7', until: 5000 }],
      }));
      assert.equal(r, 'needed');
      const after = await store().getDevice(d.mac);
      assert.equal(after?.auth.state, 'successful');
      assert.equal(after?.auth.pap, null);
      assert.equal(after?.lastProvisionedIp, '198.51.100.7');
      assert.deepEqual(
        (await store().listAudit(t.id, 10)).map((e) => e.action),
        ['a2', 'a1'],
      );
      assert.deepEqual(await store().listTemporaryTrust(t.id, 4999), [{ tenantId: t.id, ip: '198.51.100.7', until: 5000 }]);
    });

    it('inserts `next` when the MAC was unknown', async () => {
      const t = await makeTenant(store(), 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store().mutateDevice(d.mac, (cur) => ({ next: cur ?? d, result: null }));
      assert.deepEqual(await store().getDevice(d.mac), d);
    });

    it('rolls everything back and rethrows the same error when `mutate` throws', async () => {
      const t = await makeTenant(store(), 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store().insertDevices([d], []);
      const boom = new Error('boom');
      await assert.rejects(
        store().mutateDevice(d.mac, () => {
          throw boom;
        }),
        (e) => e === boom,
      );
      await assert.rejects(store().mutateDevice('02bbbbbbbbbb', fail), /missing/);
      assert.deepEqual(await store().getDevice(d.mac), d);
      assert.deepEqual(await store().listAudit(null, 10), []);
    });

    it('rolls back when writing `next` fails (SIP username taken)', async () => {
      const t = await makeTenant(store(), 'acme');
      const [x, y] = [makeDevice({ tenantId: t.id }), makeDevice({ tenantId: t.id })];
      await store().insertDevices([x, y], []);
      await expectError(
        store().mutateDevice(x.mac, (cur) => ({
          next: { ...cur!, sipUsername: y.sipUsername },
          result: 0,
          audit: [makeAudit({ tenantId: t.id })],
          trust: [{ tenantId: t.id, ip: '192.0.2.1', until: 9e12 }],
        })),
        'conflict',
        /SIP username/,
      );
      assert.deepEqual(await store().getDevice(x.mac), x);
      assert.deepEqual(await store().listAudit(null, 10), []);
      assert.deepEqual(await store().listTemporaryTrust(t.id, 0), []);
    });

    it('refuses to change the MAC', async () => {
      const t = await makeTenant(store(), 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store().insertDevices([d], []);
      await expectError(
        store().mutateDevice(d.mac, (cur) => ({ next: { ...cur!, mac: '02cccccccccc' }, result: 0 })),
        'invalid',
      );
      assert.deepEqual(await store().getDevice(d.mac), d);
    });

    it('serialises parallel calls: 25 increments give 25', async () => {
      const t = await makeTenant(store(), 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store().insertDevices([d], []);
      const results = await Promise.all(Array.from({ length: 25 }, () => store().mutateDevice(d.mac, fail)));
      assert.deepEqual(
        [...results].sort((p, q) => p - q),
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
      assert.equal((await store().getDevice(d.mac))?.auth.failures, 25);
    });
  });

  describe('recordLastSeen', () => {
    it("shows in the store's own reads at once, by MAC, by SIP username and in lists", async () => {
      const t = await makeTenant(store(), 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store().insertDevices([d], []);
      await store().recordLastSeen(d.mac, '198.51.100.7', 1_700_000_000_000);
      const seen = { ...d, lastProvisionedIp: '198.51.100.7', lastProvisionedAt: 1_700_000_000_000 };
      assert.deepEqual(await store().getDevice(d.mac), seen);
      assert.deepEqual(await store().getDeviceBySipUsername(d.sipUsername), seen);
      assert.deepEqual(await store().listDevices(t.id), [seen]);
    });

    it('never replaces a newer time with an older one; an unknown MAC is ignored', async () => {
      const t = await makeTenant(store(), 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store().insertDevices([d], []);
      await store().recordLastSeen(d.mac, '198.51.100.2', 2_000);
      await store().recordLastSeen(d.mac, '198.51.100.1', 1_000);
      await store().recordLastSeen('02eeeeeeeeee', '198.51.100.3', 3_000);
      const got = await store().getDevice(d.mac);
      assert.equal(got?.lastProvisionedIp, '198.51.100.2');
      assert.equal(got?.lastProvisionedAt, 2_000);
      assert.equal(await store().getDevice('02eeeeeeeeee'), null);
      assert.equal(await store().countDevices(), 1);
    });

    it('is what a mutation sees, and is kept by the change it writes', async () => {
      const t = await makeTenant(store(), 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store().insertDevices([d], []);
      await store().recordLastSeen(d.mac, '198.51.100.9', 5_000);
      const ipSeen = await store().mutateDevice(d.mac, (cur) => ({
        next: { ...cur!, auth: { ...cur!.auth, failures: 1 } },
        result: cur!.lastProvisionedIp,
      }));
      assert.equal(ipSeen, '198.51.100.9');
      const got = await store().getDevice(d.mac);
      assert.equal(got?.auth.failures, 1);
      assert.equal(got?.lastProvisionedIp, '198.51.100.9');
    });

    it('a mutation that sets a newer value wins over an older one recorded before it', async () => {
      const t = await makeTenant(store(), 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store().insertDevices([d], []);
      await store().recordLastSeen(d.mac, '198.51.100.1', 1_000);
      await store().mutateDevice(d.mac, (cur) => ({ next: { ...cur!, lastProvisionedIp: '198.51.100.2', lastProvisionedAt: 2_000 }, result: 0 }));
      await store().recordLastSeen(d.mac, '198.51.100.1', 1_500);
      assert.equal((await store().getDevice(d.mac))?.lastProvisionedIp, '198.51.100.2');
    });
  });
}
