import assert from 'node:assert/strict';
import { decodeRtp } from '../../src/media/embedded/rtp-packet';
import { SrtpReceiver } from '../../src/media/embedded/srtp';
import { startPapgateHarness, until, type PapgateHarness } from '../helpers/papgate-harness';
import { dumpcapMissing, eventDigits, startLoopbackCapture, type CapturedDatagram, type LoopbackCapture } from '../helpers/loopback-capture';
import { requireTool } from '../helpers/required-tools';
import { RawPeer } from '../helpers/sip-raw-peer';
import { baresipSrtpMissing, startBaresip, type Baresip, type TracedSipMessage } from '../helpers/softphone';
import { portLayout } from '../helpers/ports';

// A real soft-phone (baresip with its srtp module, `mediaenc=srtp-mand`: an
// RTP/SAVP offer with SDES keys) calls *89 over UDP and types its PAP as RFC
// 4733 events inside SRTP. dumpcap records papgate's RTP ports on lo during
// the call: the events cannot be read from the capture, yet the keys the two
// sides exchanged in SIP open the very same packets and show the PAP, so the
// capture did hold the key presses, encrypted. With PAPGATE_SRTP=required a
// plain-RTP phone gets 488, while an emergency call, SRTP or not, still goes
// to the gateway with its offer untouched (media flows phone <-> gateway).
//
// Ports (127.0.0.1), offsets in one free block: papgate SIP +0, RTP +120..139;
// phones +10..29 and +30..49; the gateway's SIP is OS-assigned, its SDP names
// port 9 (discard; nothing listens there).
const GATEWAY_MEDIA = 9;
const GATEWAY_KEY = Buffer.alloc(30, 0x5a).toString('base64');

/** The SDP lines of a SIP message's body, line ends normalised (baresip's trace may print its own log after it). */
function bodyOf(text: string): string {
  const lines = text.replace(/\r\n/g, '\n').split('\n\n').slice(1).join('\n\n').split('\n');
  const end = lines.findIndex((l) => !/^[a-z]=/.test(l));
  return (end < 0 ? lines : lines.slice(0, end)).join('\n');
}

/** A response to `rq` echoing its Vias, From, To (with our tag), Call-ID and CSeq. */
function gatewayResponse(rq: string, status: string, gatewayPort: number, sdp = ''): string {
  const head = rq.split('\r\n\r\n', 1)[0]!.split('\r\n');
  const copied = head.filter((l) => /^(via|v|from|f|call-id|i|cseq)\s*:/i.test(l));
  const to = head.find((l) => /^(to|t)\s*:/i.test(l))!;
  return [
    `SIP/2.0 ${status}`,
    ...copied,
    /;tag=/.test(to) ? to : `${to};tag=gw1`,
    `Contact: <sip:gateway@127.0.0.1:${gatewayPort}>`,
    ...(sdp ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(sdp)}`,
    '',
    sdp,
  ].join('\r\n');
}

/** The gateway's answer: the same transport the phone offered (RTP/SAVP with its own key, or plain). */
function gatewayAnswer(offer: string): string {
  const savp = /^m=audio \d+ RTP\/SAVP/m.test(offer);
  const tag = /^a=crypto:(\d+) AES_CM_128_HMAC_SHA1_80 /m.exec(offer)?.[1] ?? '1';
  return [
    'v=0',
    'o=gateway 1 1 IN IP4 127.0.0.1',
    's=emergency-gateway',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${GATEWAY_MEDIA} RTP/${savp ? 'SAVP' : 'AVP'} 0`,
    'a=rtpmap:0 PCMU/8000',
    ...(savp ? [`a=crypto:${tag} AES_CM_128_HMAC_SHA1_80 inline:${GATEWAY_KEY}`] : []),
    '',
  ].join('\r\n');
}

/** The SDES key (30 bytes) and suite of the one a=crypto line in a traced SIP message's SDP. */
function sdesKey(m: TracedSipMessage): { suite: 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32'; key: Buffer } {
  const line = /^a=crypto:\d+ (AES_CM_128_HMAC_SHA1_(?:80|32)) inline:([A-Za-z0-9+/]{40})/m.exec(m.text);
  assert.ok(line, `an a=crypto line in:\n${m.text}`);
  return { suite: line[1] as 'AES_CM_128_HMAC_SHA1_80', key: Buffer.from(line[2]!, 'base64') };
}

let PAPGATE_SIP = 0,
  PHONE_SRTP = 0,
  PHONE_PLAIN = 0,
  RTP_MIN = 0,
  RTP_MAX = 0; // from portLayout() in the suite's first hook

