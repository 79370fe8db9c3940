import assert from 'node:assert/strict';
import path from 'node:path';
import { SipGate } from '../../src/app/sip-gate';
import { PapgateError } from '../../src/domain/errors';
import { silentLogger } from '../../src/ports/logger';
import { NoCommonCodec, type DtmfSource, type MediaSession } from '../../src/ports/media';
import { cryptoRandom } from '../../src/ports/random';
import { FreeswitchMediaEngine } from '../../src/media/freeswitch/freeswitch-media';
import { freeswitchPath } from '../../src/media/freeswitch/prompt-paths';
import { DrachtioSignalling } from '../../src/sip/drachtio/drachtio-signalling';
import { FakeDrachtioServer } from '../helpers/fake-drachtio-server';
import { FAKE_FREESWITCH_SIP_PORT, FakeFreeswitch } from '../helpers/fake-freeswitch';
import { portLayout } from '../helpers/ports';

/** The FreeSWITCH media adapter (real drachtio-fsmrf and drachtio-srf) against fake servers on the wire. */

const PROMPTS = path.resolve(__dirname, '../../prompts');
const FS_PROMPTS = '/usr/share/papgate/prompts';
const OFFER =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n';

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let DRACHTIO_PORT = 0,
  ESL_PORT = 0,
  LISTEN_PORT = 0,
  BARE_PORT = 0,
  DEAD_PORT = 0; // from portLayout() in the suite's first hook

