import { strict as assert } from 'node:assert';
import { startAdmin, type AdminHarness, type RequestOptions } from './admin-harness';

/** A tenant token can neither read nor change another tenant's things, and platform-only routes refuse it. */
describe('admin REST API: tenant isolation', () => {
  let h: AdminHarness;
  let acme: string;
  let globex: string;
  const GLOBEX_MAC = '02bbbbbbbb01';

  before(async () => {
    h = await startAdmin();
    acme = (await h.req('POST', '/api/v1/tenants', { body: { name: 'acme' } })).json.token;
    globex = (await h.req('POST', '/api/v1/tenants', { body: { name: 'globex' } })).json.token;
    await h.req('POST', '/api/v1/tenants/globex/sites', { token: globex, body: { name: 'paris' } });
    const d = await h.req('POST', '/api/v1/tenants/globex/devices', {
      token: globex,
      body: { mac: GLOBEX_MAC, vendor: 'yealink', model: 'T54W', site: 'paris' },
    });
    assert.equal(d.status, 201, d.text);
    await h.req('POST', '/api/v1/tenants/globex/allow-list', { token: globex, body: { cidr: '198.51.100.0/24' } });
    await h.req('POST', '/api/v1/tenants/acme/devices', { token: acme, body: { mac: '02aaaaaaaa01', vendor: 'snom', model: 'D785' } });
  });
  after(async () => {
    await h.close();
  });

  /** Everything globex has, read with the platform token. */
  async function globexSnapshot(): Promise<unknown> {
    const get = async (path: string) => (await h.req('GET', path)).text;
    return {
      tenant: await get('/api/v1/tenants/globex'),
      sites: await get('/api/v1/tenants/globex/sites'),
      devices: await get('/api/v1/tenants/globex/devices'),
      allow: await get('/api/v1/tenants/globex/allow-list'),
      audit: await get('/api/v1/tenants/globex/audit?limit=1000'),
      whoami: (await h.req('GET', '/api/v1/whoami', { token: globex })).status,
    };
  }

  const macSpellings = [GLOBEX_MAC, '02:bb:bb:bb:bb:01', '02BB.BBBB.BB01'];
  const attempts: [string, string, RequestOptions?][] = [
    ['GET', '/api/v1/tenants/globex'],
    ['PATCH', '/api/v1/tenants/globex', { body: { locale: 'de' } }],
    ['GET', '/api/v1/tenants/globex/sites'],
    ['POST', '/api/v1/tenants/globex/sites', { body: { name: 'evil' } }],
    ['GET', '/api/v1/tenants/globex/devices'],
    ['POST', '/api/v1/tenants/globex/devices', { body: { mac: '02bbbbbbbb02', vendor: 'snom', model: 'D785' } }],
    ...macSpellings.flatMap((m): [string, string, RequestOptions?][] => [
      ['GET', `/api/v1/devices/${encodeURIComponent(m)}`],
      ['POST', `/api/v1/devices/${encodeURIComponent(m)}/reset`],
      ['POST', `/api/v1/devices/${encodeURIComponent(m)}/suspend`],
      ['PUT', `/api/v1/devices/${encodeURIComponent(m)}/lines`, { body: { lines: [{ server: 'evil.example', user: '1', password: 'x' }] } }],
      ['DELETE', `/api/v1/devices/${encodeURIComponent(m)}`],
    ]),
    ['GET', '/api/v1/tenants/globex/allow-list'],
    ['POST', '/api/v1/tenants/globex/allow-list', { body: { cidr: '192.0.2.0/24' } }],
    ['DELETE', `/api/v1/tenants/globex/allow-list?cidr=${encodeURIComponent('198.51.100.0/24')}`],
    ['GET', '/api/v1/tenants/globex/export.csv'],
    ['POST', '/api/v1/tenants/globex/import', { raw: 'mac,vendor,model\n02bbbbbbbb03,snom,D785\n', contentType: 'text/csv' }],
    ['GET', '/api/v1/tenants/globex/audit'],
  ];

  it('refuses every route on another tenant with 403 or 404 and changes nothing', async () => {
    const before = await globexSnapshot();
    const pap = (await h.req('GET', `/api/v1/devices/${GLOBEX_MAC}`)).json.pap;
    for (const [method, path, o] of attempts) {
      const r = await h.req(method, path, { ...o, token: acme });
      assert.ok(r.status === 403 || r.status === 404, `${method} ${path}: ${r.status} ${r.text}`);
      assert.ok(['forbidden', 'not_found'].includes(r.json?.error), `${method} ${path}: ${r.text}`);
      assert.ok(!r.text.includes(pap), `${method} ${path} leaked the PAP`);
      assert.ok(!r.text.includes('198.51.100'), `${method} ${path} leaked the allow-list`);
    }
    assert.deepEqual(await globexSnapshot(), before);
  });

  it("hides another tenant's device as missing (404), not forbidden", async () => {
    const r = await h.req('GET', `/api/v1/devices/${GLOBEX_MAC}`, { token: acme });
    assert.equal(r.status, 404);
  });

  it("does not let a tenant create another tenant's device by naming it in the path", async () => {
    const r = await h.req('POST', '/api/v1/tenants/globex/devices', { token: acme, body: { mac: '02aaaaaaaa09', vendor: 'snom', model: 'D785' } });
    assert.equal(r.status, 403);
    assert.equal((await h.req('GET', '/api/v1/devices/02aaaaaaaa09')).status, 404);
  });

  it('refuses platform-only routes to tenant tokens with 403', async () => {
    const tenantsBefore = (await h.req('GET', '/api/v1/tenants')).text;
    for (const [method, path, o] of [
      ['POST', '/api/v1/tenants', { body: { name: 'initech' } }],
      ['POST', '/api/v1/tenants/acme/token'],
      ['POST', '/api/v1/tenants/globex/token'],
      ['GET', '/api/v1/audit'],
    ] as [string, string, RequestOptions?][]) {
      const r = await h.req(method, path, { ...o, token: acme });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.equal(r.json.error, 'forbidden');
    }
    assert.equal((await h.req('GET', '/api/v1/tenants')).text, tenantsBefore);
    assert.equal((await h.req('GET', '/api/v1/whoami', { token: acme })).json.tenant, 'acme', 'own token not rotated');
  });

  it('shows a tenant only its own tenant, devices and audit', async () => {
    const tenants = await h.req('GET', '/api/v1/tenants', { token: acme });
    assert.deepEqual(
      tenants.json.map((t: { name: string }) => t.name),
      ['acme'],
    );
    const audit = await h.req('GET', '/api/v1/tenants/acme/audit?limit=1000', { token: acme });
    assert.ok(audit.json.length > 0);
    assert.ok(audit.json.every((e: { tenant: string }) => e.tenant === 'acme'));
    const devices = await h.req('GET', '/api/v1/tenants/acme/devices', { token: acme });
    assert.deepEqual(
      devices.json.map((d: { mac: string }) => d.mac),
      ['02aaaaaaaa01'],
    );
  });

  it('refuses every API route without a valid token (401) and changes nothing', async () => {
    const before = await globexSnapshot();
    for (const [method, path, o] of attempts) {
      for (const token of [null, 'pgt_forged']) {
        const r = await h.req(method, path, { ...o, token });
        assert.equal(r.status, 401, `${method} ${path}`);
      }
    }
    assert.deepEqual(await globexSnapshot(), before);
  });
});
