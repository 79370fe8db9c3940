import assert from 'node:assert/strict';
import { Authentication } from '../../src/app/authentication';
import { AuthCallHandler } from '../../src/app/call-handler';
import { PromptLibrary, shippedPromptsDir } from '../../src/app/prompt-library';
import { SipGate } from '../../src/app/sip-gate';
import { DEFAULT_EMERGENCY_NUMBERS } from '../../src/domain/dialplan';
import { buildAuthorization } from '../../src/domain/digest';
import { DEFAULT_IVR_SETTINGS } from '../../src/domain/ivr';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import type { Device, Locale } from '../../src/domain/types';
import { FreeswitchMediaEngine } from '../../src/media/freeswitch/freeswitch-media';
import { systemClock } from '../../src/ports/clock';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import type { Store } from '../../src/ports/store';
import { DrachtioSignalling } from '../../src/sip/drachtio/drachtio-signalling';
import { openSqliteStore } from '../../src/store/sqlite';
import { FakeDrachtioServer, header, phoneRequest } from '../helpers/fake-drachtio-server';
import { FakeFreeswitch } from '../helpers/fake-freeswitch';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';
import { portLayout } from '../helpers/ports';

/**
 * The IVR outcomes of the embedded stack, again over the production adapters:
 * the real call handler, IVR driver, SipGate and SQLite store, the drachtio
 * and FreeSWITCH adapters with the real drachtio-srf and drachtio-fsmrf, and
 * fake drachtio-server / FreeSWITCH at their wire protocols.
 */

const REALM = 'papgate';
const FS_PROMPTS = '/usr/share/papgate/prompts';
const OFFER =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n';

let DRACHTIO_PORT = 0,
  ESL_PORT = 0,
  LISTEN_PORT = 0; // from portLayout() in the suite's first hook

