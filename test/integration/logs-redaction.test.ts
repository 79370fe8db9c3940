import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { loadConfig } from '../../src/config/config';
import { startPapgate, type PapgateInstance } from '../../src/main';
import { createLogger } from '../../src/observability/logger';

/**
 * A whole papgate run at trace level: every secret that crosses it (PAP,
 * identity secret, SIP password, line password, tokens) must be absent from
 * the log, while the log itself is not empty.
 */
describe('logs never carry a PAP or a secret', () => {
  let dir: string;
  let app: PapgateInstance;
  let log = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-logs-'));
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => {
      log += c.toString();
    });
    const config = loadConfig(
      {},
      {
        PAPGATE_DB: join(dir, 'p.db'),
        PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
        PAPGATE_PROVISIONING_PORT: '0',
        PAPGATE_ADMIN_PORT: '0',
        PAPGATE_SIGNALLING: 'off',
        PAPGATE_ADMIN_TOKEN: 'platform-token-0123456789',
        PAPGATE_LOG_LEVEL: 'trace',
      },
    );
    app = await startPapgate(config, { log: createLogger({ level: 'trace', destination: sink }) });
  });
  after(async () => {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('through the admin API, provisioning, and a failing and succeeding PAP', async () => {
    const api = async (method: string, path: string, token: string, body?: unknown) => {
      const res = await fetch(`${app.adminUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const tenant = await api('POST', '/api/v1/tenants', 'platform-token-0123456789', { name: 'acme' });
    const token = tenant.json.token as string;
    const dev = await api('POST', '/api/v1/tenants/acme/devices', token, { mac: '00:15:65:12:34:56', vendor: 'yealink', model: 'T46U' });
    assert.equal(dev.status, 201);
    const pap = dev.json.pap as string;
    await api('PUT', '/api/v1/devices/001565123456/lines', token, {
      lines: [{ server: 'sip.example.net', user: '201', password: 'line-password-xyz', displayName: 'Anna' }],
    });

    const minimal = await (await fetch(`${app.provisioningUrl}/001565123456.cfg`)).text();
    assert.match(minimal, /Authentication needed/);
    const wrong = pap === '000000' ? '111111' : '000000';
    assert.equal((await app.services.authentication.attempt('001565123456', wrong, '127.0.0.1')).outcome, 'wrong');
    assert.equal((await app.services.authentication.attempt('001565123456', pap, '127.0.0.1')).outcome, 'success');
    const full = await (await fetch(`${app.provisioningUrl}/001565123456.cfg`)).text();
    const secret = /\/p\/([A-Za-z0-9_-]+)\//.exec(full)?.[1];
    assert.ok(secret, 'the full configuration carries the per-device URL');
    assert.equal((await fetch(`${app.provisioningUrl}/p/${secret}/001565123456.cfg`)).status, 200);
    const shown = await api('GET', '/api/v1/devices/001565123456', token);
    const sipPassword = shown.json.sipPassword as string;
    await new Promise((r) => setTimeout(r, 50)); // let pino flush

    assert.ok(log.split('\n').length > 5, 'the run logged something');
    assert.ok(log.includes('/p/***/'), 'the per-device request was logged, masked');
    for (const [what, value] of Object.entries({
      pap,
      secret,
      sipPassword,
      token,
      linePassword: 'line-password-xyz',
      adminToken: 'platform-token-0123456789',
    })) {
      assert.ok(!log.includes(value!), `the log contains the ${what}`);
    }
  });
});
