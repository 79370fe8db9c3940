import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/observability/logger';
import { startAdmin } from './admin-harness';

/** What the admin server logs and counts: requests without secrets; store outages as 503 and a metric. */
describe('admin REST API: logs and store errors', () => {
  it('logs requests without tokens, PAPs, passwords or bodies', async () => {
    const sink = new PassThrough();
    let log = '';
    sink.on('data', (c: Buffer) => {
      log += c.toString();
    });
    const h = await startAdmin({ log: createLogger({ level: 'debug', destination: sink }) });
    try {
      const { token } = (await h.req('POST', '/api/v1/tenants', { body: { name: 'acme' } })).json;
      const d = (await h.req('POST', '/api/v1/tenants/acme/devices', { token, body: { mac: '02eeeeeeee01', vendor: 'snom', model: 'D785' } })).json;
      await h.req('PUT', '/api/v1/devices/02eeeeeeee01/lines', { token, body: { lines: [{ server: 's.example', user: '1', password: 'line-secret-pw' }] } });
      await h.req('GET', '/api/v1/whoami', { token: 'pgt_wrong_guess_token' });
      await h.req('GET', '/healthz', { token: null });
      await new Promise((r) => setImmediate(r));
      assert.match(log, /"url":"\/api\/v1\/tenants\/acme\/devices".*"status":201/);
      assert.match(log, /"url":"\/api\/v1\/whoami".*"status":401/);
      for (const secret of [token, d.pap, d.sipPassword, 'line-secret-pw', 'pgt_wrong_guess_token', 'platform-admin-token']) {
        assert.ok(!log.includes(secret), `the log contains ${secret}`);
      }
    } finally {
      await h.close();
    }
  });

  it('answers 503 when the store is unavailable and counts it in papgate_store_errors_total', async () => {
    const h = await startAdmin();
    try {
      await h.req('POST', '/api/v1/tenants', { body: { name: 'acme' } });
      await h.store.close();
      const r = await h.req('POST', '/api/v1/tenants/acme/sites', { body: { name: 'hq' } });
      assert.equal(r.status, 503, r.text);
      assert.equal(r.json.error, 'unavailable');
      const metrics = (await h.req('GET', '/metrics', { token: null })).text;
      assert.match(metrics, /papgate_store_errors_total\{surface="admin"\} 1/);
      assert.match(metrics, /papgate_admin_actions_total\{action="site-add",outcome="unavailable"\} 1/);
      assert.deepEqual((await h.req('GET', '/healthz', { token: null })).json, { ok: true });
    } finally {
      await h.close();
    }
  });
});