describe('interop: baresip with SRTP (SDES): the PAP inside SRTP, PAPGATE_SRTP=required, emergency calls', function () {
  before(async () => {
    ({ PAPGATE_SIP, PHONE_SRTP, PHONE_PLAIN, RTP_MIN, RTP_MAX } = await portLayout({
      PAPGATE_SIP: 0,
      PHONE_SRTP: 10,
      PHONE_PLAIN: 30,
      RTP_MIN: 120,
      RTP_MAX: 139,
    }));
  });
  this.timeout(90_000);
  let h: PapgateHarness | undefined;
  let phone: Baresip | undefined;
  let capture: LoopbackCapture | undefined;

  before(async function () {
    requireTool(this, 'baresip', 'a real soft-phone speaks SRTP to papgate', baresipSrtpMissing());
    requireTool(this, 'tshark', "the IVR call's RTP is captured on lo", dumpcapMissing());
  });
  let gateway: RawPeer | undefined;
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    await capture?.stop().catch(() => undefined); // already stopped by the test, or the test failed: nothing to read
    capture = undefined;
    await phone?.stop();
    phone = undefined;
    await h?.stop();
    h = undefined;
  });

  async function registered(harness: PapgateHarness, basePort: number, mediaenc?: 'srtp' | 'srtp-mand') {
    const d = await harness.addDevice();
    const p = await startBaresip({
      username: d.sipUsername,
      password: d.sipPassword,
      registrar: `127.0.0.1:${PAPGATE_SIP}`,
      basePort,
      ...(mediaenc ? { mediaenc } : {}),
    });
    phone = p;
    await until(() => harness.instance.signalling!.registration(d.sipUsername), 'REGISTER accepted by papgate', harness).catch((e: Error) => {
      throw new Error(`${e.message}\n--- baresip ---\n${p.output()}`);
    });
    return { d, p };
  }

  it('RTP/SAVP offer: SRTP answer, PAP typed inside SRTP authenticates; the captured events are unreadable without the keys', async () => {
    const harness = await startPapgateHarness({
      gatewayPort: null,
      env: {
        PAPGATE_SIP_PORT: String(PAPGATE_SIP),
        PAPGATE_RTP_PORT_MIN: String(RTP_MIN),
        PAPGATE_RTP_PORT_MAX: String(RTP_MAX),
        PAPGATE_SRTP: 'required',
        PAPGATE_LOG_LEVEL: 'trace',
      },
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
    assert.ok(invite && ok, "the phone's INVITE with SDES and papgate's 200 OK are in the trace");
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
    // papgate sends only while a prompt plays (cut here by the first digit, then the verdict): fewer packets out than in.
    assert.ok(fromPhone.length > 20 && toPhone.length >= 10, `RTP both ways captured (${fromPhone.length} in, ${toPhone.length} out)`);

    // Read naively, as anyone on the path would: no PAP.
    const naive = eventDigits(fromPhone, eventPt);
    assert.ok(naive.length > 0, 'telephone-event packets were captured (their RTP header is clear)');
    assert.ok(!naive.includes(d.pap!), `the PAP cannot be read from the capture (${naive.length} events, read as "${naive}")`);
    // With the phone's key from its offer, the same packets give the PAP: the capture held it, encrypted.
    const rx = new SrtpReceiver(phoneKey.suite, phoneKey.key);
    const opened = fromPhone.map((w) => rx.unprotect(w)).flatMap((r) => (r.ok ? [r.packet] : []));
    assert.equal(opened.length, fromPhone.length, 'every captured packet from the phone is SRTP under its offered key');
    assert.equal(eventDigits(opened, eventPt), `${d.pap}#`);
    // Audio both ways: what crossed the wire is not the plain payload.
    const audio = opened.filter((o) => decodeRtp(o).ok && (decodeRtp(o) as { packet: { payloadType: number } }).packet.payloadType === 0);
    assert.ok(audio.length > 0, "the phone's audio was captured");
    const prx = new SrtpReceiver(papgateKey.suite, papgateKey.key);
    const papgateOpened = toPhone.map((w) => ({ w, r: prx.unprotect(w) }));
    assert.ok(
      papgateOpened.every((x) => x.r.ok),
      'papgate sent only SRTP under its answered key',
    );
    for (const { w, r } of papgateOpened.slice(0, 20)) {
      assert.ok(r.ok);
      assert.notDeepEqual(w.subarray(12, r.packet.length), r.packet.subarray(12), 'ciphertext differs from the plain payload');
    }
    assert.equal(harness.mediaStats().srtpRejected, 0, 'no packet of the phone was rejected');
    assert.deepEqual(
      (await harness.attempts(d.mac)).map((e) => e.outcome),
      ['success'],
    );
    const log = harness.logTail(1_000_000);
    assert.match(log, /AES_CM_128_HMAC_SHA1_80/, 'the log names the suite');
    for (const key of [phoneKey.key, papgateKey.key]) {
      for (const text of [key.toString('base64'), key.toString('base64').slice(0, 20), key.toString('hex')])
        assert.ok(!log.includes(text), "no SDES key in papgate's log (trace level)");
    }
  });

  it('"SRTP if possible" (RTP/AVP with a=crypto, baresip mediaenc=srtp), default setting: SRTP on RTP/AVP, PAP accepted', async () => {
    const harness = await startPapgateHarness({
      gatewayPort: null,
      env: { PAPGATE_SIP_PORT: String(PAPGATE_SIP), PAPGATE_RTP_PORT_MIN: String(RTP_MIN), PAPGATE_RTP_PORT_MAX: String(RTP_MAX) },
    });
    h = harness;
    const { d, p } = await registered(harness, PHONE_SRTP, 'srtp');
    const callId = await p.dial('*89');
    await p.waitEvent('CALL_RTPESTAB', (e) => e.id === callId);
    await p.sendDigits(`${d.pap}#`);
    await p.waitEvent('CALL_CLOSED', (e) => e.id === callId, 20_000);
    await until(async () => ((await harness.device(d.mac)).state === 'successful' ? true : undefined), 'device successful', harness);
    const ok = p.sipTrace().find((m) => m.headers['call-id'] === callId && m.direction === 'in' && m.status === 200 && /INVITE/.test(m.headers.cseq ?? ''));
    assert.ok(ok, "papgate's 200 OK");
    assert.match(ok.text, /^m=audio \d+ RTP\/AVP /m);
    sdesKey(ok); // papgate answered with its own key
    assert.match(p.output(100_000), /SRTP is Enabled/, 'baresip switched its stream to SRTP');
    assert.equal(harness.mediaStats().srtpRejected, 0);
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

  it('PAPGATE_SRTP=required never blocks an emergency call: SRTP and plain offers reach the gateway unchanged, answers come back unchanged', async () => {
    gateway = await RawPeer.open();
    const gw = gateway;
    const harness = await startPapgateHarness({
      gatewayPort: gw.port,
      env: { PAPGATE_SIP_PORT: String(PAPGATE_SIP), PAPGATE_RTP_PORT_MIN: String(RTP_MIN), PAPGATE_RTP_PORT_MAX: String(RTP_MAX), PAPGATE_SRTP: 'required' },
    });
    h = harness;
    for (const [mediaenc, basePort] of [
      ['srtp-mand', PHONE_SRTP],
      [undefined, PHONE_PLAIN],
    ] as const) {
      const { p } = await registered(harness, basePort, mediaenc);
      const relayed = (async () => {
        const invite = await gw.request('INVITE', 15_000);
        const sdp = gatewayAnswer(invite.split('\r\n\r\n')[1] ?? '');
        gw.send(gatewayResponse(invite, '200 OK', gw.port, sdp), PAPGATE_SIP);
        await gw.request('ACK', 10_000);
        return { invite, sdp };
      })();
      const callId = await p.dial('112');
      const { invite, sdp } = await relayed;
      const sent = p.sipTrace().find((m) => m.headers['call-id'] === callId && m.direction === 'out' && m.method === 'INVITE' && /m=audio/.test(m.text));
      assert.ok(sent, "the phone's INVITE with its offer");
      assert.equal(bodyOf(invite), bodyOf(sent.text), `${mediaenc ?? 'plain'}: the gateway got the phone's offer byte for byte`);
      assert.equal(/a=crypto:/.test(bodyOf(invite)), mediaenc !== undefined);
      const answer = p
        .sipTrace()
        .find((m) => m.headers['call-id'] === callId && m.direction === 'in' && m.status === 200 && /INVITE/.test(m.headers.cseq ?? ''));
      assert.ok(answer, 'the relayed 200 OK at the phone');
      assert.equal(bodyOf(answer.text), sdp.replace(/\r\n/g, '\n').trim(), "the gateway's answer reached the phone unchanged");
      await p.command('hangup');
      const bye = await gw.request('BYE', 10_000);
      gw.send(gatewayResponse(bye, '200 OK', gw.port), PAPGATE_SIP);
      await p.waitEvent('CALL_CLOSED', (e) => e.id === callId);
      await phone?.stop();
      phone = undefined;
    }
    assert.equal(harness.mediaStats().sessions, 0, 'no IVR media session for an emergency call');
  });
});
