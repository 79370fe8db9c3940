import { strict as assert } from 'node:assert';
import { registeredRoutes } from '../../src/admin/rest/server';
import { startAdmin, type AdminHarness } from './admin-harness';

/** Every admin route on a real listener over a real SQLite file, as the platform admin and as a tenant. */
describe('admin REST API', () => {
  let h: AdminHarness;
  let acmeToken: string;

  before(async () => {
    h = await startAdmin();
    const r = await h.req('POST', '/api/v1/tenants', { body: { name: 'acme', locale: 'de' } });
    assert.equal(r.status, 201, r.text);
    acmeToken = r.json.token;
  });
  after(async () => {
    await h.close();
  });

  it('answers /healthz and /metrics without a token', async () => {
    const health = await h.req('GET', '/healthz', { token: null });
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { ok: true });
    const metrics = await h.req('GET', '/metrics', { token: null });
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(metrics.text, /papgate_admin_actions_total\{action="tenant-add",outcome="ok"\} 1/);
  });

  it('tells who a token belongs to, and refuses missing or unknown tokens with 401', async () => {
    const locales = ['en', 'de', 'fr', 'es', 'it', 'nl', 'pl'];
    assert.deepEqual((await h.req('GET', '/api/v1/whoami')).json, { kind: 'platform', locales });
    assert.deepEqual((await h.req('GET', '/api/v1/whoami', { token: acmeToken })).json, { kind: 'tenant', tenant: 'acme', locales });
    for (const token of [null, 'not-a-token', `${acmeToken}x`, '']) {
      const r = await h.req('GET', '/api/v1/whoami', { token });
      assert.equal(r.status, 401, `token ${String(token)}`);
      assert.equal(r.json.error, 'unauthorized');
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    }
    const basic = await fetch(`${h.base}/api/v1/whoami`, { headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } });
    assert.equal(basic.status, 401);
  });

  it('works with tenant tokens only when no admin token is configured', async () => {
    const h2 = await startAdmin({ adminToken: null });
    try {
      const { token } = await h2.services.tenants.create({ kind: 'platform', label: 'cli' }, 'solo');
      assert.equal((await h2.req('GET', '/api/v1/whoami')).status, 401);
      assert.equal((await h2.req('GET', '/api/v1/whoami', { token })).json.tenant, 'solo');
    } finally {
      await h2.close();
    }
  });

  it('creates, lists, shows and changes tenants; rotates tokens', async () => {
    const created = await h.req('POST', '/api/v1/tenants', { body: { name: 'Globex' } });
    assert.equal(created.status, 201);
    assert.equal(created.json.tenant.name, 'globex');
    assert.equal(created.json.tenant.locale, 'en');
    assert.match(created.json.token, /^pgt_/);
    assert.ok(!Number.isNaN(Date.parse(created.json.tenant.createdAt)));

    const list = await h.req('GET', '/api/v1/tenants');
    assert.deepEqual(list.json.map((t: { name: string }) => t.name).sort(), ['acme', 'globex']);
    assert.deepEqual(
      (await h.req('GET', '/api/v1/tenants', { token: acmeToken })).json.map((t: { name: string }) => t.name),
      ['acme'],
    );

    assert.equal((await h.req('GET', '/api/v1/tenants/globex')).json.locale, 'en');
    const patched = await h.req('PATCH', '/api/v1/tenants/globex', { body: { locale: 'de' } });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.locale, 'de');
    assert.equal((await h.req('GET', '/api/v1/tenants/globex', { token: created.json.token })).json.locale, 'de');

    const dup = await h.req('POST', '/api/v1/tenants', { body: { name: 'globex' } });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.error, 'conflict');

    const rotated = await h.req('POST', '/api/v1/tenants/globex/token');
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.json.token, created.json.token);
    assert.equal((await h.req('GET', '/api/v1/whoami', { token: created.json.token })).status, 401);
    assert.equal((await h.req('GET', '/api/v1/whoami', { token: rotated.json.token })).json.tenant, 'globex');
  });

  it('adds and lists sites', async () => {
    const site = await h.req('POST', '/api/v1/tenants/acme/sites', { token: acmeToken, body: { name: 'berlin', locale: 'de' } });
    assert.equal(site.status, 201);
    assert.deepEqual(site.json, { name: 'berlin', locale: 'de', emergencyNumbers: [] });
    assert.equal((await h.req('POST', '/api/v1/tenants/acme/sites', { body: { name: 'hq' } })).status, 201);
    const sites = await h.req('GET', '/api/v1/tenants/acme/sites', { token: acmeToken });
    assert.deepEqual(sites.json.map((s: { name: string }) => s.name).sort(), ['berlin', 'hq']);
  });

  it("keeps emergency numbers per site and changes a site's numbers and locale", async () => {
    const paris = await h.req('POST', '/api/v1/tenants/acme/sites', {
      token: acmeToken,
      body: { name: 'paris', locale: 'fr', emergencyNumbers: ['15', '17', '18'] },
    });
    assert.equal(paris.status, 201);
    assert.deepEqual(paris.json, { name: 'paris', locale: 'fr', emergencyNumbers: ['15', '17', '18'] });
    const patched = await h.req('PATCH', '/api/v1/tenants/acme/sites/paris', { token: acmeToken, body: { emergencyNumbers: ['17', '112'] } });
    assert.deepEqual(patched.json, { name: 'paris', locale: 'fr', emergencyNumbers: ['17', '112'] });
    const relocated = await h.req('PATCH', '/api/v1/tenants/acme/sites/paris', { body: { locale: null } });
    assert.deepEqual(relocated.json, { name: 'paris', locale: null, emergencyNumbers: ['17', '112'] });
    const listed = (await h.req('GET', '/api/v1/tenants/acme/sites')).json.find((s: { name: string }) => s.name === 'paris');
    assert.deepEqual(listed, relocated.json);
    assert.equal((await h.req('PATCH', '/api/v1/tenants/acme/sites/nowhere', { body: { emergencyNumbers: [] } })).status, 404);
  });

  it('creates a device with its PAP, shows, filters, resets, suspends, sets lines and deletes it', async () => {
    const created = await h.req('POST', '/api/v1/tenants/acme/devices', {
      token: acmeToken,
      body: { mac: '02-AA-BB-CC-DD-01', vendor: 'Yealink', model: 'T46U', site: 'berlin' },
    });
    assert.equal(created.status, 201, created.text);
    const d = created.json;
    assert.equal(d.mac, '02aabbccdd01');
    assert.equal(d.tenant, 'acme');
    assert.equal(d.site, 'berlin');
    assert.equal(d.vendor, 'yealink');
    assert.equal(d.state, 'needed');
    assert.match(d.pap, /^\d{6}$/);
    assert.ok(d.sipUsername && d.sipPassword);
    assert.equal(created.headers.get('cache-control'), 'no-store', 'a PAP must not be cached');

    for (const spelling of ['02aabbccdd01', '02:aa:bb:cc:dd:01', '02AA.BBCC.DD01', '02-aa-bb-cc-dd-01']) {
      const shown = await h.req('GET', `/api/v1/devices/${encodeURIComponent(spelling)}`, { token: acmeToken });
      assert.equal(shown.status, 200, spelling);
      assert.equal(shown.json.mac, '02aabbccdd01');
    }
    await h.req('POST', '/api/v1/tenants/acme/devices', { body: { mac: '02aabbccdd02', vendor: 'snom', model: 'D785' } });
    const all = await h.req('GET', '/api/v1/tenants/acme/devices', { token: acmeToken });
    assert.equal(all.json.length, 2);
    const inBerlin = await h.req('GET', '/api/v1/tenants/acme/devices?site=berlin', { token: acmeToken });
    assert.deepEqual(
      inBerlin.json.map((x: { mac: string }) => x.mac),
      ['02aabbccdd01'],
    );
    assert.equal((await h.req('GET', '/api/v1/tenants/acme/devices?state=needed')).json.length, 2);
    assert.equal((await h.req('GET', '/api/v1/tenants/acme/devices?state=successful')).json.length, 0);

    const reset = await h.req('POST', '/api/v1/devices/02aabbccdd01/reset', { token: acmeToken });
    assert.equal(reset.status, 200);
    assert.match(reset.json.pap, /^\d{6}$/);
    assert.equal(reset.json.state, 'needed');

    const suspended = await h.req('POST', '/api/v1/devices/02aabbccdd01/suspend', { token: acmeToken });
    assert.equal(suspended.status, 200);
    assert.ok(Date.parse(suspended.json.suspendedUntil) > Date.now());

    const lines = await h.req('PUT', '/api/v1/devices/02aabbccdd01/lines', {
      token: acmeToken,
      body: { lines: [{ server: 'sip.example.net', user: '201', password: 's3cret', displayName: 'Anna' }] },
    });
    assert.equal(lines.status, 200, lines.text);
    assert.deepEqual(lines.json.lines, [{ server: 'sip.example.net', user: '201', authName: '201', displayName: 'Anna' }]);
    assert.ok(!lines.text.includes('s3cret'), 'line passwords are not echoed');

    const del = await h.req('DELETE', '/api/v1/devices/02aabbccdd02', { token: acmeToken });
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    assert.equal((await h.req('GET', '/api/v1/devices/02aabbccdd02')).status, 404);
    assert.equal((await h.req('DELETE', '/api/v1/devices/02aabbccdd02')).status, 404);
  });

  it('refuses a duplicate MAC with 409', async () => {
    const body = { mac: '02aabbccdd03', vendor: 'poly', model: 'VVX 411' };
    assert.equal((await h.req('POST', '/api/v1/tenants/acme/devices', { body })).status, 201);
    const again = await h.req('POST', '/api/v1/tenants/globex/devices', { body: { ...body, mac: '02:aa:bb:cc:dd:03' } });
    assert.equal(again.status, 409);
    assert.equal(again.json.error, 'conflict');
  });

  it('manages the allow-list with a warning for wide ranges', async () => {
    const add = await h.req('POST', '/api/v1/tenants/acme/allow-list', { token: acmeToken, body: { cidr: '203.0.113.0/24' } });
    assert.equal(add.status, 201, add.text);
    assert.equal(add.json.entry.cidr, '203.0.113.0/24');
    assert.equal(add.json.warning, undefined);
    const wide = await h.req('POST', '/api/v1/tenants/acme/allow-list', { token: acmeToken, body: { cidr: '10.0.0.0/8' } });
    assert.equal(wide.status, 201);
    assert.match(wide.json.warning, /wide/);
    const host = await h.req('POST', '/api/v1/tenants/acme/allow-list', { body: { cidr: '2001:db8::1' } });
    assert.equal(host.json.entry.cidr, '2001:db8::1/128');

    const list = await h.req('GET', '/api/v1/tenants/acme/allow-list', { token: acmeToken });
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.permanent.map((e: { cidr: string }) => e.cidr).sort(), ['10.0.0.0/8', '2001:db8::1/128', '203.0.113.0/24']);
    assert.ok(!Number.isNaN(Date.parse(list.json.permanent[0].createdAt)));
    assert.deepEqual(list.json.temporary, []);

    const del = await h.req('DELETE', `/api/v1/tenants/acme/allow-list?cidr=${encodeURIComponent('10.0.0.0/8')}`, { token: acmeToken });
    assert.equal(del.status, 204);
    const gone = await h.req('DELETE', `/api/v1/tenants/acme/allow-list?cidr=${encodeURIComponent('10.0.0.0/8')}`, { token: acmeToken });
    assert.equal(gone.status, 404);
    const missing = await h.req('DELETE', '/api/v1/tenants/acme/allow-list', { token: acmeToken });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.field, 'cidr');
  });

  it('exports CSV as an attachment and imports CSV', async () => {
    const exp = await h.req('GET', '/api/v1/tenants/acme/export.csv', { token: acmeToken });
    assert.equal(exp.status, 200);
    assert.equal(exp.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.match(exp.headers.get('content-disposition') ?? '', /^attachment; filename="acme-devices\.csv"$/);
    assert.equal(exp.text.split('\r\n')[0], 'vendor,model,mac,created,site,state,pap');
    assert.match(exp.text, /\r\nyealink,T46U,02aabbccdd01,[^,]+,berlin,needed,\d{6}\r\n/);

    const imp = await h.req('POST', '/api/v1/tenants/acme/import', {
      token: acmeToken,
      contentType: 'text/csv',
      raw: 'mac,vendor,model,site\r\n02aabbccdd10,snom,D785,hq\r\n02aabbccdd11,gigaset,N720,\r\n',
    });
    assert.equal(imp.status, 201, imp.text);
    assert.equal(imp.json.imported, 2);
    assert.deepEqual(
      imp.json.devices.map((x: { mac: string }) => x.mac),
      ['02aabbccdd10', '02aabbccdd11'],
    );
    assert.ok(imp.json.devices.every((x: { pap: string }) => /^\d{6}$/.test(x.pap)));
    assert.equal((await h.req('GET', '/api/v1/devices/02aabbccdd10', { token: acmeToken })).json.site, 'hq');
  });

  it('returns the audit log with ISO times, per tenant and (platform only) for all', async () => {
    const mine = await h.req('GET', '/api/v1/tenants/acme/audit?limit=5', { token: acmeToken });
    assert.equal(mine.status, 200);
    assert.equal(mine.json.length, 5);
    for (const e of mine.json) {
      assert.equal(e.tenant, 'acme');
      assert.match(e.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(e.action && e.actor && e.outcome);
    }
    assert.ok(mine.json.some((e: { actor: string }) => e.actor === 'tenant-token:acme'));
    const all = await h.req('GET', '/api/v1/audit?limit=1000');
    assert.equal(all.status, 200);
    assert.ok(all.json.some((e: { tenant: string }) => e.tenant === 'globex'));
    assert.ok(all.json.some((e: { tenant: string }) => e.tenant === 'acme'));
    assert.ok(!all.text.match(/"pap"|password/i));
  });

  it('counts every mutating call in papgate_admin_actions_total, failures by error code', async () => {
    await h.req('POST', '/api/v1/tenants/acme/devices', { token: acmeToken, body: { mac: 'garbage', vendor: 'snom', model: 'D785' } });
    await h.req('POST', '/api/v1/devices/02aabbccdd01/suspend', { token: 'wrong' });
    const text = (await h.req('GET', '/metrics', { token: null })).text;
    const count = (labels: string) => Number(new RegExp(`papgate_admin_actions_total\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? 0);
    assert.equal(count('action="device-add",outcome="ok"'), 3);
    assert.equal(count('action="device-add",outcome="invalid"'), 1);
    assert.equal(count('action="device-suspend",outcome="unauthorized"'), 1);
    assert.equal(count('action="device-import",outcome="ok"'), 1);
    assert.equal(count('action="trust-remove",outcome="not_found"'), 1);
    assert.equal(count('action="tenant-add",outcome="conflict"'), 1);
  });

  it('answers unknown routes with a JSON 404', async () => {
    for (const path of ['/nope', '/api/v1/nope', '/api/v2/tenants']) {
      const r = await h.req('GET', path);
      assert.equal(r.status, 404, path);
      assert.equal(r.json.error, 'not_found');
    }
  });

  it('describes every registered /api route in its OpenAPI 3.1 document', async () => {
    const doc = await h.req('GET', '/api/v1/openapi.json', { token: null });
    assert.equal(doc.status, 200);
    assert.equal(doc.json.openapi, '3.1.0');
    const routes = registeredRoutes(h.app).filter((r) => r.url.startsWith('/api/'));
    assert.ok(routes.length >= 20, `only ${routes.length} routes`);
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.json.paths as Record<string, Record<string, unknown>>)) {
      for (const m of Object.keys(item)) if (m !== 'parameters') documented.add(`${m.toUpperCase()} ${path}`);
    }
    for (const r of routes) {
      const key = `${r.method} ${r.url.replace(/:([A-Za-z]+)/g, '{$1}')}`;
      assert.ok(documented.has(key), `${key} is not in openapi.json`);
    }
    // ... and nothing is documented that does not exist.
    const registered = new Set(registeredRoutes(h.app).map((r) => `${r.method} ${r.url.replace(/:([A-Za-z]+)/g, '{$1}')}`));
    for (const key of documented) assert.ok(registered.has(key), `${key} is documented but not served`);
    // Every $ref resolves.
    for (const m of doc.text.matchAll(/"\$ref":"#\/components\/(\w+)\/(\w+)"/g)) {
      assert.ok(doc.json.components[m[1]!]?.[m[2]!], `dangling ${m[0]}`);
    }
  });
});
