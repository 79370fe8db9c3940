import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/ports/logger';
import { EmbeddedMediaEngine, type RtpSession } from '../../src/media/embedded';
import { encodeTelephoneEvent } from '../../src/media/embedded/rfc4733';
import { encodeRtp } from '../../src/media/embedded/rtp-packet';
import { freePortBlock } from '../helpers/ports';
import { writeTonePrompt } from '../helpers/tone-prompt';

// Who may talk to a call's RTP port before the phone's first packet, where
// papgate sends prompts, and how ports are chosen. The phone's SIP comes from
// 127.0.0.1; the attacker sends from 127.0.0.2; a would-be reflection victim
// listens on 127.0.0.3 (all on lo). Engines bind 127.0.0.1 ports B..B+99 of
// this file's free block, peers B+100..119.

const SIP_SOURCE = '127.0.0.1';

/** Polls until `check` holds (bounded), so nothing depends on exact timing. */
async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A UDP socket on one loopback address that counts what it gets and sends RTP. */
class Peer {
  received = 0;
  private seq = 1;
  private constructor(
    readonly socket: dgram.Socket,
    readonly address: string,
    readonly port: number,
  ) {
    socket.on('message', () => {
      this.received++;
    });
  }
  static async open(address: string, port: number): Promise<Peer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => resolve());
    });
    return new Peer(socket, address, port);
  }
  send(to: number, pt: number, ts: number, payload: Buffer, marker = false): Promise<void> {
    const packet = encodeRtp({ payloadType: pt, marker, sequenceNumber: this.seq++, timestamp: ts, ssrc: 0x4242 }, payload);
    return new Promise((r) => this.socket.send(packet, to, SIP_SOURCE, () => r()));
  }
  /** One RFC 4733 key press as phones send it (3 updates, 3 end repeats). */
  async press(to: number, event: number, ts: number): Promise<void> {
    for (const [end, duration] of [
      [false, 160],
      [false, 320],
      [false, 480],
      [true, 640],
      [true, 640],
      [true, 640],
    ] as const) {
      await this.send(to, 101, ts, encodeTelephoneEvent({ event, end, volume: 10, duration }), duration === 160);
    }
  }
  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

