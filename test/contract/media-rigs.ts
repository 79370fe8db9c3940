import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SipGate } from '../../src/app/sip-gate';
import { EmbeddedMediaEngine, ThreadedMediaEngine } from '../../src/media/embedded';
import { encodeWavPcm16 } from '../../src/media/embedded/wav';
import { FreeswitchMediaEngine } from '../../src/media/freeswitch/freeswitch-media';
import { systemClock } from '../../src/ports/clock';
import { silentLogger } from '../../src/ports/logger';
import type { MediaSession } from '../../src/ports/media';
import { cryptoRandom } from '../../src/ports/random';
import { DrachtioSignalling } from '../../src/sip/drachtio/drachtio-signalling';
import { FakeDrachtioServer } from '../helpers/fake-drachtio-server';
import { FakeFreeswitch } from '../helpers/fake-freeswitch';
import { freePortBlock, portLayout } from '../helpers/ports';
import { until, type MediaRig, type RtpPhone } from './media-rig';

/**
 * The two MediaEngine rigs: the embedded engine on loopback RTP, and
 * FreeSWITCH media (real drachtio-fsmrf) against the fake FreeSWITCH and the
 * fake drachtio-server, which reads RFC 4733 on the channel's RTP port.
 */

/** A tone of `seconds` as an 8 kHz mono WAV in `dir`. */
function prompt(dir: string, name: string, seconds: number): string {
  const file = join(dir, name);
  writeFileSync(file, encodeWavPcm16(Int16Array.from({ length: 8000 * seconds }, (_, i) => Math.round(6000 * Math.sin(i / 5)))));
  return file;
}

const rtpPort = (s: MediaSession) => Number(/^m=audio (\d+)/m.exec(s.answerSdp)?.[1]);

function offerFor(phone: RtpPhone, kind: 'pcmu' | 'no-common-codec'): string {
  return kind === 'pcmu' ? phone.offer('0 101') : phone.offer('18');
}

export const embeddedMediaRig = (phone: RtpPhone) => embeddedRig(phone, false);
/** The same engine in its worker thread, behind the main-thread proxy. */
export const threadedMediaRig = (phone: RtpPhone) => embeddedRig(phone, true);

async function embeddedRig(phone: RtpPhone, threaded: boolean): Promise<MediaRig> {
  const rtpMin = await freePortBlock(40);
  const dir = mkdtempSync(join(tmpdir(), 'papgate-media-contract-'));
  const options = {
    bindAddress: '127.0.0.1',
    advertisedAddress: '127.0.0.1',
    rtpPortMin: rtpMin,
    rtpPortMax: rtpMin + 39,
    inactivityMs: 400,
    log: silentLogger,
  };
  const engine = threaded ? new ThreadedMediaEngine(options) : new EmbeddedMediaEngine(options);
  const heard = () => phone.audioPackets.length;
  return {
    engine,
    longPrompt: prompt(dir, 'long.wav', 4),
    shortPrompt: prompt(dir, 'short.wav', 0.2),
    async stop() {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
    offer: (kind) => offerFor(phone, kind),
    async playing() {
      const before = heard();
      await until(() => heard() > before, 'prompt audio at the phone');
    },
    letPromptEnd() {
      /* the embedded engine plays the file out by itself */
    },
    farEndGone() {
      /* the phone sends no RTP at all: the inactivity timer runs out */
    },
    async released(s) {
      // the session's RTP port can be bound again
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(rtpPort(s), '127.0.0.1', () => resolve());
      });
      await new Promise<void>((r) => sock.close(() => r()));
    },
  };
}

export async function freeswitchMediaRig(phone: RtpPhone): Promise<MediaRig> {
  const { DRACHTIO_PORT, ESL_PORT, FS_LISTEN_PORT, rtpMin } = await portLayout({ DRACHTIO_PORT: 0, ESL_PORT: 1, FS_LISTEN_PORT: 2, rtpMin: 10 }, 40);
  const dir = mkdtempSync(join(tmpdir(), 'papgate-media-contract-'));
  const drachtio = new FakeDrachtioServer();
  await drachtio.listen(DRACHTIO_PORT);
  const fs = new FakeFreeswitch({ rtpStartPort: rtpMin, rtpEndPort: rtpMin + 39, listenRtp: true });
  await fs.listen(ESL_PORT);
  fs.attachTo(drachtio);
  const gate = new SipGate({ realm: 'r', emergencyNumbers: [], nonceTtlMs: 1000, lookupAccount: async () => null, clock: systemClock, random: cryptoRandom });
  const sig = new DrachtioSignalling({ host: '127.0.0.1', port: DRACHTIO_PORT, secret: 'cymru', gate, clock: systemClock, log: silentLogger });
  await sig.start({ handle: async () => undefined });
  const engine = new FreeswitchMediaEngine({
    srf: sig.srf,
    host: '127.0.0.1',
    port: ESL_PORT,
    secret: 'ClueCon',
    listenAddress: '127.0.0.1',
    listenPort: FS_LISTEN_PORT,
    promptsDir: dir,
    freeswitchPromptsDir: '/usr/share/papgate/prompts',
    log: silentLogger,
    retryDelayMs: 100,
  });
  await engine.start();
  const channelOf = (s: MediaSession) => [...fs.channels.values()].find((c) => c.rtpPort === rtpPort(s));
  return {
    engine,
    longPrompt: prompt(dir, 'long.wav', 4),
    shortPrompt: prompt(dir, 'short.wav', 0.2),
    async stop() {
      await engine.close();
      await sig.stop();
      await fs.close();
      await drachtio.close();
      rmSync(dir, { recursive: true, force: true });
    },
    offer: (kind) => offerFor(phone, kind),
    async playing(s, file) {
      const name = file.slice(dir.length);
      await until(() => !!channelOf(s) && fs.playbacks(channelOf(s)!.uuid).some((p) => p.endsWith(name)), 'the playback on the channel');
    },
    letPromptEnd(s) {
      fs.completePlayback(channelOf(s)!.uuid);
    },
    farEndGone(s) {
      fs.hangupChannel(channelOf(s)!.uuid);
    },
    async released(s) {
      const uuid = channelOf(s)?.uuid;
      await until(() => fs.commands.some((c) => c.uuid === uuid && c.app === 'hangup'), 'the channel hung up');
    },
  };
}
