import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulaw } from 'alawmulaw';
import { NoCommonCodec } from '../../src/ports/media';
import { silentLogger } from '../../src/ports/logger';
import { EmbeddedMediaEngine, type RtpSession } from '../../src/media/embedded';
import { encodeTelephoneEvent } from '../../src/media/embedded/rfc4733';
import { decodeRtp, encodeRtp } from '../../src/media/embedded/rtp-packet';
import { SrtpReceiver, SrtpSender } from '../../src/media/embedded/srtp';
import type { SrtpPolicy } from '../../src/media/embedded/sdp';
import { freePortBlock } from '../helpers/ports';
import { writeTonePrompt } from '../helpers/tone-prompt';

// The embedded engine with SRTP over loopback UDP: a phone socket (OS-assigned
// port) speaks SRTP with the key it offered and the key papgate answered.
// Engine RTP ports: a free block of 20.
const HOST = '127.0.0.1';
const PHONE_KEY = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccdd', 'hex');
const SUITE = 'AES_CM_128_HMAC_SHA1_80';

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const savpOffer = (port: number, proto = 'RTP/SAVP', crypto = [`3 ${SUITE} inline:${PHONE_KEY.toString('base64')}`]) =>
  [
    'v=0',
    'o=phone 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} ${proto} 0 101`,
    'a=rtpmap:101 telephone-event/8000',
    ...crypto.map((c) => `a=crypto:${c}`),
    'a=sendrecv',
    '',
  ].join('\r\n');

function answeredKey(s: RtpSession): Buffer {
  const m = /^a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/]{40})\r$/m.exec(s.answerSdp);
  assert.ok(m, `answer with our a=crypto line:\n${s.answerSdp}`);
  return Buffer.from(m[1]!, 'base64');
}

/** Base of this file's free port block (freePortBlock in each suite's first hook). */
let B = 0;

