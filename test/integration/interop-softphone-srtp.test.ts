import assert from 'node:assert/strict';
import { decodeRtp } from '../../src/media/embedded/rtp-packet';
import { SrtpReceiver } from '../../src/media/embedded/srtp';
import { startPapgateHarness, type PapgateHarness } from '../helpers/papgate-harness';
import { dumpcapMissing, startLoopbackCapture, type CapturedDatagram, type LoopbackCapture } from '../helpers/loopback-capture';
import { requireTool } from '../helpers/required-tools';
import { baresipSrtpMissing, startBaresip, type Baresip, type TracedSipMessage } from '../helpers/softphone';

// A real soft-phone (baresip with its srtp module, `mediaenc=srtp-mand`: an
// RTP/SAVP offer with SDES keys) calls *89 over UDP and types its PAP as RFC
// 4733 events inside SRTP. dumpcap records papgate's RTP ports on lo during
// the call: the events cannot be read from the capture, yet the keys the two
// sides exchanged in SIP open the very same packets and show the PAP, so the
// capture did hold the key presses, encrypted. With PAPGATE_SRTP=required a
// plain-RTP phone gets 488.
//
// Ports (127.0.0.1): papgate SIP 20200, RTP 20320-20339; phones 20210-20229 and 20230-20249.
const PAPGATE_SIP = 20200;
const RTP_MIN = 20320;
const RTP_MAX = 20339;
const PHONE_SRTP = 20210;
const PHONE_PLAIN = 20230;
const EVENT_CODES = '0123456789*#';

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, h: PapgateHarness, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms\n--- papgate log ---\n${h.logTail(40)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The SDES key (30 bytes) and suite of the one a=crypto line in a traced SIP message's SDP. */
function sdesKey(m: TracedSipMessage): { suite: 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32'; key: Buffer } {
  const line = /^a=crypto:\d+ (AES_CM_128_HMAC_SHA1_(?:80|32)) inline:([A-Za-z0-9+/]{40})/m.exec(m.text);
  assert.ok(line, `an a=crypto line in:\n${m.text}`);
  return { suite: line[1] as 'AES_CM_128_HMAC_SHA1_80', key: Buffer.from(line[2]!, 'base64') };
}

/** Key presses read from RFC 4733 packets: one digit per event timestamp (first packet of each). */
function digitsOf(packets: Buffer[], eventPt: number): string {
  const seen = new Map<number, string>();
  for (const p of packets) {
    const d = decodeRtp(p);
    if (!d.ok || d.packet.payloadType !== eventPt || d.packet.payload.length < 4) continue;
    if (!seen.has(d.packet.timestamp)) seen.set(d.packet.timestamp, EVENT_CODES[d.packet.payload[0]!] ?? '?');
  }
  return [...seen.values()].join('');
}

describe('interop: baresip calls *89 with SRTP (SDES) and types its PAP; the capture shows no readable DTMF', function () {
  this.timeout(90_000);
  let h: PapgateHarness | undefined;
  let phone: Baresip | undefined;
  let capture: LoopbackCapture | undefined;

  before(async function () {
    requireTool(this, 'baresip', 'a real soft-phone speaks SRTP to papgate', baresipSrtpMissing());
    requireTool(this, 'tshark', 'the IVR call\'s RTP is captured on lo', dumpcapMissing());
  });
  afterEach(async () => {
    await capture?.stop().catch(() => undefined); // already stopped by the test, or the test failed: nothing to read
    capture = undefined;
    await phone?.stop();
    phone = undefined;
    await h?.stop();
    h = undefined;
  });

  async function registered(harness: PapgateHarness, basePort: number, mediaenc?: 'srtp-mand') {
    const d = await harness.addDevice();
    const p = await startBaresip({
      username: d.sipUsername, password: d.sipPassword, registrar: `127.0.0.1:${PAPGATE_SIP}`, basePort, ...(mediaenc ? { mediaenc } : {}),
    });
    phone = p;
    await until(() => harness.instance.signalling!.registration(d.sipUsername), 'REGISTER accepted by papgate', harness)
      .catch((e: Error) => { throw new Error(`${e.message}\n--- baresip ---\n${p.output()}`); });
    return { d, p };
  }

  it('RTP/SAVP offer: SRTP answer, PAP typed inside SRTP authenticates; the captured events are unreadable without the keys', async () => {
    const harness = await startPapgateHarness({
      gatewayPort: null,
      env: { PAPGATE_SIP_PORT: String(PAPGATE_SIP), PAPGATE_RTP_PORT_MIN: String(RTP_MIN), PAPGATE_RTP_PORT_MAX: String(RTP_MAX), PAPGATE_SRTP: 'required' },
    });
    h = harness;
    const { d, p } = await registered(harness, PHONE_SRTP, 'srtp-mand');
    capture = await startLoopbackCapture(`udp and portrange ${RTP_MIN}-${RTP_MAX}`);

    const callId = await p.dial('*89');
    await p.waitEvent('CALL_RTPESTAB', (e) => e.id === callId);
    await p.sendDigits(`${d.pap}#`);
    await p.waitEvent('CALL_CLOSED', (e) => e.id === callId, 20_000);
    await until(async () => ((await harness.device(d.mac)).state === 'successful' ? true : undefined), 'device successful', harness);
    const datagrams = await capture.stop();
    capture = undefined;

    const ofCall = (m: TracedSipMessage) => m.headers['call-id'] === callId;
    const invite = p.sipTrace().find((m) => ofCall(m) && m.direction === 'out' && m.method === 'INVITE' && /a=crypto:/.test(m.text));
    const ok = p.sipTrace().find((m) => ofCall(m) && m.direction === 'in' && m.status === 200 && /INVITE/.test(m.headers.cseq ?? ''));
    assert.ok(invite && ok, 'the phone\'s INVITE with SDES and papgate\'s 200 OK are in the trace');
    assert.match(invite.text, /^m=audio \d+ RTP\/SAVP /m);
    assert.match(ok.text, /^m=audio \d+ RTP\/SAVP /m, 'papgate answered RTP/SAVP');
    const phoneKey = sdesKey(invite);
    const papgateKey = sdesKey(ok);
    assert.notDeepEqual(phoneKey.key, papgateKey.key);
    const eventPt = Number(/^a=rtpmap:(\d+) telephone-event\/8000/m.exec(invite.text)?.[1]);
    assert.ok(eventPt > 0, 'the offer names telephone-event');

    const papgateRtp = Number(/^m=audio (\d+)/m.exec(ok.text)![1]);
    const fromPhone = datagrams.filter((g: CapturedDatagram) => g.dstPort === papgateRtp).map((g) => g.payload);
    const toPhone = datagrams.filter((g: CapturedDatagram) => g.srcPort === papgateRtp).map((g) => g.payload);
    assert.ok(fromPhone.length > 20 && toPhone.length > 20, `RTP both ways captured (${fromPhone.length} in, ${toPhone.length} out)`);

    // Read naively, as anyone on the path would: no PAP.
    const naive = digitsOf(fromPhone, eventPt);
    assert.ok(naive.length > 0, 'telephone-event packets were captured (their RTP header is clear)');
    assert.ok(!naive.includes(d.pap!), `the PAP cannot be read from the capture (${naive.length} events, read as "${naive}")`);
    // With the phone's key from its offer, the same packets give the PAP: the capture held it, encrypted.
    const rx = new SrtpReceiver(phoneKey.suite, phoneKey.key);
    const opened = fromPhone.map((w) => rx.unprotect(w)).flatMap((r) => (r.ok ? [r.packet] : []));
    assert.equal(opened.length, fromPhone.length, 'every captured packet from the phone is SRTP under its offered key');
    assert.equal(digitsOf(opened, eventPt), `${d.pap}#`);
    // Audio both ways: what crossed the wire is not the plain payload.
    const audio = opened.filter((o) => decodeRtp(o).ok && (decodeRtp(o) as { packet: { payloadType: number } }).packet.payloadType === 0);
    assert.ok(audio.length > 0, 'the phone\'s audio was captured');
    const prx = new SrtpReceiver(papgateKey.suite, papgateKey.key);
    const papgateOpened = toPhone.map((w) => ({ w, r: prx.unprotect(w) }));
    assert.ok(papgateOpened.every((x) => x.r.ok), 'papgate sent only SRTP under its answered key');
    for (const { w, r } of papgateOpened.slice(0, 20)) {
      assert.ok(r.ok);
      assert.notDeepEqual(w.subarray(12, r.packet.length), r.packet.subarray(12), 'ciphertext differs from the plain payload');
    }
    assert.equal(harness.mediaStats().srtpRejected, 0, 'no packet of the phone was rejected');
    assert.deepEqual((await harness.attempts(d.mac)).map((e) => e.outcome), ['success']);
  });

  it('PAPGATE_SRTP=required: a plain RTP/AVP offer gets 488 and no PAP dialogue', async () => {
    const harness = await startPapgateHarness({
      gatewayPort: null,
      env: { PAPGATE_SIP_PORT: String(PAPGATE_SIP), PAPGATE_RTP_PORT_MIN: String(RTP_MIN), PAPGATE_RTP_PORT_MAX: String(RTP_MAX), PAPGATE_SRTP: 'required' },
    });
    h = harness;
    const { d, p } = await registered(harness, PHONE_PLAIN);
    await assert.rejects(p.dial('*89'), /failed/);
    const rejected = await p.waitSip((m) => m.direction === 'in' && m.status === 488, '488 at the phone');
    assert.match(rejected.headers.cseq ?? '', /INVITE/);
    assert.equal(harness.mediaStats().sessions, 0);
    assert.deepEqual(await harness.attempts(d.mac), []);
  });
});