const offer = (address: string, port: number) =>
  [
    'v=0',
    `o=phone 1 1 IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:101 telephone-event/8000',
    'a=sendrecv',
    '',
  ].join('\r\n');
const answerPort = (s: RtpSession) => Number(/m=audio (\d+)/.exec(s.answerSdp)?.[1]);
const silence = Buffer.alloc(160, 0xff);

/** Base of this file's free port block (freePortBlock in each suite's first hook). */
let B = 0;

describe('embedded RTP: source rules, no reflection, random ports', function () {
  let tone = '';
  let dir = '';
  before(async () => {
    B ||= await freePortBlock(200);
    dir = mkdtempSync(join(tmpdir(), 'papgate-source-rules-'));
    tone = writeTonePrompt(dir, 10); // sessions send only while a prompt plays
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  this.timeout(20_000);
  let engine: EmbeddedMediaEngine;
  const peers: Peer[] = [];
  const peer = async (address: string, port: number) => {
    const p = await Peer.open(address, port);
    peers.push(p);
    return p;
  };

  beforeEach(() => {
    engine = new EmbeddedMediaEngine({
      bindAddress: SIP_SOURCE,
      advertisedAddress: SIP_SOURCE,
      rtpPortMin: B + 0,
      rtpPortMax: B + 99,
      inactivityMs: 0,
      log: silentLogger,
    });
  });
  afterEach(async () => {
    await engine.close();
    for (const p of peers.splice(0)) await p.close();
  });

  it("an attacker on another address typing RFC 4733 digits before the phone's first packet types nothing", async () => {
    const phone = await peer(SIP_SOURCE, B + 100);
    const attacker = await peer('127.0.0.2', B + 101);
    const session = await engine.createSession({ callId: 'early', offerSdp: offer(SIP_SOURCE, phone.port), signallingAddress: SIP_SOURCE });
    session.play([tone]);
    const digits: string[] = [];
    session.on('digit', (d) => digits.push(d));
    const to = answerPort(session);
    for (const [i, event] of [0, 0, 0, 0, 0, 0, 11].entries()) await attacker.press(to, event, 1000 + i * 1600);
    await attacker.send(to, 0, 0, silence);
    // The phone's own packets come after the attacker's on the same socket queue: they latch and type.
    await phone.send(to, 0, 0, silence);
    await phone.press(to, 4, 50_000);
    await waitFor(`the phone's digit, got ${JSON.stringify(digits)}`, () => digits.length >= 1);
    assert.deepEqual(digits, ['4']);
    assert.deepEqual(session.remoteAddress, { address: SIP_SOURCE, port: phone.port });
    assert.equal(session.foreignPackets, 7 * 6 + 1);
    await waitFor('prompts at the phone', () => phone.received >= 3);
    assert.equal(attacker.received, 0, 'nothing was sent to the attacker');
  });

  it("sends nothing to an SDP address the SIP did not come from (no reflector), until the phone's RTP latches", async () => {
    const victim = await peer('127.0.0.3', B + 102);
    const phone = await peer(SIP_SOURCE, B + 103);
    const attacker = await peer('127.0.0.2', B + 104);
    const witness = await peer(SIP_SOURCE, B + 105);
    const session = await engine.createSession({ callId: 'reflect', offerSdp: offer(victim.address, victim.port), signallingAddress: SIP_SOURCE });
    session.play([tone]);
    // A normal call on the same scheduler shows frames are being sent meanwhile.
    const witnessed = await engine.createSession({ callId: 'witness', offerSdp: offer(SIP_SOURCE, witness.port), signallingAddress: SIP_SOURCE });
    witnessed.play([tone]);
    const to = answerPort(session);
    await attacker.send(to, 0, 0, silence); // neither the SIP source nor the SDP address: cannot latch
    await waitFor('25 frames at the witness', () => witness.received >= 25);
    assert.equal(victim.received, 0, 'the SDP address got nothing');
    assert.equal(attacker.received, 0);
    assert.equal(session.foreignPackets, 1);
    await phone.send(to, 0, 0, silence); // RTP from the SIP source's address latches
    await waitFor('packets at the latched phone', () => phone.received >= 3);
    assert.equal(victim.received, 0, 'still nothing at the SDP address');
    assert.deepEqual(session.remoteAddress, { address: SIP_SOURCE, port: phone.port });
  });

  it('hands out ports at random over many calls, never one twice at once, and frees them at hang-up', async () => {
    const offerTo = offer(SIP_SOURCE, B + 119);
    const sequential: number[] = [];
    for (let i = 0; i < 30; i++) {
      const s = await engine.createSession({ callId: `seq-${i}`, offerSdp: offerTo, signallingAddress: SIP_SOURCE });
      sequential.push(s.port);
      await s.close();
    }
    const steps = sequential.slice(1).map((p, i) => p - sequential[i]!);
    assert.ok(steps.filter((d) => d === 2).length < 10, `ports in sequence: ${sequential.join(' ')}`);
    assert.ok(new Set(sequential).size > 10, `too few distinct ports: ${sequential.join(' ')}`);
    const open = await Promise.all(
      Array.from({ length: 50 }, (_, i) => engine.createSession({ callId: `par-${i}`, offerSdp: offerTo, signallingAddress: SIP_SOURCE })),
    );
    assert.equal(new Set(open.map((s) => s.port)).size, 50, 'all 50 even ports of the range, each once');
    await assert.rejects(engine.createSession({ callId: 'one-too-many', offerSdp: offerTo }), /no free RTP port/);
    await Promise.all(open.map((s) => s.close()));
    assert.equal(engine.stats().sessions, 0);
    const again = await engine.createSession({ callId: 'after', offerSdp: offerTo });
    assert.ok(again.port >= B + 0 && again.port <= B + 98 && again.port % 2 === 0);
  });
});