describe('media embedded engine: SRTP over loopback UDP', function () {
  before(async () => {
    B ||= await freePortBlock(20);
  });
  this.timeout(20_000);
  const engines: EmbeddedMediaEngine[] = [];
  const sockets: dgram.Socket[] = [];
  const engine = (srtp: SrtpPolicy) => {
    const e = new EmbeddedMediaEngine({
      bindAddress: HOST,
      advertisedAddress: HOST,
      rtpPortMin: B + 0,
      rtpPortMax: B + 19,
      inactivityMs: 0,
      srtp,
      log: silentLogger,
    });
    engines.push(e);
    return e;
  };
  async function phoneSocket(): Promise<{ socket: dgram.Socket; port: number; received: Buffer[] }> {
    const socket = dgram.createSocket('udp4');
    sockets.push(socket);
    const received: Buffer[] = [];
    socket.on('message', (m) => received.push(m));
    await new Promise<void>((r) => socket.bind(0, HOST, () => r()));
    return { socket, port: socket.address().port, received };
  }
  const send = (socket: dgram.Socket, to: number, datagram: Buffer) => new Promise<void>((r) => socket.send(datagram, to, HOST, () => r()));
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-srtp-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
    for (const s of sockets.splice(0)) s.close();
  });

  it('sends SRTP under a fresh key of its own, and takes digits only from authentic, fresh packets', async () => {
    const e = engine('optional');
    const phone = await phoneSocket();
    const session = await e.createSession({ callId: 'c1', offerSdp: savpOffer(phone.port), signallingAddress: HOST });
    const other = await e.createSession({ callId: 'c2', offerSdp: savpOffer(phone.port), signallingAddress: HOST });
    session.play([writeTonePrompt(dir, 10)]); // sessions send only while a prompt plays
    const ourKey = answeredKey(session);
    assert.notDeepEqual(ourKey, PHONE_KEY, "papgate does not echo the phone's key");
    assert.notDeepEqual(ourKey, answeredKey(other), 'one key per call');
    await other.close();
    assert.match(session.answerSdp, /^m=audio \d+ RTP\/SAVP 0 101\r$/m);
    const rtpPort = Number(/m=audio (\d+)/.exec(session.answerSdp)![1]);
    const digits: string[] = [];
    session.on('digit', (d) => digits.push(d));

    // The phone's key press, protected with the phone's key; a copy with one payload bit flipped, then a replay.
    const tx = new SrtpSender(SUITE, PHONE_KEY);
    let seq = 100;
    const press = (event: number, ts: number) =>
      [
        [false, 160],
        [false, 320],
        [true, 480],
        [true, 480],
      ].map(([end, duration]) =>
        tx.protect(
          encodeRtp(
            { payloadType: 101, marker: duration === 160, sequenceNumber: seq++, timestamp: ts, ssrc: 0xabc },
            encodeTelephoneEvent({ event: event as number, end: end as boolean, volume: 10, duration: duration as number }),
          ),
        ),
      );
    const forged = press(7, 1000).map((p) => {
      const b = Buffer.from(p);
      b[13] = (b[13] as number) ^ 0x01;
      return b;
    });
    for (const p of forged) await send(phone.socket, rtpPort, p);
    await send(phone.socket, rtpPort, Buffer.from('garbage that is no packet at all'));
    await waitFor('forged packets counted', () => e.stats().srtpRejected >= 5);
    assert.deepEqual(digits, [], 'no digit from a forged packet');
    const genuine = press(5, 2000);
    for (const p of genuine) await send(phone.socket, rtpPort, p);
    await waitFor('digit 5', () => digits.length >= 1);
    const before = e.stats().srtpRejected;
    for (const p of genuine) await send(phone.socket, rtpPort, p); // replayed
    await waitFor('replays counted', () => e.stats().srtpRejected >= before + genuine.length);
    assert.deepEqual(digits, ['5']);
    assert.equal(session.srtpRejected, 5 + genuine.length);

    // What papgate sends: SRTP that only its answered key opens (the tone, in PCMU).
    const tone = Buffer.from(mulaw.encode(Int16Array.from({ length: 160 }, () => 3000)));
    const srtp = await waitFor('papgate packets', () => phone.received.length >= 3 && phone.received);
    const rx = new SrtpReceiver(SUITE, ourKey);
    for (const wire of srtp.slice(0, 3)) {
      const plain = rx.unprotect(wire);
      assert.ok(plain.ok, plain.ok ? '' : plain.reason);
      const packet = decodeRtp(plain.packet);
      assert.ok(packet.ok);
      assert.deepEqual(packet.packet.payload, tone, 'decrypted: the tone in PCMU');
      assert.notDeepEqual(wire.subarray(12, 172), tone, 'on the wire: not the tone');
    }
    assert.equal(new SrtpReceiver(SUITE, PHONE_KEY).unprotect(srtp[3] ?? srtp[0]!).ok, false, "the phone's own key does not open them");
  });

  it('a forged packet from the SIP source does not latch the session; plain RTP on an SRTP call is dropped', async () => {
    const e = engine('required');
    const phone = await phoneSocket();
    const nat = await phoneSocket(); // same IP, another port: would move the peer if it latched
    const session = await e.createSession({ callId: 'c3', offerSdp: savpOffer(phone.port), signallingAddress: HOST });
    const rtpPort = Number(/m=audio (\d+)/.exec(session.answerSdp)![1]);
    const digits: string[] = [];
    session.on('digit', (d) => digits.push(d));
    await send(
      nat.socket,
      rtpPort,
      encodeRtp(
        { payloadType: 101, marker: true, sequenceNumber: 1, timestamp: 1, ssrc: 1 },
        encodeTelephoneEvent({ event: 1, end: true, volume: 10, duration: 800 }),
      ),
    );
    await waitFor('plain packet dropped', () => session.srtpRejected >= 1);
    assert.deepEqual(session.remoteAddress, { address: HOST, port: phone.port }, 'not latched by the plain packet');
    assert.deepEqual(digits, []);
  });

  it('required refuses a plain RTP offer, off refuses RTP/SAVP, optional refuses SAVP without a usable key: 488 before a port is taken', async () => {
    const phone = await phoneSocket();
    const plain = savpOffer(phone.port, 'RTP/AVP', []);
    await assert.rejects(engine('required').createSession({ callId: 'r', offerSdp: plain }), NoCommonCodec);
    await assert.rejects(engine('off').createSession({ callId: 'o', offerSdp: savpOffer(phone.port) }), NoCommonCodec);
    await assert.rejects(
      engine('optional').createSession({ callId: 'k', offerSdp: savpOffer(phone.port, 'RTP/SAVP', ['1 AES_CM_128_HMAC_SHA1_80 inline:short']) }),
      NoCommonCodec,
    );
    const s = await engine('optional').createSession({ callId: 'p', offerSdp: plain });
    assert.doesNotMatch(s.answerSdp, /crypto|SAVP/, 'plain offer, optional: plain answer');
    assert.equal(
      engines.reduce((n, x) => n + x.stats().sessions, 0),
      1,
    );
  });
});
