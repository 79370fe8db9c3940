import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { Authentication } from '../../src/app/authentication';
import { AuthCallHandler } from '../../src/app/call-handler';
import { PromptLibrary, shippedPromptsDir } from '../../src/app/prompt-library';
import { SipGate } from '../../src/app/sip-gate';
import { newAuthRecord } from '../../src/domain/auth';
import { DEFAULT_EMERGENCY_NUMBERS } from '../../src/domain/dialplan';
import { buildAuthorization } from '../../src/domain/digest';
import { DEFAULT_IVR_SETTINGS } from '../../src/domain/ivr';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import type { Device } from '../../src/domain/types';
import { FreeswitchMediaEngine } from '../../src/media/freeswitch/freeswitch-media';
import type { MediaRefusal } from '../../src/media/freeswitch/refusal';
import { systemClock } from '../../src/ports/clock';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import type { Store } from '../../src/ports/store';
import { DrachtioSignalling } from '../../src/sip/drachtio/drachtio-signalling';
import { openSqliteStore } from '../../src/store/sqlite';
import { rfc4733Pcap, rfc4733PcapsAvailable } from '../helpers/dtmf-scenarios';
import { FakeDrachtioServer, header, phoneRequest } from '../helpers/fake-drachtio-server';
import { FakeFreeswitch } from '../helpers/fake-freeswitch';
import { rtpEventPcaps } from '../helpers/rtp-event-pcap';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';
import { portLayout } from '../helpers/ports';

/**
 * What the real FreeSWITCH 1.10.12 does that papgate must cope with, taught
 * to the fake (see fake-freeswitch.ts): 488 when its RTP ports are used up,
 * and RFC 4733 digits dropped unless their sequence numbers move forward.
 */

const REALM = 'papgate';
const PAP = '551100';
const OFFER =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n';
const G729_OFFER = OFFER.replace('RTP/AVP 0 101', 'RTP/AVP 18 101').replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:18 G729/8000');

let DRACHTIO_PORT = 0,
  ESL_PORT = 0,
  LISTEN_PORT = 0,
  RTP_START = 0; // from portLayout() in the suite's first hook

