import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../src/ports/logger';
import { EmbeddedMediaEngine } from '../../src/media/embedded';
import { encodeRtp } from '../../src/media/embedded/rtp-packet';
import { freePortBlock } from '../helpers/ports';
import { writeTonePrompt } from '../helpers/tone-prompt';

// How send failures of the embedded RTP engine are reported now that sends
// are checked once a second and a final peer gets a connected socket: once
// per session, never per packet. Engines bind B..B+19 of this file's free
// block, the phone B+50.

const HOST = '127.0.0.1';

async function waitFor(what: string, check: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Keeps every line at debug and above, as "level message". */
function recordingLogger(lines: string[]): Logger {
  const log: Logger = {
    debug: (_o, msg) => void lines.push(`debug ${msg}`),
    info: (_o, msg) => void lines.push(`info ${msg}`),
    warn: (_o, msg) => void lines.push(`warn ${msg}`),
    error: (_o, msg) => void lines.push(`error ${msg}`),
    child: () => log,
  };
  return log;
}

const offer = (address: string, port: number) =>
  ['v=0', `o=phone 1 1 IN IP4 ${address}`, 's=-', `c=IN IP4 ${address}`, 't=0 0', `m=audio ${port} RTP/AVP 0`, 'a=sendrecv', ''].join('\r\n');

describe('media embedded engine: send failures', function () {
  this.timeout(20000);
  let B = 0;
  let engine: EmbeddedMediaEngine;
  let lines: string[];
  let tone = '';
  let dir = '';
  before(async () => {
    B = await freePortBlock(100);
    dir = mkdtempSync(join(tmpdir(), 'papgate-send-errors-'));
    tone = writeTonePrompt(dir, 10); // sessions send only while a prompt plays
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    lines = [];
    engine = new EmbeddedMediaEngine({
      bindAddress: HOST,
      advertisedAddress: HOST,
      rtpPortMin: B,
      rtpPortMax: B + 19,
      inactivityMs: 0,
      log: recordingLogger(lines),
    });
  });
  afterEach(() => engine.close());

  it('a phone gone from a connected session: its "port unreachable" logged once at debug, no warning per packet', async () => {
    const phone = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => phone.bind(B + 50, HOST, () => resolve()));
    let phoneOpen = true;
    try {
      const session = await engine.createSession({ callId: 'gone', offerSdp: offer(HOST, B + 50), signallingAddress: HOST });
      session.play([tone]);
      const latch = encodeRtp({ payloadType: 0, marker: false, sequenceNumber: 1, timestamp: 0, ssrc: 9 }, Buffer.alloc(160, 0xff));
      await new Promise<void>((resolve) => phone.send(latch, session.port, HOST, () => resolve()));
      await waitFor('the socket connected to the phone', () => session.peerConnected);
      await new Promise<void>((resolve) => phone.close(() => resolve()));
      phoneOpen = false;
      const sent = engine.stats().packetsSent;
      await waitFor('the refusal noticed', () => lines.includes('debug RTP peer port unreachable'));
      await waitFor('two seconds of frames more', () => engine.stats().packetsSent >= sent + 100);
      assert.deepEqual(
        lines.filter((l) => /unreachable|RTP send failed|RTP socket error/.test(l)),
        ['debug RTP peer port unreachable'],
      );
      await session.close();
    } finally {
      if (phoneOpen) phone.close();
    }
  });

  it('a destination the kernel refuses: one warning for the session, however many frames fail', async () => {
    // The broadcast address without SO_BROADCAST: every send fails at once.
    const session = await engine.createSession({ callId: 'refused', offerSdp: offer('255.255.255.255', B + 52) });
    session.play([tone]);
    await waitFor('the failure reported', () => lines.includes('warn RTP send failed'));
    const sent = engine.stats().packetsSent;
    await waitFor('two seconds of frames more', () => engine.stats().packetsSent >= sent + 100);
    assert.deepEqual(
      lines.filter((l) => /RTP send failed|RTP socket error/.test(l)),
      ['warn RTP send failed'],
    );
    await session.close();
  });
});
