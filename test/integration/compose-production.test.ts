import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_ACTOR } from '../../src/app/actor';
import type { DeviceView } from '../../src/app/device-view';
import { loadConfig } from '../../src/config/config';
import { buildAuthorization } from '../../src/domain/digest';
import { startPapgate, type PapgateInstance } from '../../src/main';
import { silentLogger } from '../../src/ports/logger';
import { FakeDrachtioServer, header, phoneRequest } from '../helpers/fake-drachtio-server';
import { FakeFreeswitch } from '../helpers/fake-freeswitch';
import { portLayout } from '../helpers/ports';

/**
 * The composition root with PAPGATE_SIGNALLING=drachtio and
 * PAPGATE_MEDIA=freeswitch: `startPapgate` connects to (fake, wire-level)
 * drachtio-server and FreeSWITCH, and a phone authenticates through them and
 * then gets its full configuration over HTTP.
 */
describe('startPapgate on the production topology (fake drachtio-server and FreeSWITCH)', function () {
  this.timeout(30_000);
  const OFFER =
    'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n';
  let dir: string;
  let drachtio: FakeDrachtioServer;
  let fs: FakeFreeswitch;
  let app: PapgateInstance;
  let device: DeviceView;

  before(async () => {
    const { DRACHTIO_PORT, ESL_PORT, LISTEN_PORT } = await portLayout({ DRACHTIO_PORT: 0, ESL_PORT: 1, LISTEN_PORT: 2 });
    dir = mkdtempSync(join(tmpdir(), 'papgate-prod-'));
    drachtio = new FakeDrachtioServer();
    await drachtio.listen(DRACHTIO_PORT);
    fs = new FakeFreeswitch();
    fs.playbackMs = 30;
    await fs.listen(ESL_PORT);
    fs.attachTo(drachtio);
    const config = loadConfig(
      {},
      {
        PAPGATE_DB: join(dir, 'p.db'),
        PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
        PAPGATE_PROVISIONING_PORT: '0',
        PAPGATE_ADMIN_PORT: '0',
        PAPGATE_SIGNALLING: 'drachtio',
        PAPGATE_MEDIA: 'freeswitch',
        PAPGATE_DRACHTIO_PORT: String(DRACHTIO_PORT),
        PAPGATE_FREESWITCH_PORT: String(ESL_PORT),
        PAPGATE_FREESWITCH_LISTEN_ADDRESS: '127.0.0.1',
        PAPGATE_FREESWITCH_LISTEN_PORT: String(LISTEN_PORT),
      },
    );
    app = await startPapgate(config, { log: silentLogger });
    await drachtio.waitForRoutes(['invite', 'register']);
    await app.services.tenants.create(CLI_ACTOR, 'acme');
    device = await app.services.devices.create(CLI_ACTOR, { tenant: 'acme', mac: '00:15:65:aa:00:01', vendor: 'yealink', model: 'T46U' });
  });

  after(async () => {
    await app?.stop();
    await fs?.close();
    await drachtio?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates a phone through drachtio and FreeSWITCH, then provisions it fully', async () => {
    const ready = await fetch(`${app.adminUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, parts: { store: true, sip: true, media: true } });
    const minimal = await (await fetch(`${app.provisioningUrl}/001565aa0001.cfg`)).text();
    assert.match(minimal, /Authentication needed/);

    const uri = 'sip:*89@127.0.0.1';
    const base = { user: device.sipUsername, callId: 'prod-1', body: OFFER, headers: { 'Content-Type': 'application/sdp' } };
    const challenge = await drachtio.finalResponse(drachtio.fromNetwork(phoneRequest('INVITE', uri, base)));
    assert.equal(challenge.status, 401, 'the shared SipGate challenges');
    const nonce = /nonce="([^"]+)"/.exec(header(challenge, 'www-authenticate') ?? '')![1]!;
    const authorization = buildAuthorization({
      username: device.sipUsername,
      password: device.sipPassword,
      realm: 'papgate',
      nonce,
      uri,
      method: 'INVITE',
      cnonce: 'ab',
      nc: 1,
    });
    const txn = drachtio.fromNetwork(phoneRequest('INVITE', uri, { ...base, cseq: 2, headers: { ...base.headers, Authorization: authorization } }));
    assert.equal((await drachtio.finalResponse(txn)).status, 200);
    drachtio.inDialog(drachtio.dialogOfTxn(txn)!, 'ACK');

    await drachtio.until(() => fs.playbacks().length === 1, 'the PIN prompt');
    const uuid = fs.latestChannel()!.uuid;
    for (const d of `${device.pap}#`) fs.sendDtmf(uuid, d, 'RTP');
    await drachtio.waitForAppRequest('BYE', 1, 8000);
    const notify = await drachtio.waitForAppRequest('NOTIFY', 1, 8000);
    assert.equal(header(notify.msg, 'event'), 'check-sync');
    assert.equal((await app.services.devices.show(CLI_ACTOR, device.mac)).state, 'successful');

    const metrics = await (await fetch(`${app.adminUrl}/metrics`)).text();
    assert.match(metrics, /papgate_pap_attempts_total\{outcome="success"\} 1/);
    assert.match(metrics, /papgate_calls_total\{route="ivr"\} 1/);
    // The phone re-fetches from the IP its last request came from: now trusted.
    const full = await (await fetch(`${app.provisioningUrl}/001565aa0001.cfg`)).text();
    assert.doesNotMatch(full, /Authentication needed/);
    assert.match(full, /\/p\/[A-Za-z0-9_-]+\//);
  });

  it('reports not ready once the store is unavailable (last: it closes the store)', async () => {
    await app.store.close();
    const r = await fetch(`${app.adminUrl}/readyz`);
    assert.equal(r.status, 503);
    assert.equal(((await r.json()) as { parts: { store: boolean } }).parts.store, false);
  });
});