describe('drachtio + FreeSWITCH: what the real FreeSWITCH does (fake servers on the wire)', function () {
  before(async () => {
    ({ DRACHTIO_PORT, ESL_PORT, LISTEN_PORT, RTP_START } = await portLayout({ DRACHTIO_PORT: 0, ESL_PORT: 1, LISTEN_PORT: 2, RTP_START: 10 }));
  });
  this.timeout(30_000);
  let store: Store;
  let device: Device;
  let others: Device[];
  let drachtio: FakeDrachtioServer;
  let fs: FakeFreeswitch;
  let sig: DrachtioSignalling;
  let media: FreeswitchMediaEngine;
  let refusals: MediaRefusal[];
  const handled: Promise<void>[] = [];

  beforeEach(async () => {
    store = await openSqliteStore(':memory:');
    const tenant = await makeTenant(store, 'acme');
    device = makeDevice({ tenantId: tenant.id, auth: newAuthRecord(PAP) });
    // more phones: one device may hold only so many IVR calls
    others = [makeDevice({ tenantId: tenant.id }), makeDevice({ tenantId: tenant.id })];
    await store.insertDevices([device, ...others], []);
    drachtio = new FakeDrachtioServer();
    await drachtio.listen(DRACHTIO_PORT);
    // two calls' worth of RTP ports: RTP_START..+3 (FreeSWITCH takes an even port and the next)
    fs = new FakeFreeswitch({ rtpStartPort: RTP_START, rtpEndPort: RTP_START + 3, listenRtp: true });
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
    refusals = [];
    media = new FreeswitchMediaEngine({
      srf: sig.srf,
      host: '127.0.0.1',
      port: ESL_PORT,
      secret: 'ClueCon',
      listenAddress: '127.0.0.1',
      listenPort: LISTEN_PORT,
      promptsDir: shippedPromptsDir(),
      freeswitchPromptsDir: '/usr/share/papgate/prompts',
      log: silentLogger,
      onRefused: (r) => refusals.push(r),
    });
    const handler = new AuthCallHandler({
      auth: new Authentication(deps),
      media,
      signalling: sig,
      gate,
      store,
      prompts: new PromptLibrary([shippedPromptsDir()]),
      emergencyGateway: 'sip:gw.example.net',
      ivr: { ...DEFAULT_IVR_SETTINGS, firstDigitMs: 8000, interDigitMs: 8000 },
      maxCallMs: 25_000,
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
    for (const d of [...drachtioDialogs]) {
      try {
        drachtio.inDialog(d, 'BYE');
      } catch {
        /* already over */
      }
    }
    drachtioDialogs.length = 0;
    await Promise.allSettled(handled.splice(0));
    await media.close();
    await sig.stop();
    await fs.close();
    await drachtio.close();
    await store.close();
  });

  const drachtioDialogs: string[] = [];

  /** Dials *89 with the digest round; returns the final answer and, for a 200, the ACKed dialog. */
  async function dialIn(body = OFFER, phone = device): Promise<{ status: number; dialogId?: string }> {
    const uri = 'sip:*89@127.0.0.1';
    const callId = `rt-${Math.random().toString(36).slice(2)}`;
    const base = { user: phone.sipUsername, callId, body, headers: { 'Content-Type': 'application/sdp' } };
    const challenge = await drachtio.finalResponse(drachtio.fromNetwork(phoneRequest('INVITE', uri, base)));
    const nonce = /nonce="([^"]+)"/.exec(header(challenge, 'www-authenticate') ?? '')![1]!;
    const authorization = buildAuthorization({
      username: phone.sipUsername,
      password: phone.sipPassword,
      realm: REALM,
      nonce,
      uri,
      method: 'INVITE',
      cnonce: 'c0ffee',
      nc: 1,
    });
    const txn = drachtio.fromNetwork(phoneRequest('INVITE', uri, { ...base, cseq: 2, headers: { ...base.headers, Authorization: authorization } }));
    const res = await drachtio.finalResponse(txn, 10_000);
    if (res.status !== 200) return { status: res.status! };
    const dialogId = drachtio.dialogOfTxn(txn)!;
    drachtio.inDialog(dialogId, 'ACK');
    drachtioDialogs.push(dialogId);
    return { status: 200, dialogId };
  }

  it('RTP ports used up: the next call gets 503 (not 488), counted as no-rtp-ports; a freed port is used again', async () => {
    const first = await dialIn();
    const second = await dialIn(OFFER, others[0]);
    assert.deepEqual([first.status, second.status], [200, 200]);
    const third = await dialIn(OFFER, others[1]);
    assert.equal(fs.rtpRefusals, 1, 'FreeSWITCH refused the third channel (488)');
    assert.equal(third.status, 503, 'the phone hears "try later", not "no common codec"');
    assert.deepEqual(refusals, ['no-rtp-ports']);
    drachtio.inDialog(first.dialogId!, 'BYE');
    drachtioDialogs.splice(drachtioDialogs.indexOf(first.dialogId!), 1);
    await drachtio.until(() => [...fs.channels.values()].filter((c) => !c.ended).length === 1, 'the first channel to end');
    assert.equal((await dialIn(OFFER, others[1])).status, 200, 'the freed ports serve the next call');
  });

  it('a real codec mismatch (G.729 only) still gets 488, counted as no-common-codec', async () => {
    assert.equal((await dialIn(G729_OFFER)).status, 488);
    assert.deepEqual(refusals, ['no-common-codec']);
  });

  (rfc4733PcapsAvailable() ? it : it.skip)("SIPp's shipped captures lose repeated digits at FreeSWITCH; numbered captures deliver the PAP", async () => {
    const shipped = await dialIn();
    const shippedChannel = fs.latestChannel()!;
    await drachtio.until(() => fs.playbacks(shippedChannel.uuid).length > 0, 'the first prompt');
    for (const key of `${PAP}#`) await playPcap(readFileSync(rfc4733Pcap(key)), shippedChannel.rtpPort);
    await drachtio.until(() => fs.detectedDigits(shippedChannel.uuid).includes('#'), 'the # of the shipped captures');
    assert.deepEqual(fs.detectedDigits(shippedChannel.uuid), ['5', '1', '0', '#'], 'every repeated digit was dropped');
    drachtio.inDialog(shipped.dialogId!, 'BYE');
    drachtioDialogs.length = 0;

    await dialIn();
    const channel = fs.latestChannel()!;
    // Type only once the IVR listens: its first prompt is playing.
    await drachtio.until(() => fs.playbacks(channel.uuid).length > 0, 'the first prompt');
    for (const pcap of Object.values(rtpEventPcaps(`${PAP}#`, (i) => `k${i}`))) await playPcap(pcap, channel.rtpPort);
    await drachtio.until(() => fs.detectedDigits(channel.uuid).length === 7, 'seven digits', 8000);
    assert.deepEqual(fs.detectedDigits(channel.uuid), [...`${PAP}#`]);
    const bye = await drachtio.waitForAppRequest('BYE', 1, 10_000);
    assert.ok(bye, 'papgate confirmed the PAP and hung up');
    await drachtio.waitForAppRequest('NOTIFY', 1, 10_000);
    drachtioDialogs.length = 0;
  });
});

/** Sends the RTP packets of a pcap (Ethernet/IPv4/UDP) to 127.0.0.1:port, 20 ms apart like SIPp. */
async function playPcap(pcap: Buffer, port: number): Promise<void> {
  const sock = dgram.createSocket('udp4');
  try {
    for (let off = 24; off + 16 <= pcap.length;) {
      const len = pcap.readUInt32LE(off + 8);
      const frame = pcap.subarray(off + 16, off + 16 + len);
      off += 16 + len;
      const ihl = (frame[14]! & 0x0f) * 4;
      const rtp = frame.subarray(14 + ihl + 8);
      await new Promise<void>((resolve, reject) => sock.send(rtp, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    sock.close();
  }
}
