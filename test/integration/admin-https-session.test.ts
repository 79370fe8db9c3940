import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { startPapgate, type PapgateInstance } from '../../src/main';
import { createLogger } from '../../src/observability/logger';
import { issue, makeCa, type TestCa } from '../helpers/test-certificates';

/**
 * The portal's session over an HTTPS admin port: the signed-in token lives in
 * the tab's sessionStorage and travels as a Bearer header, so no response
 * sets a cookie (none to leak over plain HTTP, none for a cross-site request
 * to ride on). If a cookie is ever added, it must be Secure, HttpOnly and
 * SameSite=Strict on an HTTPS port: this test then checks that instead.
 */

const ADMIN_TOKEN = 'platform-token-0123456789';

interface Reply {
  status: number;
  body: string;
  cookies: string[];
}

function get(url: string, ca: string, token?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        ca,
        servername: 'admin.test',
        agent: false,
        timeout: 10_000,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8'), cookies: res.headers['set-cookie'] ?? [] }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

describe('portal session on an HTTPS admin port', function () {
  this.timeout(60_000);
  let dir: string;
  let ca: TestCa;
  let app: PapgateInstance;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-admin-https-'));
    ca = makeCa(dir);
    const pair = issue(ca, 'admin', 'admin.test');
    app = await startPapgate(
      loadConfig(
        {},
        {
          PAPGATE_DB: join(dir, 'p.db'),
          PAPGATE_DB_MIGRATE: 'auto',
          PAPGATE_SIGNALLING: 'off',
          PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
          PAPGATE_PROVISIONING_PORT: '0',
          PAPGATE_ADMIN_PORT: '0',
          PAPGATE_ADMIN_TOKEN: ADMIN_TOKEN,
          PAPGATE_ADMIN_TLS_CERT: pair.certPath,
          PAPGATE_ADMIN_TLS_KEY: pair.keyPath,
        },
      ),
      { log: createLogger({ level: 'silent' }) },
    );
  });

  after(async () => {
    await app?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sets no cookie on the pages, the sign-in call or a refusal; any cookie would have to be Secure, HttpOnly, SameSite=Strict', async () => {
    const replies = {
      page: await get(`${app.adminUrl}/`, ca.pem),
      script: await get(`${app.adminUrl}/static/api.js`, ca.pem),
      whoami: await get(`${app.adminUrl}/api/v1/whoami`, ca.pem, ADMIN_TOKEN),
      refused: await get(`${app.adminUrl}/api/v1/whoami`, ca.pem, 'not-a-token-at-all'),
    };
    assert.equal(replies.page.status, 200);
    assert.equal(replies.whoami.status, 200, replies.whoami.body);
    assert.equal(replies.refused.status, 401);
    for (const [what, reply] of Object.entries(replies)) {
      for (const cookie of reply.cookies) {
        assert.match(cookie, /;\s*Secure/i, `${what}: ${cookie}`);
        assert.match(cookie, /;\s*HttpOnly/i, `${what}: ${cookie}`);
        assert.match(cookie, /;\s*SameSite=Strict/i, `${what}: ${cookie}`);
      }
      assert.deepEqual(reply.cookies, [], `${what} sets no cookie today`);
    }
    // The session is the tab's: the script keeps the token in sessionStorage and sends it as a header.
    assert.match(replies.script.body, /sessionStorage/);
    assert.doesNotMatch(replies.script.body, /document\.cookie/);
  });
});
