import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fc from 'fast-check';
import type { Logger } from '../../src/ports/logger';
import { EmbeddedMediaEngine } from '../../src/media/embedded';
import { encodeTelephoneEvent } from '../../src/media/embedded/rfc4733';
import { decodeRtp, encodeRtp } from '../../src/media/embedded/rtp-packet';
import { FUZZ_SEED } from '../helpers/fuzz-sdp';
import { freePortBlock } from '../helpers/ports';

// Seeded fuzzing of a live RTP session over loopback UDP: garbage, broken RTP
// headers and RFC 4733 packets that are not a valid key event, all sent from
// the latched phone's own address (the one source the session listens to).
// The session must never fail on a packet and must type no digit from them;
// a real key press afterwards still counts. Engine on 127.0.0.1, ports B..B+19
// of this file's free block, the phone on B+20.

const HOST = '127.0.0.1';
const TE_PT = 101;
const DATAGRAMS = 6000; // not a port
const BATCH = 200;

/** What the session would take as an RFC 4733 key event (the one thing that may type a digit). */
function isKeyEvent(buf: Buffer): boolean {
  const d = decodeRtp(buf);
  return d.ok && d.packet.payloadType === TE_PT && d.packet.payload.length >= 4 && (d.packet.payload[0] as number) < 16;
}

const header = (o: { pt: number; seq: number; ts: number; marker: boolean; ssrc: number }) => ({
  payloadType: o.pt,
  marker: o.marker,
  sequenceNumber: o.seq,
  timestamp: o.ts,
  ssrc: o.ssrc,
});
const rtpFields = fc.record({
  pt: fc.integer({ min: 0, max: 127 }),
  seq: fc.integer({ min: 0, max: 0xffff }),
  ts: fc.nat(),
  marker: fc.boolean(),
  ssrc: fc.nat(),
});
const keyPress = fc.record({
  event: fc.integer({ min: 0, max: 15 }),
  end: fc.boolean(),
  volume: fc.integer({ min: 0, max: 63 }),
  duration: fc.integer({ min: 0, max: 0xffff }),
});

/** Bit flips, truncation and bad length fields over a valid key-event packet. */
const brokenKeyEvent = fc.tuple(rtpFields, keyPress, fc.integer({ min: 0, max: 5 }), fc.nat(), fc.nat()).map(([f, ev, kind, a, b]) => {
  const pkt = encodeRtp(header({ ...f, pt: TE_PT }), encodeTelephoneEvent(ev));
  switch (kind) {
    case 0:
      pkt[0] = (pkt[0]! & 0x3f) | ((a % 3) << 6);
      break; // version 0, 1 or 2... flipped away from 2 below
    case 1:
      pkt[0] = (pkt[0]! & 0xf0) | (1 + (a % 15));
      break; // CSRC count larger than the packet
    case 2:
      pkt[0] = pkt[0]! | 0x10;
      break; // extension bit, no extension
    case 3:
      pkt[0] = pkt[0]! | 0x20;
      pkt[pkt.length - 1] = 1 + (a % 255);
      break; // padding that lies
    case 4:
      return pkt.subarray(0, a % 16); // truncated
    default:
      pkt[12 + (a % 4)] ^= 1 << (b % 8); // one bit of the event flipped
  }
  if (kind === 0 && pkt[0]! >> 6 === 2) pkt[0] = pkt[0]! & 0x3f;
  return pkt;
});

const garbage: fc.Arbitrary<Buffer> = fc
  .oneof(
    fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
    fc.tuple(rtpFields, fc.uint8Array({ maxLength: 300 })).map(([f, p]) => encodeRtp(header(f), p)),
    fc.tuple(rtpFields, fc.uint8Array({ maxLength: 3 })).map(([f, p]) => encodeRtp(header({ ...f, pt: TE_PT }), p)),
    fc
      .tuple(rtpFields, fc.integer({ min: 16, max: 255 }), fc.uint8Array({ minLength: 3, maxLength: 20 }))
      .map(([f, event, rest]) => encodeRtp(header({ ...f, pt: TE_PT }), Buffer.concat([Buffer.from([event]), rest]))),
    fc.tuple(rtpFields, fc.uint8Array({ minLength: 160, maxLength: 160 })).map(([f, p]) => encodeRtp(header({ ...f, pt: 0 }), p)),
    brokenKeyEvent,
  )
  .filter((b) => !isKeyEvent(b));

