import { strict as assert } from 'node:assert';
import { startAdmin, type AdminHarness } from './admin-harness';

/** The webhook routes of the admin API: URL, secret shown once, isolation, bad input, no secret in exports. */
describe('admin REST API: webhooks', () => {
  let h: AdminHarness;
  let acme: string;
  let globex: string;

  before(async () => {
    h = await startAdmin();
    acme = (await h.req('POST', '/api/v1/tenants', { body: { name: 'acme' } })).json.token;
    globex = (await h.req('POST', '/api/v1/tenants', { body: { name: 'globex' } })).json.token;
  });
  after(async () => {
    await h.close();
  });

  it('sets a URL, shows the secret once, keeps it on a URL change, rotates it', async () => {
    assert.equal((await h.req('GET', '/api/v1/tenants/acme/webhook', { token: acme })).status, 404);
    const created = await h.req('PUT', '/api/v1/tenants/acme/webhook', { token: acme, body: { url: 'https://hooks.example/a' } });
    assert.equal(created.status, 200, created.text);
    assert.equal(created.json.webhook.url, 'https://hooks.example/a');
    const secret = created.json.secret as string;
    assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);

    const shown = await h.req('GET', '/api/v1/tenants/acme/webhook', { token: acme });
    assert.equal(shown.status, 200);
    assert.deepEqual(Object.keys(shown.json).sort(), ['tenant', 'updatedAt', 'url']);
    assert.ok(!shown.text.includes(secret));

    const changed = await h.req('PUT', '/api/v1/tenants/acme/webhook', { token: acme, body: { url: 'http://hooks.example/b' } });
    assert.equal(changed.json.secret, undefined, 'a changed URL keeps its secret and does not show it');
    assert.equal((await h.store.getWebhook((await h.store.getTenantByName('acme'))!.id))!.secret, secret);

    const rotated = await h.req('POST', '/api/v1/tenants/acme/webhook/secret', { token: acme });
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.json.secret, secret);
    assert.match(rotated.json.secret, /^whsec_/);

    for (const path of ['/api/v1/tenants/acme/audit?limit=1000', '/api/v1/tenants/acme/export.csv', '/api/v1/tenants/acme']) {
      const text = (await h.req('GET', path)).text;
      assert.ok(!text.includes(secret) && !text.includes(rotated.json.secret), `${path} carries no secret`);
    }
    const actions = (await h.req('GET', '/api/v1/tenants/acme/audit')).json.map((e: { action: string }) => e.action);
    assert.ok(['webhook-set', 'webhook-secret'].every((a) => actions.includes(a)));
  });

  it('refuses URLs that are not http or https, and unknown fields', async () => {
    for (const url of ['file:///etc/passwd', 'gopher://127.0.0.1:6379/_FLUSHALL', 'ftp://x.example/', 'https://u:p@x.example/', 'nope', 7]) {
      const r = await h.req('PUT', '/api/v1/tenants/globex/webhook', { token: globex, body: { url } });
      assert.equal(r.status, 400, `${String(url)}: ${r.text}`);
      assert.equal(r.json.field, 'url');
    }
    const r = await h.req('PUT', '/api/v1/tenants/globex/webhook', { token: globex, body: { url: 'https://x.example/', secret: 'mine' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.field, 'secret');
    assert.equal((await h.req('GET', '/api/v1/tenants/globex/webhook', { token: globex })).status, 404, 'nothing was saved');
    assert.equal((await h.req('GET', '/api/v1/tenants/globex/webhook/deliveries?limit=0', { token: globex })).status, 400);
  });

  it('keeps tenants apart', async () => {
    await h.req('PUT', '/api/v1/tenants/globex/webhook', { token: globex, body: { url: 'https://globex.example/hook' } });
    for (const [method, path] of [
      ['GET', 'webhook'],
      ['PUT', 'webhook'],
      ['DELETE', 'webhook'],
      ['POST', 'webhook/secret'],
      ['GET', 'webhook/deliveries'],
    ]) {
      const r = await h.req(method!, `/api/v1/tenants/globex/${path}`, { token: acme, body: method === 'PUT' ? { url: 'https://evil.example/' } : undefined });
      assert.equal(r.status, 403, `${method} ${path}`);
    }
    assert.equal((await h.req('GET', '/api/v1/tenants/globex/webhook', { token: globex })).json.url, 'https://globex.example/hook');
  });

  it('lists deliveries and removes the webhook', async () => {
    await h.req('PUT', '/api/v1/tenants/acme/webhook', { token: acme, body: { url: 'https://hooks.example/a' } });
    const mac = '02cccccccc01';
    assert.equal((await h.req('POST', '/api/v1/tenants/acme/devices', { token: acme, body: { mac, vendor: 'yealink', model: 'T54W' } })).status, 201);
    const pap = (await h.req('GET', `/api/v1/devices/${mac}`, { token: acme })).json.pap as string;
    await h.services.authentication.attempt(mac, pap, null);
    const list = await h.req('GET', '/api/v1/tenants/acme/webhook/deliveries?limit=5', { token: acme });
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(
      list.json.map((x: { event: string; mac: string; status: string }) => [x.event, x.mac, x.status]),
      [['device.successful', mac, 'pending']],
    );
    assert.equal((await h.req('DELETE', '/api/v1/tenants/acme/webhook', { token: acme })).status, 204);
    assert.equal((await h.req('DELETE', '/api/v1/tenants/acme/webhook', { token: acme })).status, 404);
  });

  it('is described in the OpenAPI document', async () => {
    const paths = (await h.req('GET', '/api/v1/openapi.json')).json.paths as Record<string, Record<string, unknown>>;
    assert.ok(paths['/api/v1/tenants/{tenant}/webhook']?.put);
    assert.ok(paths['/api/v1/tenants/{tenant}/webhook/secret']?.post);
    assert.ok(paths['/api/v1/tenants/{tenant}/webhook/deliveries']?.get);
  });
});
