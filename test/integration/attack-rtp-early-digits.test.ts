import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { encodeTelephoneEvent } from '../../src/media/embedded/rfc4733';
import { encodeRtp } from '../../src/media/embedded/rtp-packet';
import { PORTS, startPapgateHarness, type PapgateHarness } from '../helpers/papgate-harness';
import { RawPeer, authorization, header, nonceOf, sipRequest, statusOf, tagOf } from '../helpers/sip-raw-peer';

// A whole IVR call (papgate in-process, SIP on 127.0.0.1:PORTS.sip/UDP) while an
// off-path attacker on 127.0.0.2 sprays three wrong PINs as RFC 4733 events at
// the call's RTP port before the phone's first packet: none of them counts,
// so the phone's own PIN, typed afterwards, is the one and only attempt.

const TE_PT = 101;

async function udp(address: string): Promise<dgram.Socket & { received: number }> {
  const s = Object.assign(dgram.createSocket('udp4'), { received: 0 });
  s.on('message', () => {
    s.received++;
  });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, address, () => resolve());
  });
  return s;
}

/** One key press as phones send it (3 updates, 3 end repeats), all on timestamp `ts`. */
function keyPress(digit: string, ts: number, seq: number): Buffer[] {
  const event = '0123456789*#'.indexOf(digit);
  return (
    [
      [false, 160],
      [false, 320],
      [false, 480],
      [true, 640],
      [true, 640],
      [true, 640],
    ] as const
  ).map(([end, duration], i) =>
    encodeRtp(
      { payloadType: TE_PT, marker: i === 0, sequenceNumber: (seq + i) & 0xffff, timestamp: ts, ssrc: 0xabc },
      encodeTelephoneEvent({ event, end, volume: 10, duration }),
    ),
  );
}

const sendAll = (s: dgram.Socket, packets: Buffer[], port: number) =>
  Promise.all(packets.map((p) => new Promise<void>((r) => s.send(p, port, '127.0.0.1', () => r()))));

describe("attack: RFC 4733 digits from another address before the phone's first RTP packet", function () {
  this.timeout(60_000);
  let h: PapgateHarness;
  const sockets: dgram.Socket[] = [];
  let sip: RawPeer | undefined;

  before(async () => {
    h = await startPapgateHarness();
  });
  after(async () => {
    for (const s of sockets) await new Promise<void>((r) => s.close(() => r()));
    await sip?.close();
    await h?.stop();
  });

  it("types nothing: the phone's own PIN afterwards is the only attempt, and it succeeds", async () => {
    const d = await h.addDevice();
    sip = await RawPeer.open();
    const ear = await udp('127.0.0.1');
    const attacker = await udp('127.0.0.2');
    sockets.push(ear, attacker);
    const uri = 'sip:*89@127.0.0.1';
    const offer = [
      'v=0',
      'o=phone 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${ear.address().port} RTP/AVP 0 101`,
      'a=rtpmap:101 telephone-event/8000',
      '',
    ].join('\r\n');
    const invite = (cseq: number, extra: string[] = []) =>
      sip!.send(
        sipRequest({
          method: 'INVITE',
          uri,
          callId: 'early-digits',
          fromTag: 'ph1',
          cseq,
          branch: `z9hG4bKearly${cseq}`,
          from: `sip:${d.sipUsername}@127.0.0.1`,
          viaHost: `127.0.0.1:${sip!.port}`,
          contact: `sip:${d.sipUsername}@127.0.0.1:${sip!.port}`,
          body: offer,
          extra,
        }),
        PORTS.sip,
      );
    const final = (cseq: number) => sip!.take((m) => (statusOf(m) ?? 0) >= 200 && header(m, 'CSeq') === `${cseq} INVITE`, 10_000, `final ${cseq}`);
    invite(1);
    const challenge = await final(1);
    assert.equal(statusOf(challenge), 401);
    invite(2, [
      authorization({ username: d.sipUsername, password: d.sipPassword, realm: h.config.sipRealm, nonce: nonceOf(challenge), uri, method: 'INVITE' }),
    ]);
    const ok = await final(2);
    assert.equal(statusOf(ok), 200);
    const rtpPort = Number(/m=audio (\d+)/.exec(ok.split('\r\n\r\n')[1] ?? '')?.[1]);
    sip.send(
      sipRequest({
        method: 'ACK',
        uri,
        callId: 'early-digits',
        fromTag: 'ph1',
        toTag: tagOf(header(ok, 'To')),
        cseq: 2,
        from: `sip:${d.sipUsername}@127.0.0.1`,
        viaHost: `127.0.0.1:${sip.port}`,
      }),
      PORTS.sip,
    );
    // The PIN prompt reaches the phone's SDP address (the SIP came from there): the IVR listens now.
    await waitFor('the PIN prompt at the phone', () => ear.received >= 5);

    const wrong = d.pap === '000000' ? '111111#' : '000000#';
    const spray: Buffer[] = [];
    for (let round = 0; round < 3; round++) {
      [...wrong].forEach((digit, i) => spray.push(...keyPress(digit, 10_000 + (round * 8 + i) * 1600, spray.length)));
    }
    await sendAll(attacker, spray, rtpPort);
    const mine: Buffer[] = [];
    [...`${d.pap}#`].forEach((digit, i) => mine.push(...keyPress(digit, 900_000 + i * 1600, 30_000 + mine.length)));
    await sendAll(ear, mine, rtpPort);

    await sip.take((m) => m.startsWith('BYE '), 15_000, "papgate's BYE after the PIN");
    const attempts = await h.attempts(d.mac);
    assert.deepEqual(
      attempts.map((a) => a.outcome),
      ['success'],
      "one attempt: the phone's own",
    );
    assert.equal((await h.device(d.mac)).state, 'successful');
    assert.equal(attacker.received, 0, 'nothing was sent to the attacker');
  });
});

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