describe('IVR over the drachtio + FreeSWITCH adapters (fake servers on the wire)', function () {
  before(async () => {
    ({ DRACHTIO_PORT, ESL_PORT, LISTEN_PORT } = await portLayout({ DRACHTIO_PORT: 0, ESL_PORT: 1, LISTEN_PORT: 2 }));
  });
  this.timeout(20_000);
  let store: Store;
  let device: Device;
  let drachtio: FakeDrachtioServer;
  let fs: FakeFreeswitch;
  let sig: DrachtioSignalling;
  let media: FreeswitchMediaEngine;
  const handled: Promise<void>[] = [];

  beforeEach(async () => {
    store = await openSqliteStore(':memory:');
    const tenant = await makeTenant(store, 'acme');
    device = makeDevice({ tenantId: tenant.id });
    await store.insertDevices([device], []);
    drachtio = new FakeDrachtioServer();
    await drachtio.listen(DRACHTIO_PORT);
    fs = new FakeFreeswitch();
    fs.playbackMs = 30;
    await fs.listen(ESL_PORT);
    fs.attachTo(drachtio);
    const deps = { store, clock: systemClock, random: cryptoRandom, policy: DEFAULT_POLICY, log: silentLogger };
    const gate = new SipGate({
      realm: REALM,
      emergencyNumbers: DEFAULT_EMERGENCY_NUMBERS,
      nonceTtlMs: 60_000,
      clock: systemClock,
      random: cryptoRandom,
      lookupAccount: async (username) => {
        const d = await store.getDeviceBySipUsername(username);
        return d ? { username, password: d.sipPassword, mac: d.mac, tenantId: d.tenantId } : null;
      },
    });
    sig = new DrachtioSignalling({ host: '127.0.0.1', port: DRACHTIO_PORT, secret: 'cymru', gate, clock: systemClock, log: silentLogger });
    // The signalling adapter owns the Srf; fsmrf needs it before any call arrives.
    media = new FreeswitchMediaEngine({
      srf: sig.srf,
      host: '127.0.0.1',
      port: ESL_PORT,
      secret: 'ClueCon',
      listenAddress: '127.0.0.1',
      listenPort: LISTEN_PORT,
      promptsDir: shippedPromptsDir(),
      freeswitchPromptsDir: FS_PROMPTS,
      log: silentLogger,
    });
    const handler = new AuthCallHandler({
      auth: new Authentication(deps),
      media,
      signalling: sig,
      gate,
      store,
      prompts: new PromptLibrary([shippedPromptsDir()]),
      emergencyGateway: 'sip:gw.example.net',
      ivr: { ...DEFAULT_IVR_SETTINGS, firstDigitMs: 5000, interDigitMs: 5000 },
      maxCallMs: 15_000,
      log: silentLogger,
    });
    await sig.start({
      handle: (call) => {
        const p = handler.handle(call);
        handled.push(p);
        return p;
      },
    });
    await media.start();
    await drachtio.waitForRoutes(['invite']);
  });

  afterEach(async () => {
    await Promise.allSettled(handled.splice(0));
    await media.close();
    await sig.stop();
    await fs.close();
    await drachtio.close();
    await store.close();
  });

  /** Dials *89 (or `number`) as the device (with the digest round) and ACKs the 200 OK. */
  async function dialIn(d = device, number = '*89'): Promise<{ dialogId: string; callId: string }> {
    const uri = `sip:${number}@127.0.0.1`;
    const callId = `ivr-${Math.random().toString(36).slice(2)}`;
    const txn = await provenInvite(d, uri, callId);
    const ok = await drachtio.finalResponse(txn);
    assert.equal(ok.status, 200, 'the IVR answers');
    assert.match(ok.body, /^m=audio 16\d{3} RTP\/AVP 0 101/m, "with FreeSWITCH's SDP");
    const dialogId = drachtio.dialogOfTxn(txn)!;
    drachtio.inDialog(dialogId, 'ACK');
    return { dialogId, callId };
  }

  /** An INVITE to `uri` as device `d` with good credentials (after the challenge); its transaction. */
  async function provenInvite(d: Device, uri: string, callId: string) {
    const base = { user: d.sipUsername, callId, body: OFFER, headers: { 'Content-Type': 'application/sdp' } };
    const challenge = await drachtio.finalResponse(drachtio.fromNetwork(phoneRequest('INVITE', uri, base)));
    assert.equal(challenge.status, 401);
    const nonce = /nonce="([^"]+)"/.exec(header(challenge, 'www-authenticate') ?? '')![1]!;
    const authorization = buildAuthorization({
      username: d.sipUsername,
      password: d.sipPassword,
      realm: REALM,
      nonce,
      uri,
      method: 'INVITE',
      cnonce: 'c0ffee',
      nc: 1,
    });
    return drachtio.fromNetwork(phoneRequest('INVITE', uri, { ...base, cseq: 2, headers: { ...base.headers, Authorization: authorization } }));
  }

  /** A device of a new site of the tenant, with that site's locale and emergency numbers. */
  async function deviceAtSite(name: string, locale: Locale | null, emergencyNumbers: string[]): Promise<Device> {
    const site = await store.createSite({ tenantId: device.tenantId, name, locale, emergencyNumbers });
    const d = makeDevice({ tenantId: device.tenantId, siteId: site.id });
    await store.insertDevices([d], []);
    return d;
  }

  const prompt = (name: string) => `${FS_PROMPTS}/en/${name}.wav`;
  const playbackCount = () => fs.playbacks().length;

  it("an emergency call: forged credentials get a challenge; the device's call is proxied with its identity headers", async () => {
    const uri = 'sip:112@127.0.0.1';
    const base = { user: device.sipUsername, body: OFFER, headers: { 'Content-Type': 'application/sdp' } };
    const challenge = await drachtio.finalResponse(drachtio.fromNetwork(phoneRequest('INVITE', uri, { ...base, callId: 'sos-1' })));
    assert.equal(challenge.status, 401);
    const nonce = /nonce="([^"]+)"/.exec(header(challenge, 'www-authenticate') ?? '')![1]!;
    const auth = (password: string, nc: number) =>
      buildAuthorization({
        username: device.sipUsername,
        password,
        realm: REALM,
        nonce,
        uri,
        method: 'INVITE',
        cnonce: 'c0ffee',
        nc,
      });
    const forged = drachtio.fromNetwork(
      phoneRequest('INVITE', uri, {
        ...base,
        callId: 'sos-2',
        headers: { ...base.headers, Authorization: auth('not-the-password', 1) },
      }),
    );
    assert.equal((await drachtio.finalResponse(forged)).status, 401, 'a wrong response gets a challenge, not the gateway');
    assert.equal(drachtio.proxied.length, 0);
    drachtio.fromNetwork(
      phoneRequest('INVITE', uri, {
        ...base,
        callId: 'sos-3',
        cseq: 2,
        headers: { ...base.headers, Authorization: auth(device.sipPassword, 2) },
      }),
    );
    await drachtio.until(() => drachtio.proxied.length === 1, 'the proxied emergency call');
    const headers = new Map(drachtio.proxied[0]!.headers.map(([n, v]) => [n.toLowerCase(), v]));
    assert.deepEqual(drachtio.proxied[0]!.destinations, ['sip:112@gw.example.net']);
    assert.equal(headers.get('x-papgate-mac'), device.mac);
    assert.equal(headers.get('x-papgate-tenant'), 'acme');
    assert.equal(headers.get('p-asserted-identity'), `<sip:${device.sipUsername}@papgate.invalid>`);
    assert.equal(headers.get('x-papgate-source'), undefined);
  });

  it("a site number (17) of the device's own site is proxied to the gateway; a device of another site dialling 17 gets the IVR", async () => {
    const paris = await deviceAtSite('paris', 'fr', ['15', '17']);
    const berlin = await deviceAtSite('berlin', 'de', []);
    const unproven = drachtio.fromNetwork(phoneRequest('INVITE', 'sip:17@127.0.0.1', { user: paris.sipUsername, callId: 'site-sos-0', body: OFFER }));
    assert.equal((await drachtio.finalResponse(unproven)).status, 401, 'without credentials 17 is no emergency number');
    assert.equal(drachtio.proxied.length, 0);
    await provenInvite(paris, 'sip:17@127.0.0.1', 'site-sos-1');
    await drachtio.until(() => drachtio.proxied.length === 1, 'the proxied site emergency call');
    assert.deepEqual(drachtio.proxied[0]!.destinations, ['sip:17@gw.example.net']);
    const headers = new Map(drachtio.proxied[0]!.headers.map(([n, v]) => [n.toLowerCase(), v]));
    assert.equal(headers.get('x-papgate-mac'), paris.mac);
    assert.equal(headers.get('x-papgate-site'), 'paris');
    const { dialogId } = await dialIn(berlin, '17');
    await drachtio.until(() => playbackCount() === 1, 'the PIN prompt');
    assert.deepEqual(fs.playbacks(), [`${FS_PROMPTS}/de/enter-pin.wav`], "the IVR, in the site's language");
    drachtio.inDialog(dialogId, 'BYE');
    assert.equal(drachtio.proxied.length, 1, "only the Paris device's call reached the gateway");
  });

  it("a device of a French site hears the French prompt from FreeSWITCH's prompts directory", async () => {
    const lyon = await deviceAtSite('lyon', 'fr', []);
    const { dialogId } = await dialIn(lyon);
    await drachtio.until(() => playbackCount() === 1, 'the PIN prompt');
    assert.deepEqual(fs.playbacks(), [`${FS_PROMPTS}/fr/enter-pin.wav`]);
    drachtio.inDialog(dialogId, 'BYE');
  });

  it('a right PIN (RFC 4733 via FreeSWITCH) leads to success, a BYE to the phone and a check-sync NOTIFY', async () => {
    const { callId } = await dialIn();
    await drachtio.until(() => playbackCount() === 1, 'the PIN prompt');
    assert.deepEqual(fs.playbacks(), [prompt('enter-pin')]);
    const uuid = fs.latestChannel()!.uuid;
    for (const d of '123456#') fs.sendDtmf(uuid, d, 'RTP');
    const bye = await drachtio.waitForAppRequest('BYE', 1, 8000);
    assert.equal(header(bye.msg, 'call-id'), callId);
    const notify = await drachtio.waitForAppRequest('NOTIFY', 1, 8000);
    assert.equal(header(notify.msg, 'event'), 'check-sync');
    assert.equal(notify.msg.uri, `sip:${device.sipUsername}@127.0.0.1:5062`);
    assert.deepEqual(fs.playbacks(), [prompt('enter-pin'), prompt('success')]);
    assert.ok(
      fs.commands.some((c) => c.app === 'hangup'),
      'the FreeSWITCH channel is hung up',
    );
    assert.equal((await store.getDevice(device.mac))!.auth.state, 'successful');
  });

  it('three wrong PINs (SIP INFO digits) lead to the lock-out prompt, a BYE and no NOTIFY', async () => {
    const { dialogId } = await dialIn();
    for (let round = 1; round <= 3; round++) {
      await drachtio.until(() => playbackCount() === round, `prompt ${round}`);
      for (const d of '000000#') {
        drachtio.inDialog(dialogId, 'INFO', { headers: { 'Content-Type': 'application/dtmf-relay' }, body: `Signal=${d}\r\nDuration=160\r\n` });
      }
    }
    await drachtio.waitForAppRequest('BYE', 1, 8000);
    const plays = fs.playbacks();
    assert.equal(plays[0], prompt('enter-pin'));
    assert.equal(plays[1], `${prompt('wrong-pin')}!${prompt('enter-pin')}`);
    assert.equal(plays[2], `${prompt('wrong-pin')}!${prompt('enter-pin')}`);
    assert.equal(plays[3], prompt('locked-out'));
    assert.equal(drachtio.requestsFromApp('NOTIFY').length, 0);
    assert.equal((await store.getDevice(device.mac))!.auth.state, 'failed');
  });

  it('a digit during the prompt interrupts it (uuid_break) and counts', async () => {
    fs.playbackMs = undefined; // the prompt plays until broken
    await dialIn();
    await drachtio.until(() => playbackCount() === 1, 'the PIN prompt');
    const uuid = fs.latestChannel()!.uuid;
    fs.sendDtmf(uuid, '1', 'RTP');
    await drachtio.until(() => fs.commands.some((c) => c.app === 'uuid_break'), 'uuid_break');
    fs.playbackMs = 30;
    for (const d of '23456#') fs.sendDtmf(uuid, d, 'RTP');
    await drachtio.waitForAppRequest('NOTIFY', 1, 8000);
    assert.equal((await store.getDevice(device.mac))!.auth.state, 'successful');
  });
});
