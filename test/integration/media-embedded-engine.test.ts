import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulaw } from 'alawmulaw';
import { PapgateError } from '../../src/domain/errors';
import { NoCommonCodec, type DtmfSource } from '../../src/ports/media';
import { silentLogger } from '../../src/ports/logger';
import { EmbeddedMediaEngine, type EmbeddedMediaEngineOptions, type RtpSession } from '../../src/media/embedded';
import { encodeTelephoneEvent } from '../../src/media/embedded/rfc4733';
import { decodeRtp, encodeRtp, type RtpPacket } from '../../src/media/embedded/rtp-packet';
import { encodeWavPcm16 } from '../../src/media/embedded/wav';
import { requireTool } from '../helpers/required-tools';
import { freePortBlock } from '../helpers/ports';
import { writeTonePrompt } from '../helpers/tone-prompt';

// Ports, as offsets into this file's free block B: engines B+100..199, test
// "phones" B+500..599; the latching suite: engines B+600..619, phones and
// off-path senders B+650..699.
const HOST = '127.0.0.1';

/** Polls until `check` returns a value (bounded), so nothing depends on exact timing. */
async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A steady tone of `seconds`, written once for the whole file: a session sends only while a prompt plays. */
let toneDir = '';
function tonePrompt(seconds: number): string {
  toneDir ||= mkdtempSync(join(tmpdir(), 'papgate-media-tone-'));
  return writeTonePrompt(toneDir, seconds);
}
after(() => {
  if (toneDir) rmSync(toneDir, { recursive: true, force: true });
});

/** A UDP socket standing in for a desk phone's RTP port. */
class FakePhone {
  readonly packets: { packet: RtpPacket; from: number }[] = [];
  private seq = 1;
  private inFlight: Promise<void>[] = [];
  private constructor(
    readonly socket: dgram.Socket,
    readonly port: number,
  ) {
    socket.on('message', (msg, rinfo) => {
      const r = decodeRtp(msg);
      if (r.ok) this.packets.push({ packet: { ...r.packet, payload: Buffer.from(r.packet.payload) }, from: rinfo.port });
    });
  }
  static async open(port: number): Promise<FakePhone> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, HOST, () => resolve());
    });
    return new FakePhone(socket, port);
  }
  send(to: number, pt: number, ts: number, payload: Buffer, marker = false): void {
    this.sendRaw(to, encodeRtp({ payloadType: pt, marker, sequenceNumber: this.seq++, timestamp: ts, ssrc: 0x1234 }, payload));
  }
  sendRaw(to: number, datagram: Buffer): void {
    this.inFlight.push(new Promise((r) => this.socket.send(datagram, to, HOST, () => r())));
  }
  /** Resolves once everything sent so far is in the receiver's queue (loopback), so later sends arrive after it. */
  async flushed(): Promise<void> {
    const sent = this.inFlight;
    this.inFlight = [];
    await Promise.all(sent);
  }
  /** One key press as phones send it: 3 updates and 3 end-of-event repeats on one timestamp. */
  press(to: number, pt: number, event: number, ts: number): void {
    for (const [end, duration] of [
      [false, 160],
      [false, 320],
      [false, 480],
      [true, 640],
      [true, 640],
      [true, 640],
    ] as const) {
      this.send(to, pt, ts, encodeTelephoneEvent({ event, end, volume: 10, duration }), duration === 160);
    }
  }
  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

