/**
 * The embedded media engine alone: N sessions, each playing a long tone and
 * latched to an echoing phone socket in another process (`rtp-echo.ts`), so
 * every session sends and receives 50 packets a second, with no SIP, store or
 * IVR around it. Prints
 * the engine's CPU per packet sent (user + system of this process over the
 * window, the echoes it reads included) and the send jitter. Ports: the
 * engine from 30000, the phones from 40000 (run it in a network namespace).
 * Knobs: `BENCH_RTP_SESSIONS=100,500`, `BENCH_RTP_SECONDS=8`. Profile it with
 * `node --cpu-prof --require tsx/cjs bench/rtp.ts` (the engine runs in this process).
 * `PAPGATE_MEDIA_THREAD=on` runs the engine in its worker thread instead.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EmbeddedMediaEngine, ThreadedMediaEngine } from '../src/media/embedded';
import { mediaThreadNice } from '../src/compose-calls';
import { loadConfig } from '../src/config/config';
import { silentLogger } from '../src/ports/logger';
import { encodeWavPcm16 } from '../src/media/embedded/wav';

const ENGINE_PORTS = 30000;
const PHONE_PORTS = 40000;
const WARM_UP_MS = 2000;
/** PAPGATE_MEDIA_THREAD=on: the engine in its worker thread (CPU is the whole process, both threads; its counts lag up to 0.1 s), at PAPGATE_MEDIA_NICE. */
const MEDIA = loadConfig({ PAPGATE_MEDIA_THREAD: process.env.PAPGATE_MEDIA_THREAD ?? 'off', PAPGATE_MEDIA_NICE: process.env.PAPGATE_MEDIA_NICE });
const THREADED = MEDIA.mediaThread === 'on';
const NICE = mediaThreadNice(MEDIA);

const offer = (port: number) =>
  [
    'v=0',
    'o=phone 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:101 telephone-event/8000',
    'a=sendrecv',
    '',
  ].join('\r\n');

/** A tone longer than the warm-up and the window: a session sends only while a prompt plays. */
function writeTone(seconds: number): { file: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'papgate-bench-rtp-'));
  const file = path.join(dir, 'tone.wav');
  writeFileSync(file, encodeWavPcm16(Int16Array.from({ length: seconds * 8000 }, (_, i) => Math.round(3000 * Math.sin(i / 4)))));
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function step(sessions: number, seconds: number): Promise<string> {
  const tone = writeTone(WARM_UP_MS / 1000 + seconds + 5);
  const phones = fork(path.join(__dirname, 'rtp-echo.ts'), [String(PHONE_PORTS), String(sessions)], { execArgv: ['--require', 'tsx/cjs'] });
  try {
    await new Promise((resolve) => phones.once('message', resolve));
    const options = {
      bindAddress: '127.0.0.1',
      advertisedAddress: '127.0.0.1',
      rtpPortMin: ENGINE_PORTS,
      rtpPortMax: ENGINE_PORTS + 2 * sessions + 99,
      inactivityMs: 0,
      log: silentLogger,
    };
    const engine = THREADED ? new ThreadedMediaEngine(options, { nice: NICE }) : new EmbeddedMediaEngine(options);
    try {
      for (let i = 0; i < sessions; i++) {
        const session = await engine.createSession({ callId: `bench-${i}`, offerSdp: offer(PHONE_PORTS + 2 * i), signallingAddress: '127.0.0.1' });
        session.ignoreDigits?.(); // as in the IVR once digits come as SIP INFO
        session.play([tone.file]);
      }
      await new Promise((r) => setTimeout(r, WARM_UP_MS));
      engine.resetStats();
      const cpu = process.cpuUsage();
      const start = performance.now();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const used = process.cpuUsage(cpu);
      const wallMs = performance.now() - start;
      const s = engine.stats();
      const cpuMs = (used.user + used.system) / 1000;
      return [
        sessions,
        s.packetsSent,
        s.packetsReceived,
        ((1000 * cpuMs) / s.packetsSent).toFixed(1),
        ((100 * cpuMs) / wallMs).toFixed(0),
        s.jitterP50Ms.toFixed(1),
        s.jitterP99Ms.toFixed(1),
        s.framesSkipped,
      ].join('  ');
    } finally {
      await engine.close();
    }
  } finally {
    phones.kill();
    tone.remove();
  }
}

export async function benchRtp(): Promise<void> {
  const steps = (process.env.BENCH_RTP_SESSIONS ?? '100,300,500').split(',').map(Number);
  const seconds = Number(process.env.BENCH_RTP_SECONDS ?? 8);
  console.log('sessions  sent  received  CPU µs/packet sent  cpu %  send jitter p50 ms  p99  skipped');
  for (const n of steps) console.log(await step(n, seconds));
}

if (require.main === module) {
  benchRtp().then(
    () => process.exit(0),
    (e: Error) => {
      console.error(e.stack ?? e.message);
      process.exit(1);
    },
  );
}
