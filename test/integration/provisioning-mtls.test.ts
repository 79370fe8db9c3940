import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CLI_ACTOR } from '../../src/app/actor';
import { loadConfig } from '../../src/config/config';
import { startPapgate, type PapgateInstance } from '../../src/main';
import { createLogger } from '../../src/observability/logger';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { issue, issueClient, makeCa, replaceFile, type IssuedPair, type TestCa } from '../helpers/test-certificates';
import { freePortBlock } from '../helpers/ports';

/**
 * Mutual TLS on the HTTPS provisioning port (PAPGATE_DEVICE_CA): a device
 * certificate that verifies against the device CA and names the requested
 * MAC proves the phone like its identity secret. Every other certificate,
 * and none, proves nothing: the request follows the normal rules.
 * Every CA and certificate is made here with openssl.
 */

interface ClientPair {
  cert: string;
  key: string;
}
type Got = 'full' | 'minimal' | number;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GETs a Yealink file and says which configuration came back. */
function fetchConfig(base: string, mac: string, serverCa: string, client?: ClientPair): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${base}/${mac}.cfg`,
      {
        ca: serverCa,
        servername: 'prov.test',
        agent: false,
        timeout: 10_000,
        ...(client ?? {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return resolve(res.statusCode!);
          // The full configuration points the phone at its per-device URL (with the new identity secret).
          resolve(/server\.url = https:\/\/prov\.test\/p\/[A-Za-z0-9_-]+\//.test(body) ? 'full' : 'minimal');
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${base}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Resolves true once `check` holds, false when `timeoutMs` has passed. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

function makeCaIn(root: string, name: string): TestCa {
  const dir = join(root, name);
  mkdirSync(dir);
  return makeCa(dir);
}

describe('Mutual TLS: device certificates on the provisioning port', function () {
  this.timeout(90_000);
  let dir: string;
  let serverCa: TestCa;
  let deviceCa: TestCa;
  let otherCa: TestCa;
  let server: IssuedPair;
  let liveCaPath: string;
  let app: PapgateInstance;
  let base: string;
  const logLines: string[] = [];
  let tenants = 0;

  const configWith = (db: string, extra: Record<string, string>) =>
    loadConfig(
      {},
      {
        PAPGATE_DB: join(dir, db),
        PAPGATE_DB_MIGRATE: 'auto',
        PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
        PAPGATE_PROVISIONING_PORT: '0',
        PAPGATE_ADMIN_PORT: '0',
        PAPGATE_SIGNALLING: 'off',
        PAPGATE_PUBLIC_URL: 'https://prov.test',
        PAPGATE_SIP_ADVERTISED_ADDRESS: 'sip.prov.test',
        PAPGATE_TLS_CERT: server.certPath,
        PAPGATE_TLS_KEY: server.keyPath,
        PAPGATE_TLS_RELOAD_SECONDS: '0.2',
        ...extra,
      },
    );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-mtls-'));
    serverCa = makeCaIn(dir, 'server');
    deviceCa = makeCaIn(dir, 'devices');
    otherCa = makeCaIn(dir, 'other');
    server = issue(serverCa, 'server');
    // The file papgate is pointed at; the reload case writes another CA over it.
    liveCaPath = join(dir, 'device-ca.pem');
    replaceFile(liveCaPath, deviceCa.pem);
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(line);
        done();
      },
    });
    app = await startPapgate(configWith('mtls.db', { PAPGATE_DEVICE_CA: liveCaPath }), {
      log: createLogger({ level: 'info', destination: sink }),
    });
    base = app.provisioningUrl;
  });

  after(async () => {
    await app?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A device in a tenant of its own: a full configuration opens trust for 127.0.0.1 in its tenant only. */
  async function device(instance: PapgateInstance, mac: string): Promise<string> {
    const tenant = `mtls-${++tenants}`;
    await instance.services.tenants.create(CLI_ACTOR, tenant, 'en');
    await instance.services.devices.create(CLI_ACTOR, { tenant, mac, vendor: 'yealink', model: 'T46S' });
    return mac;
  }

  const get = (mac: string, client?: ClientPair) => fetchConfig(base, mac, serverCa.pem, client);

  it('a device certificate naming the MAC in its CN gets the full configuration, audited as "certificate"', async () => {
    const mac = await device(app, '0015650c0001');
    const cert = issueClient(deviceCa, 'plain', { cn: '0015650C0001' });
    assert.equal(await get(mac), 'minimal', 'without the certificate: the minimal configuration');
    assert.equal(await get(mac, cert), 'full');
    const audit = await app.services.audit.recent(CLI_ACTOR, undefined, 20);
    assert.ok(
      audit.some((e) => e.mac === mac && e.action === 'provision-full' && e.outcome === 'certificate'),
      JSON.stringify(audit),
    );
    const logged = logLines.find((l) => l.includes('device proved by its certificate') && l.includes(mac));
    assert.ok(logged, 'the proof is logged');
    assert.ok(logged.includes(cert.fingerprint256), 'with the certificate fingerprint');
    assert.ok(!logLines.some((l) => l.includes('PRIVATE KEY')), 'no key material in the log');
  });

  it('accepts the colon, dash, lower-case and SAN spellings vendors use', async () => {
    const forms: [string, { cn: string; san?: string }][] = [
      ['0015650c0002', { cn: '00:15:65:0c:00:02' }],
      ['0015650c0003', { cn: '00-15-65-0C-00-03' }],
      ['0015650c0004', { cn: 'SEP0015650C0004' }],
      ['0015650c0005', { cn: 'Yealink device', san: 'URI:urn:dev:mac:0015650c0005' }],
      ['0015650c0006', { cn: 'phone', san: 'DNS:0015650c0006.phones.example' }],
    ];
    for (const [mac, spec] of forms) {
      await device(app, mac);
      assert.equal(await get(mac, issueClient(deviceCa, `form-${mac}`, spec)), 'full', `${JSON.stringify(spec)} proves ${mac}`);
    }
  });

  it('a valid certificate of another MAC proves nothing', async () => {
    const mac = await device(app, '0015650c0010');
    await device(app, '0015650c0011');
    assert.equal(await get(mac, issueClient(deviceCa, 'other-mac', { cn: '0015650C0011' })), 'minimal');
  });

  it('a certificate of another CA, or an expired one, proves nothing', async () => {
    const mac = await device(app, '0015650c0020');
    assert.equal(await get(mac, issueClient(otherCa, 'foreign', { cn: '0015650C0020' })), 'minimal');
    assert.equal(await get(mac, issueClient(deviceCa, 'expired', { cn: '0015650C0020', expired: true })), 'minimal');
    // A self-signed certificate naming the MAC is just another CA.
    const self = issueClient(makeCaIn(dir, 'self'), 'self', { cn: '0015650C0020' });
    assert.equal(await get(mac, self), 'minimal');
    const audit = await app.services.audit.recent(CLI_ACTOR, undefined, 100);
    assert.ok(!audit.some((e) => e.mac === mac && e.action === 'provision-full'), 'no full configuration for that device');
  });

  it('no client certificate: unchanged behaviour, a trusted network still gets the full configuration', async () => {
    const mac = await device(app, '0015650c0030');
    assert.equal(await get(mac), 'minimal');
    await app.services.allowList.add(CLI_ACTOR, `mtls-${tenants}`, '127.0.0.1/32');
    assert.equal(await get(mac), 'full');
  });

  it('takes a changed CA file without a restart', async () => {
    const mac = await device(app, '0015650c0040');
    const fromOther = issueClient(otherCa, 'other-40', { cn: '0015650C0040' });
    assert.equal(await get(mac, fromOther), 'minimal');
    replaceFile(liveCaPath, `${deviceCa.pem}${otherCa.pem}`);
    assert.ok(await eventually(async () => (await get(mac, fromOther)) === 'full'), 'the other CA is believed once in the bundle');
  });

  it('without PAPGATE_DEVICE_CA a client certificate is ignored', async () => {
    const plain = await startPapgate(configWith('plain.db', {}), { log: createLogger({ level: 'silent' }) });
    try {
      const mac = await device(plain, '0015650c0050');
      const cert = issueClient(deviceCa, 'ignored', { cn: '0015650C0050' });
      assert.equal(await fetchConfig(plain.provisioningUrl, mac, serverCa.pem, cert), 'minimal');
    } finally {
      await plain.stop();
    }
  });

  it('refuses to start with an unreadable CA bundle, or one without HTTPS', async () => {
    await assert.rejects(
      startPapgate(configWith('bad.db', { PAPGATE_DEVICE_CA: join(dir, 'missing.pem') }), {
        log: createLogger({ level: 'silent' }),
      }),
      /cannot read the device CA bundle.*missing\.pem/,
    );
    replaceFile(join(dir, 'junk.pem'), 'not a certificate\n');
    await assert.rejects(
      startPapgate(configWith('bad.db', { PAPGATE_DEVICE_CA: join(dir, 'junk.pem') }), {
        log: createLogger({ level: 'silent' }),
      }),
      /unusable device CA bundle/,
    );
    assert.throws(() => loadConfig({}, { PAPGATE_DEVICE_CA: liveCaPath }), /PAPGATE_DEVICE_CA needs PAPGATE_TLS_CERT/);
  });
});

describe('Mutual TLS in the provisioning worker processes', function () {
  this.timeout(120_000);
  let PORT = 0; // and PORT + 1: a free pair, in the first hook
  let dir: string;
  let serve: ServeProcess | undefined;
  let serverCa: TestCa;
  let deviceCa: TestCa;

  before(async () => {
    PORT = await freePortBlock(2);
    dir = mkdtempSync(join(tmpdir(), 'papgate-mtls-workers-'));
    serverCa = makeCaIn(dir, 'server');
    deviceCa = makeCaIn(dir, 'devices');
    const server = issue(serverCa, 'server');
    const db = join(dir, 'papgate.db');
    // The device goes in first, through the services, then `papgate serve` opens the same database.
    const setup = await startPapgate(
      loadConfig(
        {},
        {
          PAPGATE_DB: db,
          PAPGATE_DB_MIGRATE: 'auto',
          PAPGATE_SIGNALLING: 'off',
          PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
          PAPGATE_PROVISIONING_PORT: '0',
          PAPGATE_ADMIN_PORT: '0',
        },
      ),
      { log: createLogger({ level: 'silent' }) },
    );
    await setup.services.tenants.create(CLI_ACTOR, 'workers', 'en');
    for (const mac of ['0015650d0001', '0015650d0002']) {
      await setup.services.devices.create(CLI_ACTOR, { tenant: 'workers', mac, vendor: 'yealink', model: 'T46S' });
    }
    await setup.stop();
    serve = await startServe({
      PAPGATE_DB: db,
      PAPGATE_DB_MIGRATE: 'auto',
      PAPGATE_WORKERS: '2',
      PAPGATE_SIGNALLING: 'off',
      PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
      PAPGATE_PROVISIONING_PORT: String(PORT),
      PAPGATE_ADMIN_PORT: String(PORT + 1),
      PAPGATE_PUBLIC_URL: 'https://prov.test',
      PAPGATE_SIP_ADVERTISED_ADDRESS: 'sip.prov.test',
      PAPGATE_TLS_CERT: server.certPath,
      PAPGATE_TLS_KEY: server.keyPath,
      PAPGATE_DEVICE_CA: deviceCa.certPath,
    });
  });

  after(async () => {
    await serve?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the workers believe a device certificate too, and only for its own MAC', async () => {
    const base = `https://127.0.0.1:${PORT}`;
    const cert = issueClient(deviceCa, 'worker-1', { cn: '00:15:65:0D:00:01' });
    assert.equal(await fetchConfig(base, '0015650d0002', serverCa.pem, cert), 'minimal');
    assert.equal(await fetchConfig(base, '0015650d0001', serverCa.pem, cert), 'full');
    // The worker's log line may arrive a moment after the answer.
    const proved = await serve!.waitForLog((l) => l.msg === 'device proved by its certificate', 20_000, 'the proof in the log');
    assert.equal(typeof proved.worker, 'number', `proved in a worker:\n${serve!.tail()}`);
    assert.equal(proved.mac, '0015650d0001');
  });
});
