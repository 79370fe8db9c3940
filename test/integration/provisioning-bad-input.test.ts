import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Provisioning } from '../../src/app/provisioning';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import { Metrics } from '../../src/observability/metrics';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import type { Store } from '../../src/ports/store';
import { createProvisioningServer } from '../../src/provisioning/server';
import { openSqliteStore } from '../../src/store/sqlite';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';
import { TEST_PROVISIONING_SETTINGS } from '../helpers/provisioning-settings';

/** Whatever a client sends, it gets a short 4xx and the server keeps answering. */

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, path: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path}`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Bytes the HTTP client would refuse to send; returns the status line the server wrote back. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const sock = net.connect(port, '127.0.0.1', () => sock.write(bytes, 'latin1'));
    sock.setTimeout(5000, () => sock.destroy(new Error('no answer')));
    sock.on('data', (c: Buffer) => {
      out += c.toString('latin1');
    });
    sock.on('close', () => resolve(out.split('\r\n')[0] ?? ''));
    sock.on('error', reject);
  });
}

describe('provisioning HTTP service: bad input', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  let port: number;
  let mac: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-prov-bad-'));
    store = await openSqliteStore(join(dir, 'papgate.db'));
    const tenant = await makeTenant(store, 'bad-input');
    const device = makeDevice({ tenantId: tenant.id });
    mac = device.mac;
    await store.insertDevices([device], []);
    const provisioning = new Provisioning(
      { store, clock: { now: () => 1_800_000_000_000 }, random: cryptoRandom, policy: DEFAULT_POLICY, log: silentLogger },
      TEST_PROVISIONING_SETTINGS,
    );
    app = createProvisioningServer({ provisioning, log: silentLogger, metrics: new Metrics({ defaultMetrics: false }), trustedProxies: [] });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });

  after(async () => {
    await app?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function stillServing(): Promise<void> {
    const r = await request(port, `/${mac}.cfg`);
    assert.equal(r.status, 200);
    assert.ok(r.body.includes('Authentication needed'));
  }

  it('refuses traversal, encoded traversal and backslashes with 400, never a file', async () => {
    for (const path of [
      '/../../../../etc/passwd',
      '/p/../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/..%2f..%2fetc%2fpasswd',
      '/%2E%2E%5C%2E%2E%5Cetc%5Cpasswd',
      '/..\\..\\etc\\passwd',
      `/${mac}.cfg%00.txt`,
      `/./${mac}.cfg`,
    ]) {
      const r = await request(port, path);
      assert.equal(r.status, 400, path);
      assert.ok(r.body.length < 64 && !r.body.includes('root:'), path);
      assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    }
    await stillServing();
  });

  it('refuses a NUL, a bare newline and garbage on the wire with 400', async () => {
    assert.match(await raw(port, `GET /${mac}\u0000.cfg HTTP/1.1\r\nHost: x\r\n\r\n`), /^HTTP\/1\.1 400/);
    assert.match(await raw(port, 'BLAH\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.match(await raw(port, `GET /${mac}.cfg HTTP/1.1\r\nHost: x\r\nX-A: b\u0000c\r\n\r\n`), /^HTTP\/1\.1 400/);
    await stillServing();
  });

  it('refuses an over-long request target with 414; a non-device MAC is unknown (404)', async () => {
    assert.equal((await request(port, `/${'a'.repeat(600)}.cfg`)).status, 414);
    assert.equal((await request(port, `/${mac}.cfg?${'q'.repeat(600)}`)).status, 414);
    assert.equal((await request(port, '/ffffffffffff.cfg')).status, 404);
    assert.equal((await request(port, '/030000000000.xml')).status, 404);
    assert.equal((await request(port, '/zz15650000aa.cfg')).status, 404);
    await stillServing();
  });

  it('refuses a malformed query with 400 and ignores a well-formed one', async () => {
    assert.equal((await request(port, `/${mac}.cfg?a=%zz`)).status, 400);
    assert.equal((await request(port, `/${mac}.cfg?a=<b>`)).status, 400);
    assert.equal((await request(port, `/${mac}.cfg?model=T46U`)).status, 200);
  });

  it('answers every other method with 405 and Allow, without reading the body', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await request(port, `/${mac}.cfg`, { method, headers: { 'content-type': 'application/json', 'content-length': '7' }, body: '{"a":1}' });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
    const big = await request(port, `/${mac}.cfg`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(256 * 1024) });
    assert.equal(big.status, 405);
    await stillServing();
  });

  it('refuses huge headers with 431', async () => {
    const r = await request(port, `/${mac}.cfg`, { headers: { 'x-filler': 'f'.repeat(20 * 1024) } });
    assert.equal(r.status, 431);
    await stillServing();
  });
});
