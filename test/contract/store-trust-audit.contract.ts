import assert from 'node:assert/strict';
import { TRUST_EXTENSION_STEP_MS, type Store } from '../../src/ports/store';
import { makeAudit, makeDevice, makeTenant } from '../helpers/store-fixtures';
import { expectError } from './expect-error';

/** Allow-lists, temporary trust and the audit log (part of storeContract). */
export function trustAuditContract(store: () => Store): void {
  describe('allow-list', () => {
    it('adds, lists per tenant and removes entries, auditing each real change', async () => {
      const a = await makeTenant(store(), 'a');
      const b = await makeTenant(store(), 'b');
      const e = { tenantId: a.id, cidr: '203.0.113.0/24', createdAt: 10 };
      assert.deepEqual(await store().addAllowEntry(e, makeAudit({ tenantId: a.id, action: 'allow-add' })), e);
      await store().addAllowEntry({ tenantId: a.id, cidr: '2001:db8::/48', createdAt: 11 }, makeAudit({ tenantId: a.id }));
      await store().addAllowEntry({ tenantId: b.id, cidr: '203.0.113.0/24', createdAt: 12 }, makeAudit({ tenantId: b.id }));
      assert.deepEqual(
        (await store().listAllowEntries(a.id)).map((x) => x.cidr),
        ['203.0.113.0/24', '2001:db8::/48'],
      );
      assert.deepEqual(await store().listAllowEntries(b.id), [{ tenantId: b.id, cidr: '203.0.113.0/24', createdAt: 12 }]);

      assert.equal(await store().removeAllowEntry(a.id, '203.0.113.0/24', makeAudit({ tenantId: a.id, action: 'allow-rm' })), true);
      assert.equal(await store().removeAllowEntry(a.id, '203.0.113.0/24', makeAudit({ tenantId: a.id, action: 'allow-rm' })), false);
      assert.deepEqual(
        (await store().listAllowEntries(a.id)).map((x) => x.cidr),
        ['2001:db8::/48'],
      );
      assert.equal((await store().listAllowEntries(b.id)).length, 1);
      assert.deepEqual(
        (await store().listAudit(a.id, 10)).map((x) => x.action),
        ['allow-rm', 'test', 'allow-add'],
      );
    });

    it('refuses a duplicate entry with a conflict, and an unknown tenant', async () => {
      const a = await makeTenant(store(), 'a');
      const e = { tenantId: a.id, cidr: '198.51.100.0/24', createdAt: 10 };
      await store().addAllowEntry(e, makeAudit({ tenantId: a.id }));
      await expectError(store().addAllowEntry(e, makeAudit({ tenantId: a.id })), 'conflict', /198\.51\.100\.0\/24.*tenant a/);
      await expectError(store().addAllowEntry({ ...e, tenantId: 999_999 }, makeAudit()), 'not_found', /tenant/);
      assert.equal((await store().listAudit(null, 10)).length, 1);
    });
  });

  describe('temporary trust', () => {
    const open = async (tenantId: number, ip: string, until: number) => {
      const d = makeDevice({ tenantId });
      await store().insertDevices([d], []);
      await store().mutateDevice(d.mac, () => ({ result: null, trust: [{ tenantId, ip, until }] }));
    };

    it('keeps the later end when a window is opened again, and extends it only by a whole step', async () => {
      const t = await makeTenant(store(), 'acme');
      const window = async () => store().listTemporaryTrust(t.id, 0);
      await open(t.id, '192.0.2.9', 5000);
      await open(t.id, '192.0.2.9', 3000);
      assert.deepEqual(await window(), [{ tenantId: t.id, ip: '192.0.2.9', until: 5000 }]);
      await open(t.id, '192.0.2.9', 5000 + TRUST_EXTENSION_STEP_MS - 1);
      assert.deepEqual(await window(), [{ tenantId: t.id, ip: '192.0.2.9', until: 5000 }], 'less than a step is not worth a write');
      await open(t.id, '192.0.2.9', 5000 + TRUST_EXTENSION_STEP_MS);
      assert.deepEqual(await window(), [{ tenantId: t.id, ip: '192.0.2.9', until: 5000 + TRUST_EXTENSION_STEP_MS }]);
    });

    it('lists only windows that have not ended at `now`, of that tenant only', async () => {
      const a = await makeTenant(store(), 'a');
      const b = await makeTenant(store(), 'b');
      await open(a.id, '192.0.2.1', 1000);
      await open(a.id, '192.0.2.2', 2000);
      await open(b.id, '192.0.2.1', 3000);
      assert.deepEqual(
        (await store().listTemporaryTrust(a.id, 999)).map((w) => w.ip),
        ['192.0.2.1', '192.0.2.2'],
      );
      assert.deepEqual(
        (await store().listTemporaryTrust(a.id, 1000)).map((w) => w.ip),
        ['192.0.2.2'],
      );
      assert.deepEqual(await store().listTemporaryTrust(a.id, 2000), []);
      assert.deepEqual(await store().listTemporaryTrust(b.id, 2500), [{ tenantId: b.id, ip: '192.0.2.1', until: 3000 }]);
      assert.deepEqual(await store().listTemporaryTrust(999_999, 0), []);
    });
  });

  describe('audit', () => {
    it('lists newest first, up to `limit`, per tenant or (null) all of them', async () => {
      const a = await makeTenant(store(), 'a');
      const b = await makeTenant(store(), 'b');
      for (let i = 1; i <= 5; i++) await store().appendAudit(makeAudit({ tenantId: a.id, action: `a${i}`, at: i }));
      await store().appendAudit(makeAudit({ tenantId: b.id, action: 'b1' }));
      await store().appendAudit(makeAudit({ tenantId: null, action: 'sys' }));
      assert.deepEqual(
        (await store().listAudit(a.id, 3)).map((e) => e.action),
        ['a5', 'a4', 'a3'],
      );
      assert.deepEqual(
        (await store().listAudit(b.id, 10)).map((e) => e.action),
        ['b1'],
      );
      assert.deepEqual(
        (await store().listAudit(null, 3)).map((e) => e.action),
        ['sys', 'b1', 'a5'],
      );
      assert.deepEqual(await store().listAudit(a.id, 0), []);
      await expectError(store().listAudit(a.id, 1.5), 'invalid');
    });

    it('keeps every field and gives increasing ids', async () => {
      const e = makeAudit({ at: 99, tenantId: null, mac: '021122334455', sourceIp: '2001:db8::5', actor: 'phone', action: 'pap-attempt', outcome: 'wrong' });
      await store().appendAudit(e);
      await store().appendAudit(makeAudit());
      const [second, first] = await store().listAudit(null, 10);
      assert.deepEqual({ ...first!, id: undefined }, { ...e, id: undefined });
      assert.ok(typeof first!.id === 'number' && second!.id! > first!.id);
    });
  });
}
