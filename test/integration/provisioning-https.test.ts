import { strict as assert } from 'node:assert';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { CLI_ACTOR } from '../../src/app/actor';
import { loadConfig } from '../../src/config/config';
import { startPapgate, type PapgateInstance } from '../../src/main';
import { createLogger } from '../../src/observability/logger';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { issue, makeCa, replaceFile, type IssuedPair, type TestCa } from '../helpers/test-certificates';
import { freePortBlock } from '../helpers/ports';

/**
 * papgate with PAPGATE_TLS_CERT/KEY and PAPGATE_ADMIN_TLS_CERT/KEY: phones
 * fetch their files over HTTPS from a certificate of a CA made here, the
 * certificate is renewed in place without a restart, and clients that
 * never finish a handshake do not hold the port.
 */

const ADMIN_TOKEN = 'platform-token-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Reply {
  status: number;
  body: string;
  fingerprint256: string;
}

function httpsGet(url: string, ca: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { ca, servername: 'prov.test', agent: false, timeout: 10_000 }, (res) => {
      const fingerprint256 = (res.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8'), fingerprint256 }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** The fingerprint of the certificate a fresh handshake presents. */
function presented(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'prov.test', timeout: 10_000 }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('timeout', () => socket.destroy(new Error('handshake did not finish')));
    socket.on('error', reject);
  });
}

/** Resolves true once `check` holds, false when `timeoutMs` has passed. */
async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

