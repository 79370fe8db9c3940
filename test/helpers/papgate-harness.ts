/**
 * papgate in-process for call tests: `loadConfig` for loopback (temp SQLite
 * file, fixed SIP port, small RTP range, short IVR timers, emergency gateway
 * at a SIPp UAS), `startPapgate`, one tenant, devices made through
 * `instance.services` as the CLI would. Also the phone's "ear": a UDP socket
 * named in the SDP offer that counts papgate's RTP and tells which prompt it
 * heard (the harness can install test prompts that are pure tones, one
 * frequency per prompt, so the audio itself says what papgate announced).
 */
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { CLI_ACTOR } from '../../src/app/actor';
import type { DeviceView } from '../../src/app/device-view';
import { shippedPromptsDir } from '../../src/app/prompt-library';
import { loadConfig, type Config } from '../../src/config/config';
import { PROMPT_NAMES, type PromptName } from '../../src/domain/ivr';
import type { AuditEvent } from '../../src/domain/types';
import { startPapgate, type PapgateInstance } from '../../src/main';
import { decodeG711, encodeG711 } from '../../src/media/embedded/g711';
import { decodeWav, encodeWavPcm16 } from '../../src/media/embedded/wav';
import type { EmbeddedMediaStats } from '../../src/media/embedded';
import { createLogger } from '../../src/observability/logger';
import type { Clock } from '../../src/ports/clock';
import type { Store } from '../../src/ports/store';
import { stageScenario } from './dtmf-scenarios';
import { PORTS, reserveHarnessPorts } from './harness-ports';
import { runSipp, type SippOptions, type SippResult } from './sipp';

export { PORTS, reserveHarnessPorts } from './harness-ports';

/** The ear of a SIPp phone started with this localPort (see PORTS). */
export const earPort = (sippLocalPort: number) => sippLocalPort + 12;

/** Short IVR timers: long enough never to fire while a scenario is typing. */
export const TEST_IVR_ENV = Object.freeze({
  PAPGATE_IVR_FIRST_DIGIT_SECONDS: '10',
  PAPGATE_IVR_INTER_DIGIT_SECONDS: '5',
  PAPGATE_IVR_REPROMPTS: '1',
});

/** Test prompts: one pure tone per prompt (no DTMF pair can come of a single tone). */
export const PROMPT_TONES: Readonly<Record<PromptName, number>> = Object.freeze({
  'enter-pin': 350,
  'wrong-pin': 500,
  'locked-out': 650,
  'blocked-now': 800,
  'auth-not-possible': 950,
  blocked: 1100,
  success: 1250,
  'already-authenticated': 1400,
  'service-unavailable': 1550,
  goodbye: 1700,
});

/**
 * Seconds each test prompt lasts. `enter-pin` is long so that digits typed
 * during it visibly cut it (barge-in); the announcements that end a call
 * without input are long enough for a scenario to type into them.
 */
export const PROMPT_SECONDS: Readonly<Record<PromptName, number>> = Object.freeze({
  'enter-pin': 2,
  'wrong-pin': 0.4,
  'locked-out': 0.6,
  'blocked-now': 0.6,
  'auth-not-possible': 1.5,
  blocked: 1.5,
  success: 0.6,
  'already-authenticated': 1.5,
  'service-unavailable': 0.6,
  goodbye: 0.6,
});

export interface TestClock extends Clock {
  /** Moves papgate's clock forward (lock-out ends, nonces age). */
  advance(ms: number): void;
}

export interface PapgateHarnessOptions {
  /** More PAPGATE_* settings (override the harness's). */
  env?: Record<string, string>;
  /** 'tones' (default): the test prompts above; 'shipped': the real voice prompts. */
  prompts?: 'tones' | 'shipped';
  /** Emergency gateway port on 127.0.0.1 (default PORTS.gateway); null: none configured. */
  gatewayPort?: number | null;
  /** Puts a wrapper in front of papgate's store (a store that hangs or fails). */
  wrapStore?: (store: Store) => Store;
}

