import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Provisioning } from '../../src/app/provisioning';
import { SourceLimits } from '../../src/app/source-limits';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import type { Device } from '../../src/domain/types';
import { createLogger } from '../../src/observability/logger';
import { Metrics } from '../../src/observability/metrics';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import type { Store } from '../../src/ports/store';
import { createProvisioningServer, type ProvisioningServerOptions } from '../../src/provisioning/server';
import { openSqliteStore } from '../../src/store/sqlite';
import { TEST_PROVISIONING_SETTINGS } from '../helpers/provisioning-settings';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';

/**
 * The provisioning server answers phones' file requests on a direct path in
 * front of fastify (server.ts) and everything else through fastify. The two
 * must not differ in anything a phone or an operator sees: two servers over
 * one store, one with the direct path and one without, get the same requests.
 */

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, path: string, method = 'GET', headers?: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

/** What a phone sees of an answer: everything but the date. */
function seen(r: Reply): unknown {
  const headers = { ...r.headers };
  delete headers.date;
  return { status: r.status, headers, body: r.body };
}

async function listening(o: ProvisioningServerOptions): Promise<{ app: FastifyInstance; port: number }> {
  const app = createProvisioningServer(o);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, port: (app.server.address() as AddressInfo).port };
}

describe('provisioning HTTP service: the direct path answers like fastify', () => {
  let dir: string;
  let store: Store;
  let yealink: Device;
  let snom: Device;
  const servers: FastifyInstance[] = [];
  let direct: { port: number; metrics: Metrics };
  let viaFastify: { port: number; metrics: Metrics };
  /** Requests answered by fastify on the direct path's server (its onResponse hooks run even for a 405 from an onRequest hook). */
  const reachedFastify: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-direct-'));
    store = await openSqliteStore(join(dir, 'papgate.db'));
    const tenant = await makeTenant(store, 'tenant-direct');
    yealink = makeDevice({ tenantId: tenant.id, vendor: 'yealink' });
    snom = makeDevice({ tenantId: tenant.id, vendor: 'snom' });
    await store.insertDevices([yealink, snom], []);
    const provisioning = new Provisioning(
      { store, clock: { now: () => 1_800_000_000_000 }, random: cryptoRandom, policy: DEFAULT_POLICY, log: silentLogger },
      TEST_PROVISIONING_SETTINGS,
    );
    for (const directPath of [true, false]) {
      const metrics = new Metrics({ defaultMetrics: false });
      const app = createProvisioningServer({ provisioning, log: silentLogger, metrics, trustedProxies: [], directPath });
      if (directPath) {
        app.addHook('onResponse', (req, _reply, done) => {
          reachedFastify.push(`${req.method} ${req.raw.url}`);
          done();
        });
      }
      await app.listen({ host: '127.0.0.1', port: 0 });
      servers.push(app);
      const server = { port: (app.server.address() as AddressInfo).port, metrics };
      if (directPath) direct = server;
      else viaFastify = server;
    }
  });

  after(async () => {
    for (const app of servers) await app.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same status, headers and body for what phones ask, GET and HEAD, and counts it the same', async () => {
    const targets = [
      `/${yealink.mac}.cfg`,
      `/${yealink.mac.toUpperCase()}.cfg?model=T46U`,
      `//${yealink.mac}.cfg`,
      `/${yealink.mac}.xml`, // another vendor's file name: 404
      '/02aabbccddee.cfg', // unknown MAC: 404
      `/${snom.mac}.xml`,
      `/snom370-${snom.mac}.htm`,
      '/y000000000044.cfg',
      '/000000000000.cfg',
      `/p/${'A'.repeat(43)}/${yealink.mac}.cfg`, // a forged secret: decided like none
    ];
    for (const target of targets) {
      for (const method of ['GET', 'HEAD']) {
        const a = await request(direct.port, target, method);
        const b = await request(viaFastify.port, target, method);
        assert.deepEqual(seen(a), seen(b), `${method} ${target}`);
        assert.match(String(a.status), /^(200|404)$/, `${method} ${target}`);
        assert.equal(a.headers['cache-control'], 'no-store');
        assert.equal(Number(a.headers['content-length']), method === 'GET' ? Buffer.byteLength(a.body) : Number(b.headers['content-length']));
      }
    }
    assert.deepEqual(reachedFastify, [], 'none of them went through fastify on the direct path');
    const counts = async (m: Metrics) => (await m.provisioningRequests.get()).values.map((v) => `${v.labels.vendor}/${v.labels.decision}=${v.value}`).sort();
    assert.deepEqual(await counts(direct.metrics), await counts(viaFastify.metrics));
    assert.ok((await counts(direct.metrics)).includes('yealink/minimal=8'), (await counts(direct.metrics)).join(' '));
  });

  it('leaves rejected targets and other methods to fastify, which answers them alike', async () => {
    reachedFastify.length = 0;
    const cases: [string, string][] = [
      ['GET', '/../etc/passwd'],
      ['GET', `/p/x/y/${yealink.mac}.cfg`],
      ['GET', '/nothing-here'],
      ['GET', `/${'a'.repeat(600)}.cfg`],
      ['DELETE', `/${yealink.mac}.cfg`],
      ['OPTIONS', `/${yealink.mac}.cfg`],
    ];
    for (const [method, target] of cases) {
      const a = await request(direct.port, target, method);
      const b = await request(viaFastify.port, target, method);
      assert.deepEqual(seen(a), seen(b), `${method} ${target}`);
      assert.ok(a.status >= 400, `${method} ${target}: ${a.status}`);
    }
    assert.equal(reachedFastify.length, cases.length, reachedFastify.join(', '));
  });

  it('answers an unexpected failure with a bare 500 on either path, logs and counts it', async () => {
    for (const directPath of [true, false]) {
      const sink = new PassThrough();
      let logText = '';
      sink.on('data', (c: Buffer) => (logText += c.toString('utf8')));
      const metrics = new Metrics({ defaultMetrics: false });
      const failing = { handle: () => Promise.reject(new Error('disk on fire')) } as unknown as Provisioning;
      const { app, port } = await listening({
        provisioning: failing,
        log: createLogger({ level: 'info', destination: sink }),
        metrics,
        trustedProxies: [],
        directPath,
      });
      try {
        const r = await request(port, `/${yealink.mac}.cfg`);
        assert.equal(r.status, 500);
        assert.equal(r.body, 'internal error\n', 'nothing of the failure reaches the phone');
        const again = await request(port, '/y000000000044.cfg');
        assert.equal(again.status, 200, 'the server goes on');
        assert.match(logText, /provisioning request failed/);
        assert.ok(logText.includes('disk on fire'), logText);
        const errors = (await metrics.provisioningRequests.get()).values.find((v) => v.labels.decision === 'error');
        assert.equal(errors?.value, 1, `directPath ${directPath}`);
      } finally {
        await app.close();
      }
    }
  });

  it("spends a client's budget of misses on 404s and on refused identity secrets alike, then answers 429 on either path", async () => {
    const provisioning = new Provisioning(
      { store, clock: { now: () => 1_800_000_000_000 }, random: cryptoRandom, policy: DEFAULT_POLICY, log: silentLogger },
      TEST_PROVISIONING_SETTINGS,
    );
    const statuses: Record<string, number[]> = {};
    for (const directPath of [true, false]) {
      const limits = new SourceLimits(
        {
          sipRequestsPerSecond: 0,
          sipRequestsBurst: 0,
          ivrCallsPerMinutePerSource: 0,
          ivrCallsPerMinutePerDevice: 0,
          provisioning404PerMinute: 1,
          provisioning404Burst: 3,
          provisioningPerSecond: 0,
          provisioningBurst: 1,
          maxSources: 100,
          exempt: [],
        },
        { now: () => 1_800_000_000_000 },
      );
      const metrics = new Metrics({ defaultMetrics: false });
      const { app, port } = await listening({ provisioning, log: silentLogger, metrics, trustedProxies: [], directPath, limits });
      try {
        const targets = [`/p/${'B'.repeat(32)}/${yealink.mac}.cfg`, '/02aabbccddee.cfg', `/p/${'C'.repeat(32)}/${yealink.mac}.cfg`, `/${yealink.mac}.cfg`];
        statuses[String(directPath)] = [];
        for (const target of targets) statuses[String(directPath)]!.push((await request(port, target)).status);
      } finally {
        await app.close();
      }
    }
    assert.deepEqual(statuses.true, [200, 404, 200, 429], 'three misses of a burst of 3, then nothing more for that client');
    assert.deepEqual(statuses.false, statuses.true);
  });
});