/** Resolves when the server closes the socket (true), or false after `timeoutMs`. */
function closedByServer(socket: net.Socket, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.on('error', () => {
      /* a reset is a close too: 'close' follows */
    });
    socket.resume(); // reads (and drops) the alert, so the server's FIN is seen
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('HTTPS provisioning and admin with certificate reload', function () {
  this.timeout(60_000);
  let dir: string;
  let ca: TestCa;
  let first: IssuedPair;
  let adminPair: IssuedPair;
  let live: { certPath: string; keyPath: string };
  let app: PapgateInstance;
  let port: number;
  const logLines: string[] = [];
  const tenant = 'tls-tenant';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-tls-'));
    ca = makeCa(dir);
    first = issue(ca, 'first');
    adminPair = issue(ca, 'admin', 'admin.test');
    // The files papgate is pointed at; renewals are written over these.
    live = { certPath: join(dir, 'live.crt'), keyPath: join(dir, 'live.key') };
    copyFileSync(first.certPath, live.certPath);
    copyFileSync(first.keyPath, live.keyPath);
    const config = loadConfig(
      {},
      {
        PAPGATE_DB: join(dir, 'p.db'),
        PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
        PAPGATE_PROVISIONING_PORT: '0',
        PAPGATE_ADMIN_PORT: '0',
        PAPGATE_SIGNALLING: 'off',
        PAPGATE_ADMIN_TOKEN: ADMIN_TOKEN,
        PAPGATE_PUBLIC_URL: 'https://prov.test',
        PAPGATE_SIP_ADVERTISED_ADDRESS: 'sip.prov.test',
        PAPGATE_TLS_CERT: live.certPath,
        PAPGATE_TLS_KEY: live.keyPath,
        PAPGATE_ADMIN_TLS_CERT: adminPair.certPath,
        PAPGATE_ADMIN_TLS_KEY: adminPair.keyPath,
        PAPGATE_TLS_RELOAD_SECONDS: '0.2',
        PAPGATE_TLS_HANDSHAKE_SECONDS: '1',
      },
    );
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(line);
        done();
      },
    });
    app = await startPapgate(config, { log: createLogger({ level: 'info', destination: sink }) });
    port = Number(new URL(app.provisioningUrl).port);
    await app.services.tenants.create(CLI_ACTOR, tenant, 'en');
  });

  after(async () => {
    await app?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const addDevice = (mac: string, vendor: string, model: string) => app.services.devices.create(CLI_ACTOR, { tenant, mac, vendor, model });

  it('says https in the URLs it listens on', () => {
    assert.match(app.provisioningUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(app.adminUrl, /^https:\/\//);
  });

  it('serves the minimal, then the full, configuration over HTTPS with https:// URLs in both', async () => {
    const yealink = await addDevice('0015650a0b01', 'yealink', 'T46S');
    const minimal = await httpsGet(`${app.provisioningUrl}/${yealink.mac}.cfg`, ca.pem);
    assert.equal(minimal.status, 200);
    assert.equal(minimal.fingerprint256, first.fingerprint256);
    assert.match(minimal.body, /^static\.auto_provision\.server\.url = https:\/\/prov\.test\/$/m, minimal.body);
    assert.ok(!/http:\/\//.test(minimal.body), 'no plain http URL in the minimal file');

    // 127.0.0.1 is a trusted network of the tenant: the full configuration, with the per-device URL.
    await app.services.allowList.add(CLI_ACTOR, tenant, '127.0.0.1/32');
    const full = await httpsGet(`${app.provisioningUrl}/${yealink.mac}.cfg`, ca.pem);
    assert.equal(full.status, 200);
    assert.match(full.body, /^static\.auto_provision\.server\.url = https:\/\/prov\.test\/p\/[A-Za-z0-9_-]+\/$/m, full.body);
    assert.ok(!/http:\/\//.test(full.body), 'no plain http URL in the full file');

    const snom = await addDevice('000413aabb01', 'snom', 'D785');
    const snomFull = await httpsGet(`${app.provisioningUrl}/${snom.mac.toUpperCase()}.xml`, ca.pem);
    assert.equal(snomFull.status, 200);
    assert.match(snomFull.body, /<setting_server[^>]*>https:\/\/prov\.test\/p\/[A-Za-z0-9_-]+\/000413AABB01\.xml</, snomFull.body);
  });

  it('refuses plain HTTP on the HTTPS port cleanly and keeps serving', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/y000000000028.cfg', agent: false, timeout: 10_000 }, (res) => {
        res.resume();
        resolve(`status ${res.statusCode}`);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve(`error ${e.message}`));
      req.end();
    });
    assert.ok(outcome.startsWith('error') || /^status 4\d\d$/.test(outcome), outcome);
    assert.ok(!outcome.includes('timeout'), 'answered, not left hanging');
    assert.equal((await httpsGet(`${app.provisioningUrl}/y000000000028.cfg`, ca.pem)).status, 200);
  });

  it('presents a renewed certificate at the next handshake, without a restart', async () => {
    const renewed = issue(ca, 'renewed');
    assert.notEqual(renewed.fingerprint256, first.fingerprint256);
    assert.equal(await presented(port, ca.pem), first.fingerprint256);
    replaceFile(live.keyPath, readFileSync(renewed.keyPath));
    replaceFile(live.certPath, readFileSync(renewed.certPath));
    assert.ok(await eventually(async () => (await presented(port, ca.pem)) === renewed.fingerprint256), 'the renewed certificate is presented');
    assert.equal((await httpsGet(`${app.provisioningUrl}/y000000000028.cfg`, ca.pem)).status, 200);
  });

  it('keeps the current certificate and logs an error when the new files are broken', async () => {
    const before = await presented(port, ca.pem);
    const errorsBefore = logLines.filter((l) => l.includes('new TLS certificate not loaded')).length;
    replaceFile(live.certPath, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    assert.ok(await eventually(() => logLines.filter((l) => l.includes('new TLS certificate not loaded')).length > errorsBefore), 'an error is logged');
    const logged = logLines.filter((l) => l.includes('new TLS certificate not loaded')).at(-1)!;
    assert.match(logged, /"level":50/);
    assert.ok(!logged.includes('PRIVATE KEY'), 'the key never reaches the log');
    assert.equal(await presented(port, ca.pem), before, 'the old certificate is still presented');
    assert.equal((await httpsGet(`${app.provisioningUrl}/y000000000028.cfg`, ca.pem)).status, 200);

    // A key that does not match the certificate is refused too.
    const other = issue(ca, 'other');
    replaceFile(live.certPath, readFileSync(other.certPath));
    const mismatches = logLines.filter((l) => l.includes('new TLS certificate not loaded')).length;
    replaceFile(live.keyPath, readFileSync(first.keyPath));
    assert.ok(await eventually(() => logLines.filter((l) => l.includes('new TLS certificate not loaded')).length > mismatches));
    assert.equal(await presented(port, ca.pem), before, 'still the old certificate after a mismatched pair');
  });

  it('serves the admin API on its own certificate', async () => {
    const res = await new Promise<Reply>((resolve, reject) => {
      const req = https.request(
        `${app.adminUrl}/api/v1/tenants`,
        {
          ca: ca.pem,
          servername: 'admin.test',
          agent: false,
          timeout: 10_000,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        },
        (r) => {
          const fingerprint256 = (r.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => resolve({ status: r.statusCode!, body: Buffer.concat(chunks).toString('utf8'), fingerprint256 }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer')));
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.fingerprint256, adminPair.fingerprint256);
    assert.ok(res.body.includes(tenant));
  });

  it('attack: clients that stall in the handshake or send garbage do not hurt the others, and are dropped', async () => {
    const stalled = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<net.Socket>((resolve, reject) => {
            const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
            s.on('error', reject);
          }),
      ),
    );
    const stalledClosed = stalled.map((s) => closedByServer(s, 30_000));
    const garbage = net.connect({ host: '127.0.0.1', port });
    const garbageClosed = closedByServer(garbage, 30_000);
    garbage.write(Buffer.from('\x16\x03\x01\xff\xff garbage that is no ClientHello \x00\x01\x02'.repeat(50), 'latin1'));
    // A half ClientHello, then silence.
    const half = net.connect({ host: '127.0.0.1', port });
    const halfClosed = closedByServer(half, 30_000);
    half.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));

    for (let i = 0; i < 5; i++) {
      assert.equal((await httpsGet(`${app.provisioningUrl}/y000000000028.cfg`, ca.pem)).status, 200, 'a phone is served meanwhile');
    }
    assert.equal(await garbageClosed, true, 'garbage is dropped');
    assert.equal(await halfClosed, true, 'a half handshake is dropped');
    assert.deepEqual(
      await Promise.all(stalledClosed),
      stalled.map(() => true),
      'stalled handshakes are dropped',
    );
    assert.equal((await httpsGet(`${app.provisioningUrl}/y000000000028.cfg`, ca.pem)).status, 200);
  });
});

describe('HTTPS provisioning in worker processes (papgate serve)', function () {
  this.timeout(120_000);
  let PORT = 0; // and PORT + 1: a free pair, in the first hook
  let dir: string;
  let ca: TestCa;
  let serve: ServeProcess | undefined;
  let live: { certPath: string; keyPath: string };
  let first: IssuedPair;

  before(async () => {
    PORT = await freePortBlock(2);
    dir = mkdtempSync(join(tmpdir(), 'papgate-tls-workers-'));
    ca = makeCa(dir);
    first = issue(ca, 'first');
    live = { certPath: join(dir, 'live.crt'), keyPath: join(dir, 'live.key') };
    copyFileSync(first.certPath, live.certPath);
    copyFileSync(first.keyPath, live.keyPath);
    serve = await startServe({
      PAPGATE_DB: join(dir, 'papgate.db'),
      PAPGATE_DB_MIGRATE: 'auto',
      PAPGATE_WORKERS: '2',
      PAPGATE_SIGNALLING: 'off',
      PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
      PAPGATE_PROVISIONING_PORT: String(PORT),
      PAPGATE_ADMIN_PORT: String(PORT + 1),
      PAPGATE_PUBLIC_URL: `https://127.0.0.1:${PORT}`,
      PAPGATE_TLS_CERT: live.certPath,
      PAPGATE_TLS_KEY: live.keyPath,
      PAPGATE_TLS_RELOAD_SECONDS: '0.2',
    });
  });

  after(async () => {
    await serve?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every worker speaks HTTPS and takes the renewed certificate', async () => {
    for (let i = 0; i < 6; i++) assert.equal(await presented(PORT, ca.pem), first.fingerprint256);
    assert.equal((await httpsGet(`https://127.0.0.1:${PORT}/y000000000028.cfg`, ca.pem)).status, 200);
    const renewed = issue(ca, 'renewed');
    replaceFile(live.keyPath, readFileSync(renewed.keyPath));
    replaceFile(live.certPath, readFileSync(renewed.certPath));
    const reloadedBy = () =>
      new Set(
        serve!
          .logs()
          .filter((l) => l.msg === 'TLS certificate reloaded')
          .map((l) => l.worker),
      );
    assert.ok(await eventually(() => reloadedBy().size >= 2, 30_000), `both workers reload:\n${serve!.tail()}`);
    // New connections are spread over the workers: all of them present the new certificate.
    for (let i = 0; i < 6; i++) assert.equal(await presented(PORT, ca.pem), renewed.fingerprint256);
  });
});

describe('HTTPS start-up with unusable certificate files', function () {
  this.timeout(60_000);
  let dir: string;
  let ca: TestCa;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-tls-bad-'));
    ca = makeCa(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const start = (cert: string, key: string) =>
    startPapgate(
      loadConfig(
        {},
        {
          PAPGATE_DB: join(dir, 'p.db'),
          PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
          PAPGATE_PROVISIONING_PORT: '0',
          PAPGATE_ADMIN_PORT: '0',
          PAPGATE_SIGNALLING: 'off',
          PAPGATE_DB_MIGRATE: 'auto',
          PAPGATE_TLS_CERT: cert,
          PAPGATE_TLS_KEY: key,
        },
      ),
      { log: createLogger({ level: 'silent' }) },
    );

  it('refuses to start with a missing file or a key of another certificate, naming the files', async () => {
    const a = issue(ca, 'a');
    const b = issue(ca, 'b');
    await assert.rejects(start(a.certPath, join(dir, 'missing.key')), /cannot read the TLS certificate or key.*missing\.key/);
    await assert.rejects(start(a.certPath, b.keyPath), (e: Error) => {
      assert.match(e.message, /unusable TLS certificate\/key pair/);
      assert.ok(!e.message.includes('PRIVATE KEY'));
      return true;
    });
    // The same files, matched, start: the failures above were about the files.
    const ok = await start(a.certPath, a.keyPath);
    await ok.stop();
  });
});