export interface PapgateHarness {
  instance: PapgateInstance;
  config: Config;
  clock: TestClock;
  /** The temp dir (DB, prompts); removed by stop(). */
  dir: string;
  tenant: string;
  /** Creates a device of the tenant (Yealink T46S unless said otherwise). */
  addDevice(o?: { mac?: string; site?: string; vendor?: string; model?: string }): Promise<DeviceView>;
  device(mac: string): Promise<DeviceView>;
  /** PAP attempts recorded in the audit log for this device, oldest first. */
  attempts(mac: string): Promise<AuditEvent[]>;
  /** The embedded media engine's counters. */
  mediaStats(): EmbeddedMediaStats;
  /** Resolves when no media session is open any more (bounded). */
  mediaIdle(timeoutMs?: number): Promise<void>;
  /** papgate's log so far (JSON lines), for failure messages. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

let macCounter = 0;

/** A fresh MAC (Yealink OUI 00:15:65) for this process; each harness has a database of its own. */
export function nextMac(): string {
  macCounter++;
  return `001565${macCounter.toString(16).padStart(6, '0')}`;
}

export async function startPapgateHarness(o: PapgateHarnessOptions = {}): Promise<PapgateHarness> {
  await reserveHarnessPorts();
  const dir = mkdtempSync(path.join(tmpdir(), 'papgate-calls-'));
  const logLines: string[] = [];
  try {
    const promptsDir = o.prompts === 'shipped' ? undefined : writeTonePrompts(path.join(dir, 'prompts'));
    const gatewayPort = o.gatewayPort === undefined ? PORTS.gateway : o.gatewayPort;
    const env: Record<string, string> = {
      PAPGATE_DB: path.join(dir, 'papgate.db'),
      PAPGATE_LOG_LEVEL: process.env.PAPGATE_TEST_LOG ?? 'info',
      PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
      PAPGATE_PROVISIONING_PORT: '0',
      PAPGATE_ADMIN_ADDRESS: '127.0.0.1',
      PAPGATE_ADMIN_PORT: '0',
      PAPGATE_PUBLIC_URL: 'http://127.0.0.1:8080', // only written into configurations; nothing listens there
      PAPGATE_SIGNALLING: 'embedded',
      PAPGATE_MEDIA: 'embedded',
      PAPGATE_SIP_ADDRESS: '127.0.0.1',
      PAPGATE_SIP_PORT: String(PORTS.sip),
      PAPGATE_SIP_TRANSPORTS: 'udp',
      PAPGATE_SIP_ADVERTISED_ADDRESS: '127.0.0.1',
      PAPGATE_RTP_ADDRESS: '127.0.0.1',
      PAPGATE_RTP_PORT_MIN: String(PORTS.rtpMin),
      PAPGATE_RTP_PORT_MAX: String(PORTS.rtpMax),
      PAPGATE_RTP_TIMEOUT_SECONDS: '20',
      PAPGATE_MAX_CALL_SECONDS: '60',
      PAPGATE_MAX_CALLS_PER_DEVICE: '10', // the parallel-guesses test calls from one device at once
      PAPGATE_LIMIT_IVR_CALLS_PER_DEVICE_PER_MINUTE: '0', // call tests call one device many times a minute; the limits have their own tests
      PAPGATE_LIMIT_IVR_CALLS_PER_MINUTE: '0',
      ...TEST_IVR_ENV,
      ...(promptsDir ? { PAPGATE_PROMPTS_DIR: promptsDir } : {}),
      ...(gatewayPort !== null ? { PAPGATE_EMERGENCY_GATEWAY: `sip:127.0.0.1:${gatewayPort}` } : {}),
      // The call suites run with the media engine on either thread: PAPGATE_MEDIA_THREAD=on|off npx mocha ...
      ...(process.env.PAPGATE_MEDIA_THREAD ? { PAPGATE_MEDIA_THREAD: process.env.PAPGATE_MEDIA_THREAD } : {}),
      ...o.env,
    };
    const config = loadConfig(env);
    let offset = 0;
    const clock: TestClock = {
      now: () => Date.now() + offset,
      advance: (ms) => {
        offset += ms;
      },
    };
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(line);
        if (logLines.length > 4000) logLines.splice(0, logLines.length - 4000);
        done();
      },
    });
    const log = createLogger({ level: config.logLevel, destination: sink });
    const instance = await startPapgate(config, { log, clock, wrapStore: o.wrapStore });
    const tenant = `calls-${process.pid}-${Date.now().toString(36)}`;
    await instance.services.tenants.create(CLI_ACTOR, tenant, 'en');
    await instance.services.tenants.addSite(CLI_ACTOR, tenant, 'head-office');
    const media = instance.media as unknown as { stats(): EmbeddedMediaStats } | null;
    const embedded = !!media && typeof media.stats === 'function';
    // the real-stack run (scripts/real-stack) uses this harness with FreeSWITCH media
    if (!embedded && config.media === 'embedded') throw new Error('papgate did not start the embedded media engine');
    const stats = (): EmbeddedMediaStats => {
      if (!embedded) throw new Error('media stats exist for the embedded media engine only');
      return media.stats();
    };

    const harness: PapgateHarness = {
      instance,
      config,
      clock,
      dir,
      tenant,
      addDevice: (d = {}) =>
        instance.services.devices.create(CLI_ACTOR, {
          tenant,
          mac: d.mac ?? nextMac(),
          vendor: d.vendor ?? 'yealink',
          model: d.model ?? 'T46S',
          site: d.site,
        }),
      device: (mac) => instance.services.devices.show(CLI_ACTOR, mac),
      attempts: async (mac) =>
        (await instance.services.audit.recent(CLI_ACTOR, tenant, 1000))
          .filter((e) => e.mac === mac && e.action === 'pap-attempt')
          .sort((a, b) => (a.id ?? 0) - (b.id ?? 0)),
      mediaStats: stats,
      mediaIdle: async (timeoutMs = 5000) => {
        const until = Date.now() + timeoutMs;
        while (stats().sessions > 0) {
          if (Date.now() > until) throw new Error(`${stats().sessions} media session(s) still open after ${timeoutMs} ms`);
          await sleep(50);
        }
      },
      logTail: (n = 60) => logLines.slice(-n).join('\n'),
      stop: async () => {
        try {
          await instance.stop();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
    return harness;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Writes prompts/en/<name>.wav as pure tones; returns the prompts dir. */
export function writeTonePrompts(dir: string): string {
  mkdirSync(path.join(dir, 'en'), { recursive: true });
  for (const name of PROMPT_NAMES) {
    const n = Math.round(PROMPT_SECONDS[name] * 8000);
    const samples = new Int16Array(n);
    const f = PROMPT_TONES[name];
    for (let i = 0; i < n; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * f * i) / 8000));
    writeFileSync(path.join(dir, 'en', `${name}.wav`), encodeWavPcm16(samples));
  }
  return dir;
}

/** Wrong PAPs through the app service until the device is locked out (`failed`). */
export async function lockOut(h: PapgateHarness, d: DeviceView): Promise<void> {
  const wrong = d.pap === '000000' ? '111111' : '000000';
  for (let i = 0; i < h.config.maxFailures; i++) await h.instance.services.authentication.attempt(d.mac, wrong, '127.0.0.1');
}

/** Lock-outs (moving papgate's clock past each one) until the device is `blocked`. */
export async function block(h: PapgateHarness, d: DeviceView): Promise<void> {
  for (let round = 1; round <= h.config.maxLockouts; round++) {
    await lockOut(h, d);
    if (round < h.config.maxLockouts) h.clock.advance((h.config.lockoutSeconds + 1) * 1000);
  }
}

export interface PhoneOptions extends Partial<SippOptions> {
  /** Files to stage next to a copy of the scenario (pcaps), see stageScenario. */
  files?: Parameters<typeof stageScenario>[1];
  /** A password other than the device's (wrong-credential tests). */
  password?: string;
}

/**
 * Runs a phone scenario (SIPp UAC on PORTS.phone unless said otherwise) as
 * the device: digest credentials from the DeviceView, `-set user` and
 * `-set dial *89` unless `vars` say otherwise.
 */
export async function runPhone(scenario: string, device: Pick<DeviceView, 'sipUsername' | 'sipPassword'>, o: PhoneOptions = {}): Promise<SippResult> {
  const { files, password, vars, ...rest } = o;
  const staged = files ? stageScenario(scenario, files) : null;
  try {
    return await runSipp({
      scenario: staged?.scenario ?? scenario,
      target: `127.0.0.1:${PORTS.sip}`,
      localPort: PORTS.phone,
      timeoutSec: 30,
      auth: { username: device.sipUsername, password: password ?? device.sipPassword },
      ...rest,
      vars: { user: device.sipUsername, dial: '*89', ...vars },
    });
  } finally {
    staged?.remove();
  }
}

/** Fails with SIPp's error trace, its last messages and papgate's log. */
/** Polls `probe` until it yields a value (bounded); the error carries papgate's log. */
export async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, h: PapgateHarness, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms\n--- papgate log ---\n${h.logTail(40)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function sippPassed(h: PapgateHarness, r: SippResult, who = 'SIPp'): void {
  if (r.code === 0) return;
  throw new Error(
    `${who} failed (exit ${r.code}):\n${r.errors}\n--- ${who}: last messages ---\n` +
      `${r.messages.slice(-4000)}\n--- ${who}: stderr ---\n${r.stderr.slice(-1000)}\n--- papgate log ---\n${h.logTail()}`,
  );
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// --- the phone's ear ---------------------------------------------------------

export interface HeardStream {
  ssrc: number;
  /** Where papgate sent it from (its RTP port). */
  from: string;
  packets: number;
  payloadTypes: Set<number>;
  /** Sequence numbers that did not follow the previous one by 1. */
  sequenceBreaks: number;
  /** Timestamp steps other than 160 (20 ms of 8 kHz audio). */
  timestampBreaks: number;
  /** Frames that carried sound (not G.711 silence). */
  soundFrames: number;
  /** The prompts recognised in order, each with how many 20 ms frames of it were heard. */
  prompts: { name: PromptName; frames: number }[];
  /** The G.711 payloads of the first AUDIO_KEPT_FRAMES packets, back to back. */
  audio: Buffer;
}

const AUDIO_KEPT_FRAMES = 500;

export interface RtpEar {
  port: number;
  streams(): HeardStream[];
  /** All packets heard. */
  packets(): number;
  /** The prompt sequence of the one stream heard (throws if there were several). */
  promptsHeard(): PromptName[];
  close(): Promise<void>;
}

const MIN_PROMPT_FRAMES = 3;

/**
 * A UDP socket standing in for the phone's RTP port. It validates what it gets
 * as RTP (version 2, one SSRC per call, consecutive sequence numbers, 160
 * samples per packet within a talkspurt) and recognises the test prompts by their tone.
 */
export async function startRtpEar(port: number): Promise<RtpEar> {
  const socket = dgram.createSocket('udp4');
  const streams = new Map<
    number,
    HeardStream & {
      lastSeq?: number;
      lastTs?: number;
      run?: { name: PromptName | null; frames: number };
      chunks: Buffer[];
    }
  >();
  let total = 0;
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 12 || msg[0]! >> 6 !== 2) return;
    total++;
    const pt = msg[1]! & 0x7f;
    const seq = msg.readUInt16BE(2);
    const ts = msg.readUInt32BE(4);
    const ssrc = msg.readUInt32BE(8);
    let s = streams.get(ssrc);
    if (!s) {
      s = {
        ssrc,
        from: `${rinfo.address}:${rinfo.port}`,
        packets: 0,
        payloadTypes: new Set(),
        sequenceBreaks: 0,
        timestampBreaks: 0,
        soundFrames: 0,
        prompts: [],
        audio: Buffer.alloc(0),
        chunks: [],
      };
      streams.set(ssrc, s);
    }
    s.packets++;
    s.payloadTypes.add(pt);
    if (s.lastSeq !== undefined && seq !== ((s.lastSeq + 1) & 0xffff)) s.sequenceBreaks++;
    // Within a talkspurt a frame the scheduler skipped under load keeps the media clock: the
    // timestamp then advances by a whole number of 20 ms frames (RFC 3550), which is no break.
    // A talkspurt (marker bit) starts wherever the clock stands after the quiet: only forward.
    const marker = (msg[1]! & 0x80) !== 0;
    if (s.lastTs !== undefined) {
      const step = (ts - s.lastTs) >>> 0;
      if (!(marker ? isForwardStep(step) : isWholeFrameStep(step))) s.timestampBreaks++;
    }
    s.lastSeq = seq;
    s.lastTs = ts;
    if (pt !== 0 && pt !== 8) return;
    const payload = msg.subarray(12);
    if (s.chunks.length < AUDIO_KEPT_FRAMES) s.chunks.push(Buffer.from(payload));
    const silent = payload.every((b) => b === (pt === 0 ? 0xff : 0xd5));
    if (!silent) s.soundFrames++;
    const name = silent ? null : recognise(decodeG711(pt === 0 ? 'PCMU' : 'PCMA', payload));
    // A talkspurt (marker) is a new prompt, or the same one again: never one run with what came before the quiet.
    if (s.run && s.run.name === name && !marker) {
      s.run.frames++;
    } else {
      if (s.run?.name && s.run.frames >= MIN_PROMPT_FRAMES) s.prompts.push({ name: s.run.name, frames: s.run.frames });
      s.run = { name, frames: 1 };
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const snapshot = (): HeardStream[] =>
    [...streams.values()].map((s) => {
      const prompts = [...s.prompts];
      if (s.run?.name && s.run.frames >= MIN_PROMPT_FRAMES) prompts.push({ name: s.run.name, frames: s.run.frames });
      return {
        ssrc: s.ssrc,
        from: s.from,
        packets: s.packets,
        payloadTypes: new Set(s.payloadTypes),
        sequenceBreaks: s.sequenceBreaks,
        timestampBreaks: s.timestampBreaks,
        soundFrames: s.soundFrames,
        prompts,
        audio: Buffer.concat(s.chunks),
      };
    });
  return {
    port,
    streams: snapshot,
    packets: () => total,
    promptsHeard: () => {
      const all = snapshot();
      if (all.length !== 1) throw new Error(`expected RTP from one call, heard ${all.length} streams`);
      return all[0]!.prompts.map((p) => p.name);
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/**
 * A stretch of a shipped prompt as papgate sends it in PCMU (`ms` long, from
 * 20 ms after its first sound), to find in an ear's audio.
 */
export function shippedPromptExcerpt(lang: string, name: PromptName, ms = 200): Buffer {
  const encoded = encodeG711('PCMU', decodeWav(readFileSync(path.join(shippedPromptsDir(), lang, `${name}.wav`))));
  const start = encoded.findIndex((b) => b !== 0xff);
  const from = Math.max(0, start) + 160;
  const excerpt = encoded.subarray(from, from + ms * 8);
  if (start < 0 || excerpt.length < ms * 8) throw new Error(`prompts/${lang}/${name}.wav has no ${ms} ms of sound`);
  return excerpt;
}

const TONE_NAMES = Object.keys(PROMPT_TONES) as PromptName[];
const TONE_COEFFS = TONE_NAMES.map((n) => 2 * Math.cos((2 * Math.PI * PROMPT_TONES[n]) / 8000));

/** The test prompt this 20 ms frame belongs to, or null (speech, noise, a frame spanning two prompts). */
function recognise(samples: Int16Array): PromptName | null {
  let best = -1;
  let bestPower = 0;
  let second = 0;
  TONE_COEFFS.forEach((c, i) => {
    let s1 = 0;
    let s2 = 0;
    for (let k = 0; k < samples.length; k++) {
      const s0 = (samples[k] as number) + c * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - c * s1 * s2;
    if (power > bestPower) {
      second = bestPower;
      bestPower = power;
      best = i;
    } else if (power > second) {
      second = power;
    }
  });
  const minPower = ((1000 * samples.length) / 2) ** 2;
  return best >= 0 && bestPower > minPower && bestPower > 20 * second ? TONE_NAMES[best]! : null;
}

/** A timestamp step of one or a few whole 20 ms frames at 8 kHz (a second at most). */
function isWholeFrameStep(step: number): boolean {
  return step > 0 && step % 160 === 0 && step <= 8000;
}

/** A timestamp step forward, by a minute of 8 kHz audio at most (the quiet before a talkspurt). */
function isForwardStep(step: number): boolean {
  return step > 0 && step <= 60 * 8000;
}
