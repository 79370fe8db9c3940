import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import type { DeviceView } from '../../src/app/device-view';
import { ThreadedMediaEngine } from '../../src/media/embedded';
import { PORTS, startPapgateHarness, type PapgateHarness } from '../helpers/papgate-harness';
import { RawPeer, authorization, header, nonceOf, sipRequest, statusOf, tagOf } from '../helpers/sip-raw-peer';

// A whole IVR call (papgate in-process, PAPGATE_MEDIA_THREAD=on, SIP on
// 127.0.0.1:PORTS.sip/UDP) whose media worker thread dies while the PIN prompt
// plays: papgate hangs the call up (BYE), logs the crash, closes the session,
// and the next call is answered and hears its prompt from a new worker.

async function ear(): Promise<dgram.Socket & { received: number }> {
  const s = Object.assign(dgram.createSocket('udp4'), { received: 0 });
  s.on('message', () => {
    s.received++;
  });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  return s;
}

/** A 200 to a request of papgate's (its Via, From, To, Call-ID and CSeq copied). */
function okTo(request: string): string {
  const copied = ['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((name) => `${name}: ${header(request, name)}`);
  return ['SIP/2.0 200 OK', ...copied, 'Content-Length: 0', '', ''].join('\r\n');
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('calls: the media worker thread dies during an IVR call', function () {
  this.timeout(60_000);
  let h: PapgateHarness;
  let sip: RawPeer | undefined;
  const ears: dgram.Socket[] = [];

  before(async () => {
    h = await startPapgateHarness({ env: { PAPGATE_MEDIA_THREAD: 'on' } });
  });
  after(async () => {
    for (const s of ears) await new Promise<void>((r) => s.close(() => r()));
    await sip?.close();
    await h?.stop();
  });

  /** Calls the hotline with credentials, ACKs the 200 and waits for the first prompt's packets at the phone. */
  async function answeredCall(d: DeviceView, callId: string) {
    const rtp = await ear();
    ears.push(rtp);
    const uri = `sip:${h.config.hotline}@127.0.0.1`;
    const from = `sip:${d.sipUsername}@127.0.0.1`;
    const viaHost = `127.0.0.1:${sip!.port}`;
    const offer = ['v=0', 'o=phone 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${rtp.address().port} RTP/AVP 0`, ''].join('\r\n');
    const invite = (cseq: number, extra: string[] = []) =>
      sip!.send(
        sipRequest({
          method: 'INVITE',
          uri,
          callId,
          fromTag: 'ph1',
          cseq,
          branch: `z9hG4bK${callId}${cseq}`,
          from,
          viaHost,
          contact: `${from}:${sip!.port}`,
          body: offer,
          extra,
        }),
        PORTS.sip,
      );
    const final = (cseq: number) =>
      sip!.take((m) => (statusOf(m) ?? 0) >= 200 && header(m, 'CSeq') === `${cseq} INVITE` && header(m, 'Call-ID') === callId, 10_000, `final ${cseq}`);
    invite(1);
    const challenge = await final(1);
    assert.equal(statusOf(challenge), 401);
    invite(2, [
      authorization({ username: d.sipUsername, password: d.sipPassword, realm: h.config.sipRealm, nonce: nonceOf(challenge), uri, method: 'INVITE' }),
    ]);
    const ok = await final(2);
    assert.equal(statusOf(ok), 200, h.logTail(20));
    const toTag = tagOf(header(ok, 'To'));
    sip!.send(sipRequest({ method: 'ACK', uri, callId, fromTag: 'ph1', toTag, cseq: 2, from, viaHost }), PORTS.sip);
    await waitFor('the PIN prompt at the phone', () => rtp.received >= 5);
    return { uri, from, viaHost, toTag };
  }

  it('ends the call with a BYE, logs the crash, and the next call works on a new worker', async () => {
    const media = h.instance.media;
    assert.ok(media instanceof ThreadedMediaEngine, 'PAPGATE_MEDIA_THREAD=on composes the threaded engine');
    sip = await RawPeer.open();
    const d = await h.addDevice();
    await answeredCall(d, 'crash-1');
    assert.equal(h.mediaStats().sessions, 1);
    const first = media.worker!;
    await first.terminate();

    const bye = await sip.take((m) => m.startsWith('BYE ') && header(m, 'Call-ID') === 'crash-1', 15_000, "papgate's BYE after the crash");
    sip.send(okTo(bye), PORTS.sip);
    await h.mediaIdle();
    assert.match(h.logTail(200), /media worker stopped unexpectedly/);
    assert.deepEqual(await h.attempts(d.mac), [], 'no PIN attempt was counted');

    await answeredCall(d, 'crash-2');
    assert.ok(media.worker && media.worker.threadId !== first.threadId, 'the second call runs on a new worker');
    assert.equal(h.mediaStats().sessions, 1);
  });
});