/** Base of this file's free port block (freePortBlock in each suite's first hook). */
let B = 0;

describe('attack: RTP and RFC 4733 packets to a live session (seeded fuzzer)', function () {
  before(async () => {
    B ||= await freePortBlock(40);
  });
  this.timeout(90_000);
  let engine: EmbeddedMediaEngine;
  let phone: dgram.Socket;

  afterEach(async () => {
    await engine?.close();
    await new Promise<void>((r) => (phone ? phone.close(() => r()) : r()));
  });

  it(`never fails on a packet and types no digit from ${DATAGRAMS} packets that are no key event`, async () => {
    const failures: string[] = [];
    const log: Logger = {
      debug() {},
      info() {},
      error(o, m) {
        failures.push(`${JSON.stringify(o)} ${m ?? ''}`);
      },
      warn(o, m) {
        if (/handling failed|listener threw/.test(String(m))) failures.push(`${JSON.stringify(o)} ${m ?? ''}`);
      },
      child() {
        return log;
      },
    };
    engine = new EmbeddedMediaEngine({ bindAddress: HOST, advertisedAddress: HOST, rtpPortMin: B + 0, rtpPortMax: B + 19, inactivityMs: 0, log });
    phone = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => phone.bind(B + 20, HOST, () => resolve()));
    const offer = [
      'v=0',
      'o=phone 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${B + 20} RTP/AVP 0 101`,
      'a=rtpmap:101 telephone-event/8000',
      '',
    ].join('\r\n');
    const session = await engine.createSession({ callId: 'fuzz', offerSdp: offer, signallingAddress: HOST });
    const digits: string[] = [];
    session.on('digit', (d) => digits.push(d));
    const to = session.port;
    const send = (buf: Buffer) => new Promise<void>((r) => phone.send(buf, to, HOST, () => r()));
    const seen = () => engine.stats().packetsReceived + session.badPackets + session.foreignPackets;

    await send(encodeRtp(header({ pt: 0, seq: 1, ts: 0, marker: false, ssrc: 7 }), Buffer.alloc(160, 0xff))); // latch
    const packets = fc.sample(garbage, { seed: FUZZ_SEED, numRuns: DATAGRAMS });
    let sent = 1;
    for (let i = 0; i < packets.length; i += BATCH) {
      await Promise.all(packets.slice(i, i + BATCH).map(send));
      sent += Math.min(BATCH, packets.length - i);
      await until(`the session to read ${sent} datagrams (read ${seen()})`, () => seen() >= sent);
    }
    assert.deepEqual(digits, [], 'no digit from packets that are no key event');
    assert.deepEqual(failures, [], 'no packet made the session fail');
    assert.deepEqual(session.remoteAddress, { address: HOST, port: B + 20 });
    // The session still works: one real key press types one digit.
    for (const [end, duration] of [
      [false, 160],
      [true, 480],
      [true, 480],
    ] as const) {
      await send(
        encodeRtp(header({ pt: TE_PT, seq: 9000, ts: 777_000, marker: !end, ssrc: 7 }), encodeTelephoneEvent({ event: 5, end, volume: 10, duration })),
      );
    }
    await until('the real key press', () => digits.length > 0);
    assert.deepEqual(digits, ['5']);
    console.log(
      `      RTP fuzzer (seed ${FUZZ_SEED}): ${sent} datagrams, ${session.badPackets} refused as bad, ` +
        `${engine.stats().packetsReceived} valid RTP, 0 failures, 0 digits from garbage`,
    );
  });
});

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
