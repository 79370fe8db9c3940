/**
 * The papgate process of the call benchmark (bench/calls.ts forks it, so the
 * SIPp driver and papgate never share an event loop). It starts papgate with
 * the embedded stack on 127.0.0.1 and answers the driver over IPC:
 *   {cmd: 'devices', count} -> {devices: [[sipUsername, sipPassword, pap], ...]}
 *   {cmd: 'verdicts'}       -> {successful, withFailures}: devices that took a right PAP / counted a wrong one
 *   {cmd: 'mark'}           -> starts a measurement window (media stats reset)
 *   {cmd: 'sample'}         -> {sessions, media stats, cpu and event-loop delay since the mark}
 *   {cmd: 'stop'}           -> stops papgate and exits
 * PAPGATE_MEDIA_THREAD=auto|on|off and PAPGATE_MEDIA_NICE in the driver's
 * environment pick where the media engine runs and at which priority (its
 * cpu figure is the whole process, every thread).
 * With BENCH_CALLS_STACK=drachtio-freeswitch it runs papgate on the
 * production stack instead (the driver starts the servers and passes the
 * PAPGATE_* settings in the environment); `sessions` are then papgate's
 * active calls and the media figures stay zero (FreeSWITCH sends the RTP).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CLI_ACTOR } from '../src/app/actor';
import { loadConfig } from '../src/config/config';
import { startPapgate } from '../src/main';
import type { EmbeddedMediaStats } from '../src/media/embedded';

export interface BenchServerSample {
  sessions: number;
  media: EmbeddedMediaStats;
  /** CPU time of this process (user + system) since the mark, in ms. */
  cpuMs: number;
  wallMs: number;
  eventLoopDelayP50Ms: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
}

export type BenchCommand = { cmd: 'devices'; count: number } | { cmd: 'verdicts' } | { cmd: 'mark' } | { cmd: 'sample' } | { cmd: 'stop' };

export type BenchRequest = BenchCommand & { id: number };

/** RTP from 20000 up: 2 ports a call (RTP + RTCP) for BENCH_RTP_CALLS calls and some spare, below the ephemeral range. */
const RTP_CALLS = Number(process.env.BENCH_RTP_CALLS ?? 350);
export const BENCH_PORTS = Object.freeze({ sip: 18200, rtpMin: 20000, rtpMax: 20000 + 2 * RTP_CALLS + 199 });

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'papgate-bench-calls-'));
  const config = loadConfig({
    PAPGATE_DB: path.join(dir, 'papgate.db'),
    PAPGATE_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
    PAPGATE_PROVISIONING_PORT: '0',
    PAPGATE_ADMIN_ADDRESS: '127.0.0.1',
    PAPGATE_ADMIN_PORT: '0',
    PAPGATE_SIP_ADDRESS: '127.0.0.1',
    PAPGATE_SIP_PORT: String(BENCH_PORTS.sip),
    PAPGATE_SIP_TRANSPORTS: 'udp',
    PAPGATE_SIP_ADVERTISED_ADDRESS: '127.0.0.1',
    PAPGATE_RTP_ADDRESS: '127.0.0.1',
    PAPGATE_RTP_PORT_MIN: String(BENCH_PORTS.rtpMin),
    PAPGATE_RTP_PORT_MAX: String(BENCH_PORTS.rtpMax),
    PAPGATE_LIMIT_EXEMPT: '127.0.0.0/8', // the whole load comes from loopback
    // The media engine on its own thread or not, as the driver's environment says (default: papgate's).
    ...(process.env.PAPGATE_MEDIA_THREAD ? { PAPGATE_MEDIA_THREAD: process.env.PAPGATE_MEDIA_THREAD } : {}),
    ...(process.env.PAPGATE_MEDIA_NICE ? { PAPGATE_MEDIA_NICE: process.env.PAPGATE_MEDIA_NICE } : {}),
    ...(process.env.BENCH_CALLS_STACK === 'drachtio-freeswitch' ? papgateEnv() : {}),
  });
  const instance = await startPapgate(config);
  const media = mediaStatsOf(instance);
  const tenant = 'bench';
  await instance.services.tenants.create(CLI_ACTOR, tenant, 'en');
  let macs = 0;
  let cpuMark = process.cpuUsage();
  let wallMark = performance.now();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let stopping: Promise<void> | null = null;
  const shutdown = () => {
    stopping ??= instance.stop().finally(() => rmSync(dir, { recursive: true, force: true }));
    return stopping;
  };

  const handle = async (m: BenchRequest): Promise<unknown> => {
    switch (m.cmd) {
      case 'devices': {
        const out: [string, string, string][] = [];
        for (let i = 0; i < m.count; i++) {
          const mac = `02b0000${(++macs).toString(16).padStart(5, '0')}`; // locally administered
          const d = await instance.services.devices.create(CLI_ACTOR, { tenant, mac, vendor: 'yealink', model: 'T46S' });
          out.push([d.sipUsername, d.sipPassword, d.pap ?? '']);
        }
        return { devices: out };
      }
      case 'verdicts': {
        const all = await instance.services.devices.list(CLI_ACTOR, tenant);
        return { successful: all.filter((d) => d.state === 'successful').length, withFailures: all.filter((d) => d.failures > 0).length };
      }
      case 'mark':
        media.resetStats();
        loop.reset();
        cpuMark = process.cpuUsage();
        wallMark = performance.now();
        return {};
      case 'sample': {
        const cpu = process.cpuUsage(cpuMark);
        const stats = media.stats();
        const sessions = media.embedded ? stats.sessions : ((await instance.metrics.activeCalls.get()).values[0]?.value ?? 0);
        const sample: BenchServerSample = {
          sessions,
          media: stats,
          cpuMs: (cpu.user + cpu.system) / 1000,
          wallMs: performance.now() - wallMark,
          eventLoopDelayP50Ms: loop.percentile(50) / 1e6,
          eventLoopDelayP99Ms: loop.percentile(99) / 1e6,
          eventLoopDelayMaxMs: loop.max / 1e6,
        };
        return sample;
      }
      case 'stop':
        await shutdown();
        return {};
    }
  };

  process.on('message', (m: BenchRequest) => {
    handle(m).then(
      (result) => {
        process.send?.({ id: m.id, result });
        if (m.cmd === 'stop') process.disconnect?.();
      },
      (err: Error) => process.send?.({ id: m.id, error: err.message }),
    );
  });
  process.on('disconnect', () => {
    void shutdown().finally(() => process.exit(0));
  });
  process.send?.({ id: 0, result: { ready: true, sipPort: instance.sipPort } });
}

/** The PAPGATE_* settings the driver passed (production stack). */
function papgateEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('PAPGATE_') && !!e[1]));
}

const NO_MEDIA_STATS: EmbeddedMediaStats = {
  sessions: 0,
  packetsSent: 0,
  packetsReceived: 0,
  framesSkipped: 0,
  jitterP50Ms: 0,
  jitterP99Ms: 0,
  badPacketsReceived: 0,
  foreignPacketsReceived: 0,
  srtpRejected: 0,
};

/** The embedded engine's stats, or zeros for FreeSWITCH media. */
function mediaStatsOf(instance: Awaited<ReturnType<typeof startPapgate>>) {
  const m = instance.media as unknown as { stats?(): EmbeddedMediaStats; resetStats?(): void } | null;
  const embedded = typeof m?.stats === 'function';
  return {
    embedded,
    stats: (): EmbeddedMediaStats => (embedded ? m!.stats!() : { ...NO_MEDIA_STATS }),
    resetStats: () => m?.resetStats?.(),
  };
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`bench server failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}
