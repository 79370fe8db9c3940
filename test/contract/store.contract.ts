import assert from 'node:assert/strict';
import type { Store } from '../../src/ports/store';
import { makeAudit, makeTenant, sha256 } from '../helpers/store-fixtures';
import { deviceContract } from './store-devices.contract';
import { expectError } from './expect-error';
import { trustAuditContract } from './store-trust-audit.contract';
import { registrationsContract } from './store-registrations.contract';
import { webhooksContract } from './store-webhooks.contract';

/**
 * The behaviour every Store adapter must show. `open` returns a fresh, empty
 * store each time; each test closes the one it got.
 */
export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    const get = () => store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('tenants', () => {
      it('creates a tenant and finds it by name, id and token hash', async () => {
        const t = await store.createTenant({ name: 'acme', locale: 'de', tokenHash: sha256('x'), createdAt: 42 });
        assert.deepEqual(t, { id: t.id, name: 'acme', locale: 'de', createdAt: 42 });
        assert.ok(Number.isInteger(t.id) && t.id > 0);
        assert.deepEqual(await store.getTenantByName('acme'), t);
        assert.deepEqual(await store.getTenantById(t.id), t);
        assert.deepEqual(await store.getTenantByTokenHash(sha256('x')), t);
      });

      it('returns null for unknown tenants', async () => {
        await makeTenant(store, 'acme');
        assert.equal(await store.getTenantByName('nope'), null);
        assert.equal(await store.getTenantByName('ACME'), null);
        assert.equal(await store.getTenantById(999_999), null);
        assert.equal(await store.getTenantByTokenHash(sha256('nope')), null);
      });

      it('refuses a duplicate name or token hash with a conflict naming it', async () => {
        await makeTenant(store, 'acme');
        await expectError(makeTenant(store, 'acme'), 'conflict', /tenant acme already exists/);
        await expectError(store.createTenant({ name: 'other', locale: 'en', tokenHash: sha256('token-acme'), createdAt: 1 }), 'conflict', /token/);
        assert.deepEqual(
          (await store.listTenants()).map((t) => t.name),
          ['acme'],
        );
      });

      it('changes the token hash: the old one no longer finds the tenant', async () => {
        const t = await makeTenant(store, 'acme');
        await store.setTenantTokenHash(t.id, sha256('new'));
        assert.equal(await store.getTenantByTokenHash(sha256('token-acme')), null);
        assert.equal((await store.getTenantByTokenHash(sha256('new')))?.id, t.id);
      });

      it('refuses a token hash another tenant has, and unknown tenants', async () => {
        const a = await makeTenant(store, 'a');
        await makeTenant(store, 'b');
        await expectError(store.setTenantTokenHash(a.id, sha256('token-b')), 'conflict');
        await expectError(store.setTenantTokenHash(999_999, sha256('z')), 'not_found', /tenant/);
        await expectError(store.setTenantLocale(999_999, 'de'), 'not_found', /tenant/);
      });

      it('changes the locale', async () => {
        const t = await makeTenant(store, 'acme');
        await store.setTenantLocale(t.id, 'de');
        assert.equal((await store.getTenantById(t.id))?.locale, 'de');
      });

      it('lists tenants in creation order', async () => {
        for (const n of ['zeta', 'alpha', 'mid']) await makeTenant(store, n);
        assert.deepEqual(
          (await store.listTenants()).map((t) => t.name),
          ['zeta', 'alpha', 'mid'],
        );
      });
    });

    describe('sites', () => {
      it('creates sites and finds them by tenant+name and by id', async () => {
        const t = await makeTenant(store, 'acme');
        const s = await store.createSite({ tenantId: t.id, name: 'Berlin', locale: 'de' });
        assert.deepEqual(s, { id: s.id, tenantId: t.id, name: 'Berlin', locale: 'de', emergencyNumbers: [] });
        const n = await store.createSite({ tenantId: t.id, name: 'Hamburg', locale: null });
        assert.equal(n.locale, null);
        assert.deepEqual(await store.getSite(t.id, 'Berlin'), s);
        assert.deepEqual(await store.getSiteById(s.id), s);
        assert.equal(await store.getSite(t.id, 'Munich'), null);
        assert.equal(await store.getSiteById(999_999), null);
      });

      it('keeps site names unique per tenant only', async () => {
        const a = await makeTenant(store, 'a');
        const b = await makeTenant(store, 'b');
        await store.createSite({ tenantId: a.id, name: 'HQ', locale: null });
        await store.createSite({ tenantId: b.id, name: 'HQ', locale: null });
        await expectError(store.createSite({ tenantId: a.id, name: 'HQ', locale: null }), 'conflict', /HQ.*tenant a/);
        assert.equal(await store.getSite(b.id, 'Nope'), null);
        assert.deepEqual(
          (await store.listSites(a.id)).map((s) => s.tenantId),
          [a.id],
        );
        assert.deepEqual(
          (await store.listSites(b.id)).map((s) => s.name),
          ['HQ'],
        );
      });

      it('refuses a site of an unknown tenant', async () => {
        await expectError(store.createSite({ tenantId: 999_999, name: 'x', locale: null }), 'not_found', /tenant/);
      });

      it("keeps a site's own emergency numbers, in order, and changes them with its locale", async () => {
        const t = await makeTenant(store, 'acme');
        const paris = await store.createSite({ tenantId: t.id, name: 'Paris', locale: 'fr', emergencyNumbers: ['15', '17', '18', '*112#'] });
        assert.deepEqual(paris.emergencyNumbers, ['15', '17', '18', '*112#']);
        assert.deepEqual((await store.getSiteById(paris.id))?.emergencyNumbers, ['15', '17', '18', '*112#']);
        await store.updateSite(paris.id, { locale: null, emergencyNumbers: ['17'] });
        assert.deepEqual(await store.getSite(t.id, 'Paris'), { ...paris, locale: null, emergencyNumbers: ['17'] });
        await store.updateSite(paris.id, { locale: 'pl', emergencyNumbers: [] });
        assert.deepEqual((await store.listSites(t.id))[0], { ...paris, locale: 'pl', emergencyNumbers: [] });
        await expectError(store.updateSite(999_999, { locale: null, emergencyNumbers: ['17'] }), 'not_found', /site/);
      });
    });

    deviceContract(get);
    trustAuditContract(get);
    registrationsContract(get);
    webhooksContract(get);

    describe('close', () => {
      it('refuses calls after close with unavailable; closing twice is fine', async () => {
        const s = await open();
        await s.close();
        await s.close();
        await expectError(s.getDevice('021122334455'), 'unavailable', /closed/);
        await expectError(s.appendAudit(makeAudit()), 'unavailable');
      });
    });
  });
}