describe('FreeSWITCH media adapter (fake FreeSWITCH + fake drachtio-server)', function () {
  before(async () => {
    ({ DRACHTIO_PORT, ESL_PORT, LISTEN_PORT, BARE_PORT, DEAD_PORT } = await portLayout({
      DRACHTIO_PORT: 0,
      ESL_PORT: 1,
      LISTEN_PORT: 2,
      BARE_PORT: 3,
      DEAD_PORT: 9,
    }));
  });
  this.timeout(15_000);
  let drachtio: FakeDrachtioServer;
  let fs: FakeFreeswitch;
  let sig: DrachtioSignalling;
  let engine: FreeswitchMediaEngine;
  let sessions: MediaSession[];

  function makeEngine(o: { secret?: string; port?: number; connectTimeoutMs?: number } = {}) {
    return new FreeswitchMediaEngine({
      srf: sig.srf,
      host: '127.0.0.1',
      port: o.port ?? ESL_PORT,
      secret: o.secret ?? 'ClueCon',
      listenAddress: '127.0.0.1',
      listenPort: LISTEN_PORT,
      promptsDir: PROMPTS,
      freeswitchPromptsDir: FS_PROMPTS,
      log: silentLogger,
      connectTimeoutMs: o.connectTimeoutMs,
      retryDelayMs: 100,
    });
  }

  async function session(offer = OFFER): Promise<MediaSession> {
    const s = await engine.createSession({ callId: 'c1', offerSdp: offer });
    sessions.push(s);
    return s;
  }

  beforeEach(async () => {
    sessions = [];
    drachtio = new FakeDrachtioServer();
    await drachtio.listen(DRACHTIO_PORT);
    fs = new FakeFreeswitch();
    await fs.listen(ESL_PORT);
    fs.attachTo(drachtio);
    const gate = new SipGate({
      realm: 'r',
      emergencyNumbers: [],
      nonceTtlMs: 1000,
      lookupAccount: async () => null,
      clock: { now: () => Date.now() },
      random: cryptoRandom,
    });
    sig = new DrachtioSignalling({ host: '127.0.0.1', port: DRACHTIO_PORT, secret: 'cymru', gate, clock: { now: () => Date.now() }, log: silentLogger });
    await sig.start({ handle: async () => undefined });
    engine = makeEngine();
    await engine.start();
  });

  afterEach(async () => {
    for (const s of sessions) await s.close();
    await engine.close();
    await sig.stop();
    await fs.close();
    await drachtio.close();
  });

  it('connects over the event socket and reports ready', () => {
    assert.equal(engine.isReady(), true);
  });

  it('creates a FreeSWITCH endpoint for the offer and returns its answer SDP', async () => {
    const s = await session();
    assert.match(s.answerSdp, /^m=audio 16\d{3} RTP\/AVP 0 101/m);
    const invite = drachtio.requestsFromApp('INVITE')[0]!;
    assert.equal(invite.msg.uri, `sip:drachtio@127.0.0.1:${FAKE_FREESWITCH_SIP_PORT}`);
    assert.equal(invite.msg.body, OFFER);
    assert.ok(!fs.commands.some((c) => c.app === 'start_dtmf'), 'RFC 4733 negotiated: no in-band detector');
  });

  it('plays prompts from the FreeSWITCH prompts mount and reports the end once per play()', async () => {
    const s = await session();
    const finished: boolean[] = [];
    s.on('playbackFinished', (interrupted) => finished.push(interrupted));
    s.play([path.join(PROMPTS, 'en/enter-pin.wav')]);
    await until(() => fs.playbacks().length === 1, 'playback');
    assert.deepEqual(fs.playbacks(), [`${FS_PROMPTS}/en/enter-pin.wav`]);
    fs.completePlayback(fs.latestChannel()!.uuid);
    await until(() => finished.length === 1, 'playbackFinished');
    s.play([path.join(PROMPTS, 'de/wrong-pin.wav'), path.join(PROMPTS, 'de/enter-pin.wav')]);
    await until(() => fs.playbacks().length === 2, 'second playback');
    assert.equal(fs.playbacks()[1], `${FS_PROMPTS}/de/wrong-pin.wav!${FS_PROMPTS}/de/enter-pin.wav`);
    assert.ok(fs.commands.some((c) => c.app === 'set' && c.arg === 'playback_delimiter=!'));
    fs.completePlayback(fs.latestChannel()!.uuid);
    await until(() => finished.length === 2, 'second playbackFinished');
    assert.deepEqual(finished, [false, false]);
  });

  it('stops playback with uuid_break (barge-in) and reports it interrupted', async () => {
    const s = await session();
    const finished: boolean[] = [];
    s.on('playbackFinished', (interrupted) => finished.push(interrupted));
    s.play([path.join(PROMPTS, 'en/enter-pin.wav')]);
    await until(() => fs.playbacks().length === 1, 'playback');
    s.stopPlayback();
    await until(() => finished.length === 1, 'playbackFinished');
    assert.deepEqual(finished, [true]);
    const uuid = fs.latestChannel()!.uuid;
    assert.ok(fs.commands.some((c) => c.kind === 'api' && c.app === 'uuid_break' && c.arg === uuid));
  });

  it('turns FreeSWITCH DTMF events into digits with their source', async () => {
    const s = await session();
    const digits: [string, DtmfSource][] = [];
    s.on('digit', (d, src) => digits.push([d, src]));
    const uuid = fs.latestChannel()!.uuid;
    fs.sendDtmf(uuid, '5', 'RTP');
    fs.sendDtmf(uuid, '#', 'INBAND_AUDIO');
    fs.sendDtmf(uuid, 'x', 'RTP');
    await until(() => digits.length === 2, 'two digits');
    assert.deepEqual(digits, [
      ['5', 'rfc4733'],
      ['#', 'inband'],
    ]);
  });

  it('starts in-band DTMF detection when the phone offers no telephone-event', async () => {
    await session(OFFER.replace(' 0 101', ' 0').replace(/a=rtpmap:101.*\r\n/, ''));
    await until(() => fs.commands.some((c) => c.app === 'start_dtmf'), 'start_dtmf');
  });

  it('maps a 488 from FreeSWITCH to NoCommonCodec and a bad offer to an invalid-SDP error', async () => {
    await assert.rejects(session(OFFER.replace(' 0 101', ' 18 101')), NoCommonCodec);
    await assert.rejects(session('hello'), (e: unknown) => e instanceof PapgateError && e.code === 'invalid' && e.field === 'sdp');
  });

  it('hangs the channel up on close() and FreeSWITCH sends its BYE', async () => {
    const s = await session();
    const callId = fs.latestChannel()!.callId;
    await s.close();
    assert.ok(fs.commands.some((c) => c.app === 'hangup'));
    await until(() => drachtio.dialogOfCallId(callId) === undefined, 'the dialog to end');
  });

  it('reports inactive when FreeSWITCH ends the channel by itself (media timeout)', async () => {
    const s = await session();
    let inactive = false;
    s.on('inactive', () => {
      inactive = true;
    });
    fs.hangupChannel(fs.latestChannel()!.uuid);
    await until(() => inactive, 'inactive');
  });

  it('refuses to start with a wrong event-socket password', async () => {
    const other = makeEngine({ secret: 'wrong' });
    await assert.rejects(other.start(), /refused the event-socket password/);
    await other.close();
  });

  it('waits, not ready, for a FreeSWITCH without the drachtio_mrf profile (fsmrf itself would throw)', async () => {
    const bare = new FakeFreeswitch({ profile: 'internal' });
    await bare.listen(BARE_PORT);
    try {
      const other = makeEngine({ port: BARE_PORT, connectTimeoutMs: 300 });
      await other.start();
      assert.equal(other.isReady(), false);
      await other.close();
    } finally {
      await bare.close();
    }
  });

  it('maps only files under prompts/ to the FreeSWITCH mount', () => {
    assert.equal(freeswitchPath(path.join(PROMPTS, 'de/success.wav'), PROMPTS, FS_PROMPTS), `${FS_PROMPTS}/de/success.wav`);
    assert.equal(freeswitchPath('/opt/other/x.wav', PROMPTS, FS_PROMPTS), '/opt/other/x.wav');
    assert.equal(freeswitchPath(`${PROMPTS}/../etc/x.wav`, PROMPTS, FS_PROMPTS), `${PROMPTS}/../etc/x.wav`);
  });

  it('starts not ready when FreeSWITCH is down and refuses sessions as unavailable', async () => {
    const other = makeEngine({ port: DEAD_PORT, connectTimeoutMs: 300 });
    await other.start();
    assert.equal(other.isReady(), false);
    await assert.rejects(other.createSession({ callId: 'x', offerSdp: OFFER }), (e: unknown) => e instanceof PapgateError && e.code === 'unavailable');
    await other.close();
  });
});