const offer = (port: number, formats = '0 8 101', extra: string[] = ['a=rtpmap:101 telephone-event/8000']) =>
  ['v=0', 'o=phone 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP ${formats}`, ...extra, 'a=sendrecv', ''].join('\r\n');

const answerPort = (s: RtpSession) => Number(/m=audio (\d+)/.exec(s.answerSdp)?.[1]);

/** Base of this file's free port block (freePortBlock in each suite's first hook). */
let B = 0;

/** An engine beside the suite's own, on ports B+from..B+to of this file's block. */
const ownEngine = (from: number, to: number, extra: Partial<EmbeddedMediaEngineOptions>) =>
  new EmbeddedMediaEngine({
    bindAddress: HOST,
    advertisedAddress: HOST,
    rtpPortMin: B + from,
    rtpPortMax: B + to,
    inactivityMs: 0,
    log: silentLogger,
    ...extra,
  });

describe('media embedded engine over loopback UDP', function () {
  before(async () => {
    B ||= await freePortBlock(1000);
  });
  this.timeout(15000);
  let engine: EmbeddedMediaEngine;
  let phones: FakePhone[];
  let dir: string;
  const phone = async (port: number) => {
    const p = await FakePhone.open(port);
    phones.push(p);
    return p;
  };

  beforeEach(() => {
    engine = new EmbeddedMediaEngine({
      bindAddress: HOST,
      advertisedAddress: HOST,
      rtpPortMin: B + 100,
      rtpPortMax: B + 119,
      inactivityMs: 0,
      log: silentLogger,
    });
    phones = [];
    dir = mkdtempSync(join(tmpdir(), 'papgate-media-'));
  });
  afterEach(async () => {
    await engine.close();
    await Promise.all(phones.map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('plays a prompt as one talkspurt of consecutive 20 ms packets, reports its end once, and sends nothing after it', async () => {
    const ph = await phone(B + 500);
    const samples = 4000; // 0.5 s = 25 frames
    const file = join(dir, 'p.wav');
    writeFileSync(file, encodeWavPcm16(Int16Array.from({ length: samples }, (_, i) => Math.round(8000 * Math.sin(i / 3)))));
    const session = await engine.createSession({ callId: 'play', offerSdp: offer(ph.port) });
    assert.equal(answerPort(session) % 2, 0);
    const finished: boolean[] = [];
    session.on('playbackFinished', (i) => finished.push(i));
    session.play([file]);
    await waitFor('playbackFinished', () => finished.length > 0);
    await sleep(60); // the last frames reach the phone
    const heard = ph.packets.length;
    await sleep(100);
    assert.equal(ph.packets.length, heard, 'nothing is sent once the prompt is over');
    assert.deepEqual(finished, [false]);

    const pkts = ph.packets.map((p) => p.packet);
    assert.equal(pkts.length, Math.ceil(samples / 160), 'one packet per frame of the file, no silence around it');
    for (let i = 1; i < pkts.length; i++) {
      assert.equal(pkts[i]!.sequenceNumber, (pkts[i - 1]!.sequenceNumber + 1) & 0xffff, `seq at ${i}`);
      assert.equal(pkts[i]!.timestamp, (pkts[i - 1]!.timestamp + 160) >>> 0, `timestamp at ${i}`);
      assert.equal(pkts[i]!.ssrc, pkts[0]!.ssrc);
    }
    assert.ok(pkts.every((p) => p.payloadType === 0 && p.payload.length === 160));
    assert.equal(pkts[0]!.marker, true, 'marker on the first packet of the talkspurt');
    assert.ok(pkts.slice(1).every((p) => !p.marker));
    // The payload is the file, µ-law encoded.
    assert.deepEqual(
      [...mulaw.decode(pkts[0]!.payload).subarray(0, 4)],
      [...mulaw.decode(mulaw.encode(Int16Array.from({ length: 4 }, (_, i) => Math.round(8000 * Math.sin(i / 3)))))],
    );
    const stats = engine.stats();
    assert.equal(stats.sessions, 1);
    assert.ok(stats.packetsSent >= pkts.length);
    assert.ok(stats.jitterP99Ms >= stats.jitterP50Ms);
  });

  it('sends nothing while idle; a prompt after a quiet is a new talkspurt, its timestamp moved on with the clock; PCMA when only PCMA is offered', async () => {
    const ph = await phone(B + 501);
    const session = await engine.createSession({ callId: 'alaw', offerSdp: offer(ph.port, '8', []) });
    const finished: boolean[] = [];
    session.on('playbackFinished', (i) => finished.push(i));
    await sleep(100);
    assert.equal(ph.packets.length, 0, 'no packets before a prompt');
    const file = join(dir, 'short.wav');
    writeFileSync(file, encodeWavPcm16(Int16Array.from({ length: 800 }, () => 3000))); // 5 frames
    session.play([file]);
    await waitFor('the first prompt', () => finished.length === 1);
    await sleep(60);
    const first = ph.packets.length;
    await sleep(200); // a quiet of at least 200 ms = 1,600 samples
    session.play([file]);
    await waitFor('the second prompt', () => finished.length === 2);
    await waitFor('its 5 packets', () => ph.packets.length >= first + 5);
    const pkts = ph.packets.map((p) => p.packet);
    assert.equal(first, 5);
    assert.equal(pkts.length, 10);
    assert.ok(pkts.every((p) => p.payloadType === 8 && p.payload.every((b) => b === pkts[0]!.payload[0])));
    assert.deepEqual(
      pkts.map((p) => p.marker),
      [true, false, false, false, false, true, false, false, false, false],
    );
    assert.equal(pkts[5]!.sequenceNumber, (pkts[4]!.sequenceNumber + 1) & 0xffff, 'sequence numbers go on without a gap');
    const step = (pkts[5]!.timestamp - pkts[4]!.timestamp) >>> 0;
    assert.ok(step >= 160 + 1500, `the timestamp covers the quiet: ${step} samples`);
  });

  it('with sendSilence: a silence frame every 20 ms while idle, and the prompt on the same grid (no marker jump in timing, whole frames)', async () => {
    const silent = ownEngine(130, 139, { sendSilence: true });
    try {
      const ph = await phone(B + 513);
      const session = await silent.createSession({ callId: 'silence', offerSdp: offer(ph.port, '8', []) });
      await waitFor('silence packets', () => ph.packets.length >= 3);
      assert.ok(ph.packets.every(({ packet }) => packet.payloadType === 8 && packet.payload.every((b) => b === 0xd5)));
      const finished: boolean[] = [];
      session.on('playbackFinished', (i) => finished.push(i));
      const file = join(dir, 'short-silence.wav');
      writeFileSync(file, encodeWavPcm16(Int16Array.from({ length: 800 }, () => 3000)));
      session.play([file]);
      await waitFor('the prompt', () => finished.length === 1);
      const n = ph.packets.length;
      await waitFor('silence after it', () => ph.packets.length >= n + 3);
      const pkts = ph.packets.map((p) => p.packet);
      const sound = pkts.filter((p) => !p.payload.every((b) => b === 0xd5));
      assert.equal(sound.length, 5);
      assert.equal(sound[0]!.marker, true);
      for (let i = 1; i < pkts.length; i++) {
        assert.equal(pkts[i]!.sequenceNumber, (pkts[i - 1]!.sequenceNumber + 1) & 0xffff, `seq at ${i}`);
        assert.equal((pkts[i]!.timestamp - pkts[i - 1]!.timestamp) >>> 0, 160, `one frame at ${i}: the grid never moves`);
      }
    } finally {
      await silent.close();
    }
  });

  it('after an event-loop stall sends a few late frames, skips the rest, and keeps timestamps true', async () => {
    const ph = await phone(B + 511);
    const session = await engine.createSession({ callId: 'stall', offerSdp: offer(ph.port) });
    session.play([tonePrompt(10)]);
    await waitFor('packets', () => ph.packets.length >= 2);
    const busyUntil = Date.now() + 300; // 15 frames due at once; the catch-up limit is 5
    while (Date.now() < busyUntil) {
      /* stall the event loop on purpose */
    }
    const n = ph.packets.length;
    await waitFor('packets after the stall', () => ph.packets.length >= n + 8);
    assert.ok(engine.stats().framesSkipped >= 5, `skipped ${engine.stats().framesSkipped}`);
    const pkts = ph.packets.map((p) => p.packet);
    const jumps = pkts.slice(1).map((p, i) => ((p.timestamp - pkts[i]!.timestamp) >>> 0) / 160);
    assert.ok(
      pkts.slice(1).every((p, i) => p.sequenceNumber === ((pkts[i]!.sequenceNumber + 1) & 0xffff)),
      'no sequence gap',
    );
    assert.ok(
      jumps.some((j) => j >= 6),
      `a timestamp jump covers the skipped frames: ${jumps.join(',')}`,
    );
    assert.ok(jumps.every((j) => j >= 1));
  });

  it('sends nothing to a phone that offered sendonly, yet finishes the prompt', async () => {
    const ph = await phone(B + 512);
    const file = join(dir, 'short.wav');
    writeFileSync(file, encodeWavPcm16(Int16Array.from({ length: 800 }, () => 3000)));
    const sendonly = offer(ph.port).replace('a=sendrecv', 'a=sendonly');
    const session = await engine.createSession({ callId: 'hold', offerSdp: sendonly });
    assert.match(session.answerSdp, /a=recvonly\r\n/);
    const finished: boolean[] = [];
    session.on('playbackFinished', (i) => finished.push(i));
    session.play([file]);
    await waitFor('playbackFinished', () => finished.length > 0);
    assert.deepEqual(finished, [false]);
    assert.equal(ph.packets.length, 0);
  });

  it('stopPlayback() cuts the prompt, reports interrupted, and nothing is sent after it', async () => {
    const ph = await phone(B + 502);
    const session = await engine.createSession({ callId: 'stop', offerSdp: offer(ph.port) });
    const finished: boolean[] = [];
    session.on('playbackFinished', (i) => finished.push(i));
    session.play([tonePrompt(10)]);
    await waitFor('audio', () => ph.packets.length >= 3);
    session.stopPlayback();
    await waitFor('playbackFinished', () => finished.length > 0);
    await sleep(60);
    const n = ph.packets.length;
    await sleep(100);
    assert.deepEqual(finished, [true]);
    assert.equal(ph.packets.length, n, 'quiet after stop');
    assert.ok(n < 10 * 50, 'cut well before its end');
  });

  it('turns RFC 4733 packets into exactly the digits pressed, on the negotiated payload type', async () => {
    const ph = await phone(B + 503);
    const session = await engine.createSession({ callId: 'dtmf', offerSdp: offer(ph.port, '0 97', ['a=rtpmap:97 telephone-event/8000']) });
    const digits: [string, DtmfSource][] = [];
    session.on('digit', (d, s) => digits.push([d, s]));
    const to = answerPort(session);
    const keys = [1, 2, 3, 5, 5, 10, 11]; // 1 2 3 5 5 * #
    keys.forEach((event, i) => ph.press(to, 97, event, 10000 + i * 1600));
    ph.press(to, 101, 9, 99999); // not the negotiated type: ignored
    await waitFor('7 digits', () => digits.length >= 7);
    // Then the same tone in-band: must not count a second time.
    for (let i = 0; i < 10; i++) ph.send(to, 0, 50000 + i * 160, Buffer.from(mulaw.encode(dtmfTone(852, 1336, i))));
    await waitFor('the session to see the audio', () => engine.stats().packetsReceived >= 7 * 6 + 10);
    assert.deepEqual(digits, [
      ['1', 'rfc4733'],
      ['2', 'rfc4733'],
      ['3', 'rfc4733'],
      ['5', 'rfc4733'],
      ['5', 'rfc4733'],
      ['*', 'rfc4733'],
      ['#', 'rfc4733'],
    ]);
  });

  it("counts a PIN with repeated digits sent from SIPp's dtmf_2833 captures, replayed unchanged", async function () {
    const dir = '/usr/share/sip-tester';
    requireTool(this, 'sipp-dtmf-pcaps', "the digits are SIPp's RFC 4733 captures");
    const ph = await phone(B + 510);
    const session = await engine.createSession({ callId: 'pcap', offerSdp: offer(ph.port) });
    const digits: string[] = [];
    session.on('digit', (d) => digits.push(d));
    const names = ['1', '1', '2', '0', '1', '9', 'pound'];
    for (const [i, name] of names.entries()) {
      for (const datagram of udpPayloadsOfPcap(readFileSync(`${dir}/dtmf_2833_${name}.pcap`))) ph.sendRaw(answerPort(session), datagram);
      await waitFor(`digit ${i + 1} (${name}), got "${digits.join('')}" so far`, () => digits.length > i);
    }
    assert.equal(digits.join(''), '112019#');
  });

  it('detects in-band DTMF in the phone audio', async () => {
    const ph = await phone(B + 504);
    const session = await engine.createSession({ callId: 'inband', offerSdp: offer(ph.port) });
    const digits: [string, DtmfSource][] = [];
    session.on('digit', (d, s) => digits.push([d, s]));
    const to = answerPort(session);
    for (let i = 0; i < 6; i++) ph.send(to, 0, i * 160, Buffer.from(mulaw.encode(dtmfTone(852, 1336, i)))); // "8"
    for (let i = 6; i < 10; i++) ph.send(to, 0, i * 160, Buffer.alloc(160, 0xff));
    await waitFor('a digit', () => digits.length > 0);
    assert.deepEqual(digits, [['8', 'inband']]);
  });

  it('after ignoreDigits() (the call types its digits as SIP INFO) reports no digits from the media', async () => {
    const ph = await phone(16513);
    const session = await engine.createSession({ callId: 'ignored', offerSdp: offer(ph.port) });
    const digits: string[] = [];
    session.on('digit', (d) => digits.push(d));
    const to = answerPort(session);
    ph.press(to, 101, 1, 1000);
    await waitFor('the first digit', () => digits.length > 0);
    session.ignoreDigits?.();
    const before = engine.stats().packetsReceived;
    ph.press(to, 101, 2, 3000);
    for (let i = 0; i < 6; i++) ph.send(to, 0, 5000 + i * 160, Buffer.from(mulaw.encode(dtmfTone(852, 1336, i))));
    await waitFor('the session to see the packets', () => engine.stats().packetsReceived >= before + 12);
    assert.deepEqual(digits, ['1'], 'neither the RFC 4733 key nor the in-band tone after it');
  });

  it('follows the source of the phone packets (symmetric RTP)', async () => {
    const sdpTarget = await phone(B + 505);
    const natted = await phone(B + 506);
    const session = await engine.createSession({ callId: 'nat', offerSdp: offer(sdpTarget.port) });
    session.play([tonePrompt(10)]);
    await waitFor('packets at the SDP address', () => sdpTarget.packets.length >= 2);
    natted.send(answerPort(session), 0, 0, Buffer.alloc(160, 0xff));
    await waitFor('packets at the real source', () => natted.packets.length >= 3);
    assert.deepEqual(session.remoteAddress, { address: HOST, port: natted.port });
    const n = sdpTarget.packets.length;
    await waitFor('more packets at the real source', () => natted.packets.length >= 6);
    assert.ok(sdpTarget.packets.length <= n + 1, 'the SDP address gets nothing more (one may be in flight)');
  });

  it('drops garbage datagrams, counts them, and keeps working', async () => {
    const ph = await phone(B + 507);
    const session = await engine.createSession({ callId: 'junk', offerSdp: offer(ph.port) });
    const digits: string[] = [];
    session.on('digit', (d) => digits.push(d));
    const to = answerPort(session);
    const junk = [
      Buffer.alloc(0),
      Buffer.from('INVITE sip:x SIP/2.0'),
      Buffer.from([0x80]),
      Buffer.from([0x8f, 0, 0, 1]),
      Buffer.concat([Buffer.from([0xa0, 0]), Buffer.alloc(10), Buffer.from([0, 200])]),
      encodeRtp({ payloadType: 101, marker: false, sequenceNumber: 1, timestamp: 1, ssrc: 1 }, Buffer.from([1])),
      encodeRtp({ payloadType: 18, marker: false, sequenceNumber: 1, timestamp: 1, ssrc: 1 }, Buffer.alloc(20)),
    ];
    for (const j of junk) ph.sendRaw(to, j);
    ph.press(to, 101, 4, 777);
    await waitFor('the digit after the junk', () => digits.length > 0);
    assert.deepEqual(digits, ['4']);
    assert.equal(engine.stats().badPacketsReceived, 6, 'everything but the short telephone-event counted as bad');
    assert.ok(session.badPackets >= 6);
  });

  it('reports inactivity when the phone sends nothing', async () => {
    const quiet = ownEngine(140, 141, { inactivityMs: 150 });
    try {
      const session = await quiet.createSession({ callId: 'quiet', offerSdp: offer(B + 508) });
      let inactive = 0;
      session.on('inactive', () => inactive++);
      await waitFor('inactive', () => inactive > 0);
      assert.equal(inactive, 1);
    } finally {
      await quiet.close();
    }
  });

  it('frees the port at close, skips busy ports, and says when the range is exhausted', async () => {
    const busy = await phone(B + 120); // someone else holds the first port
    const small = new EmbeddedMediaEngine({
      bindAddress: HOST,
      advertisedAddress: HOST,
      rtpPortMin: B + 120,
      rtpPortMax: B + 123,
      inactivityMs: 0,
      log: silentLogger,
    });
    try {
      const a = await small.createSession({ callId: 'a', offerSdp: offer(B + 509) });
      assert.equal(answerPort(a), B + 122);
      await assert.rejects(
        small.createSession({ callId: 'b', offerSdp: offer(B + 509) }),
        (e: unknown) => e instanceof PapgateError && e.code === 'unavailable' && e.message.includes(`no free RTP port in ${B + 120}-${B + 122}`),
      );
      await a.close();
      await a.close(); // idempotent
      const c = await small.createSession({ callId: 'c', offerSdp: offer(B + 509) });
      assert.equal(answerPort(c), B + 122);
      assert.equal(small.stats().sessions, 1);
    } finally {
      await small.close();
      assert.ok(busy);
    }
  });

  it('rejects malformed offers and offers without a common codec before binding a port', async () => {
    await assert.rejects(
      engine.createSession({ callId: 'x', offerSdp: 'garbage' }),
      (e: unknown) => e instanceof PapgateError && e.code === 'invalid' && e.field === 'sdp',
    );
    await assert.rejects(engine.createSession({ callId: 'y', offerSdp: offer(B + 509, '9', ['a=rtpmap:9 G722/8000']) }), NoCommonCodec);
    assert.equal(engine.stats().sessions, 0);
  });
});

describe('media embedded engine: symmetric RTP latches to one source', function () {
  before(async () => {
    B ||= await freePortBlock(1000);
  });
  this.timeout(15000);
  let engine: EmbeddedMediaEngine;
  let phones: FakePhone[];
  const phone = async (port: number) => {
    const p = await FakePhone.open(port);
    phones.push(p);
    return p;
  };
  const newEngine = (inactivityMs: number) => {
    engine = new EmbeddedMediaEngine({
      bindAddress: HOST,
      advertisedAddress: HOST,
      rtpPortMin: B + 600,
      rtpPortMax: B + 619,
      inactivityMs,
      log: silentLogger,
    });
    return engine;
  };
  const silence = Buffer.alloc(160, 0xff);
  /** An off-path sender's attack: a wrong PIN typed three times (three wrong PINs lock the device). */
  const sprayWrongPins = (from: FakePhone, to: number) => {
    for (let round = 0; round < 3; round++) {
      [1, 1, 1, 1, 1, 1, 11].forEach((event, i) => from.press(to, 101, event, 900000 + round * 20000 + i * 1600));
    }
  };

  beforeEach(() => {
    phones = [];
  });
  afterEach(async () => {
    await engine.close();
    await Promise.all(phones.map((p) => p.close()));
  });

  it('latches to the first sender (behind NAT: not the SDP port), sends there, and no later sender moves it', async () => {
    const sdpTarget = await phone(B + 650); // what the phone wrote into its SDP; never sends
    const natted = await phone(B + 651); // where its packets really come from
    const other = await phone(B + 652);
    const session = await newEngine(0).createSession({ callId: 'latch', offerSdp: offer(sdpTarget.port) });
    session.play([tonePrompt(10)]);
    const to = answerPort(session);
    await waitFor('packets at the SDP address before anything arrived', () => sdpTarget.packets.length >= 1);
    natted.send(to, 0, 0, silence);
    await waitFor('packets at the first sender', () => natted.packets.length >= 3);
    assert.deepEqual(session.remoteAddress, { address: HOST, port: natted.port });

    for (let i = 0; i < 5; i++) other.send(to, 0, 160 * i, silence);
    await other.flushed();
    const sent = engine.stats().packetsSent;
    await waitFor('5 frames more (the later packets are read by then)', () => engine.stats().packetsSent >= sent + 5);
    assert.deepEqual(session.remoteAddress, { address: HOST, port: natted.port });
    assert.equal(other.packets.length, 0, 'the later sender gets nothing');
    assert.equal(engine.stats().foreignPacketsReceived, 5);
    assert.equal(engine.stats().packetsReceived, 1, 'only the latched source counts as received');
  });

  it('takes no digits from a second source after latching (RFC 4733 or in-band), yet takes them from the latched one', async () => {
    // Behind NAT (its packets come from another port than its SDP names) the
    // socket stays unconnected, so the session's own check is all that filters.
    const sdpTarget = await phone(B + 659);
    const ph = await phone(B + 653);
    const attacker = await phone(B + 654);
    const session = await newEngine(0).createSession({ callId: 'spray', offerSdp: offer(sdpTarget.port) });
    session.play([tonePrompt(10)]); // something to send, to see where it goes
    const digits: [string, DtmfSource][] = [];
    session.on('digit', (d, s) => digits.push([d, s]));
    const to = answerPort(session);
    ph.send(to, 0, 0, silence);
    await ph.flushed();
    await waitFor('latched to the phone', () => session.remoteAddress.port === ph.port);
    assert.equal(session.peerConnected, false);
    for (let i = 0; i < 10; i++) attacker.send(to, 0, i * 160, Buffer.from(mulaw.encode(dtmfTone(852, 1336, i)))); // "8"
    sprayWrongPins(attacker, to);
    await attacker.flushed();
    ph.press(to, 101, 4, 5000);
    ph.press(to, 101, 11, 6600);
    await waitFor(`the latched phone's 2 digits, got ${JSON.stringify(digits)}`, () => digits.length >= 2);
    assert.deepEqual(digits, [
      ['4', 'rfc4733'],
      ['#', 'rfc4733'],
    ]);
    assert.deepEqual(session.remoteAddress, { address: HOST, port: ph.port });
    assert.equal(session.foreignPackets, 10 + 3 * 7 * 6);
    assert.equal(attacker.packets.length, 0, 'our audio never went to the second source');
  });

  it('a foreign sender spraying RTP and garbage does not keep the session from going inactive', async () => {
    const sdpTarget = await phone(B + 660); // behind NAT: unconnected, the session's own check filters
    const ph = await phone(B + 655);
    const attacker = await phone(B + 656);
    const session = await newEngine(300).createSession({ callId: 'quiet', offerSdp: offer(sdpTarget.port) });
    let inactive = 0;
    session.on('inactive', () => inactive++);
    const to = answerPort(session);
    ph.send(to, 0, 0, silence);
    await ph.flushed();
    let ts = 0;
    const spray = setInterval(() => {
      attacker.send(to, 0, (ts += 160), Buffer.from(Array.from({ length: 160 }, () => Math.floor(Math.random() * 256))));
      attacker.press(to, 101, 1, ts);
      attacker.sendRaw(to, Buffer.from('garbage'));
    }, 20);
    try {
      await waitFor('inactive despite the foreign sender', () => inactive > 0, 3000);
    } finally {
      clearInterval(spray);
    }
    assert.ok(session.foreignPackets > 0);
    assert.deepEqual(session.remoteAddress, { address: HOST, port: ph.port });
  });

  it("the SDP's own address and port may take over once from a first source elsewhere, then nothing moves the peer", async () => {
    const sdpTarget = await phone(B + 657);
    const first = await phone(B + 658);
    const session = await newEngine(0).createSession({ callId: 'prefer', offerSdp: offer(sdpTarget.port) });
    const digits: string[] = [];
    session.on('digit', (d) => digits.push(d));
    const to = answerPort(session);
    first.send(to, 0, 0, silence);
    await waitFor('latched to the first source', () => session.remoteAddress.port === first.port);
    sdpTarget.send(to, 0, 0, silence);
    await waitFor('latched to the SDP source', () => session.remoteAddress.port === sdpTarget.port);
    await waitFor('the socket connected to the SDP source', () => session.peerConnected);
    await sdpTarget.flushed();
    first.press(to, 101, 1, 1000);
    await first.flushed();
    sdpTarget.press(to, 101, 2, 2000);
    await waitFor('a digit', () => digits.length > 0);
    assert.deepEqual(digits, ['2']);
    assert.deepEqual(session.remoteAddress, { address: HOST, port: sdpTarget.port });
    assert.equal(session.foreignPackets, 0, "the kernel dropped the first source's packets before the session");
  });

  it("latched to the SDP's own address: connected, a third address's digits, garbage and RTP never reach the session, it still goes inactive", async () => {
    const ph = await phone(B + 661);
    const attacker = await phone(B + 662);
    const session = await newEngine(300).createSession({ callId: 'connected', offerSdp: offer(ph.port) });
    session.play([tonePrompt(10)]); // something to send, to see where it goes
    const digits: string[] = [];
    session.on('digit', (d) => digits.push(d));
    let inactive = 0;
    session.on('inactive', () => inactive++);
    const to = answerPort(session);
    ph.send(to, 0, 0, silence);
    await waitFor('the socket connected to the phone', () => session.peerConnected);
    const received = engine.stats().packetsReceived;
    sprayWrongPins(attacker, to);
    attacker.sendRaw(to, Buffer.from('garbage'));
    await attacker.flushed();
    ph.press(to, 101, 7, 5000);
    await waitFor(`the phone's digit, got ${JSON.stringify(digits)}`, () => digits.length >= 1);
    assert.deepEqual(digits, ['7']);
    assert.equal(session.foreignPackets + session.badPackets, 0, "the third address's packets never reached the session");
    assert.equal(engine.stats().packetsReceived, received + 6, "only the phone's key press was read");
    let ts = 0;
    const spray = setInterval(() => attacker.send(to, 0, (ts += 160), silence), 20);
    try {
      await waitFor('inactive despite the third address sending', () => inactive > 0, 3000);
    } finally {
      clearInterval(spray);
    }
    assert.equal(session.foreignPackets, 0);
    assert.deepEqual(session.remoteAddress, { address: HOST, port: ph.port });
    assert.equal(attacker.packets.length, 0, 'our audio never went to the third address');
    assert.ok(ph.packets.length > 0, 'the phone got our audio over the connected socket');
  });
});

/** 20 ms of a dual tone, continuing the phase of frame `frame`. */
function dtmfTone(fRow: number, fCol: number, frame: number): Int16Array {
  return Int16Array.from({ length: 160 }, (_, i) => {
    const t = (frame * 160 + i) / 8000;
    return Math.round(6000 * Math.sin(2 * Math.PI * fRow * t) + 6000 * Math.sin(2 * Math.PI * fCol * t));
  });
}

/** UDP payloads of a classic little-endian pcap of Ethernet/IPv4/UDP frames. */
function udpPayloadsOfPcap(file: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 24; at + 16 <= file.length;) {
    const length = file.readUInt32LE(at + 8);
    const frame = file.subarray(at + 16, at + 16 + length);
    at += 16 + length;
    out.push(frame.subarray(14 + ((frame[14] as number) & 0x0f) * 4 + 8));
  }
  return out;
}
