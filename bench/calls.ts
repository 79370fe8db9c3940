/**
 * Call benchmark: SIPp drives many concurrent IVR calls (digest auth, the
 * voice prompt, a PIN and # as SIP INFO that cut it, the verdict) against
 * one papgate process with the
 * embedded SIP + media stack. Every call is a device of its own (its digest
 * user from SIPp's injection file); every other call types its right PAP,
 * the rest a wrong one, so the store checks and records each. For each
 * step of concurrent calls it reports whether every call passed, papgate's CPU
 * use, how far RTP sends strayed from the 20 ms grid (p50 / p99), and, from a
 * tshark capture on loopback (rtp-capture.ts), what the phones received:
 * RFC 3550 jitter, packet gaps, and the time from `#` to the verdict prompt.
 *
 * papgate runs in a child process (bench/calls-server.ts); SIPp runs with
 * -rtp_echo, so papgate also receives 50 packets per second per call, as it
 * would from phones. Ports: papgate SIP 18200, RTP from 20000 (2 per call of
 * the largest step, plus spare), SIPp 18210-18215.
 *
 * `benchCallsEmbedded(steps)` runs the steps; `calls-run.ts` (what `npm run
 * bench` calls) picks the steps and the stacks.
 */
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { mediaOnThread } from '../src/compose-calls';
import { loadConfig } from '../src/config/config';
import type { BenchCommand, BenchServerSample } from './calls-server';
import { profileArgs, summariseProfiles } from './profile';
import { analyse, captureMissing, startCapture, type ReceiverFigures } from './rtp-capture';

const SIPP_PORT = 18210;
const SCENARIO = path.resolve(__dirname, '..', 'scenarios', 'bench-ivr-call.xml');
/** SIPp's out-of-call scenario: answers papgate's check-sync NOTIFY (it has a Call-ID of its own) with 200. */
const CHECK_SYNC_ANSWER = path.resolve(__dirname, '..', 'scenarios', 'check-sync-notify.xml');
/** Seconds one scenario call lasts, roughly (1.5 s prompt, 1.75 s PIN and #, 4 s prompt again, setup). */
const CALL_SECONDS = 7.5;
/** Each step runs ROUNDS x N calls with at most N at once, so N are held for a while. */
const ROUNDS = 3;
const WINDOW_MS = 8000;

export interface CallsStepResult {
  concurrent: number;
  /** Calls that type their device's PAP / a wrong PIN. */
  rightPins: number;
  wrongPins: number;
  /** What the store recorded for this step's devices: a right PAP taken, a wrong one counted. */
  verdictsRight: number;
  verdictsWrong: number;
  /** Sessions papgate held during the measurement window (min / max of 2 samples per second). */
  heldMin: number;
  heldMax: number;
  callsPassed: number;
  callsFailed: number;
  /** papgate's CPU over the window, % of one core. */
  cpuPercent: number;
  jitterP50Ms: number;
  jitterP99Ms: number;
  packetsSent: number;
  packetsReceived: number;
  framesSkipped: number;
  eventLoopDelayP99Ms: number;
  /** CPU of other processes over the same window (drachtio-server, FreeSWITCH), % of one core. */
  otherCpuPercent?: Record<string, number>;
  /** From a loopback capture of the whole step (tshark): what the phones received. */
  receiver?: ReceiverFigures;
}

/** Where papgate's RTP and SIP are, for the receiver-side capture. */
export interface CapturePorts {
  rtpMin: number;
  rtpMax: number;
  sipPort: number;
}

/** papgate's RTP range for a server started for `maxCalls` (as calls-server.ts sizes it). */
export const portsFor = (maxCalls: number): CapturePorts => ({ rtpMin: 20000, rtpMax: 20000 + 2 * maxCalls + 199, sipPort: 18200 });

/** CPU of processes besides papgate, measured over a step's window (see calls-real-stack.ts). */
export interface OtherCpu {
  mark(): void;
  percent(): Record<string, number>;
}

export class BenchServer {
  private next = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  readonly ready: Promise<unknown>;

  private constructor(private readonly child: ChildProcess) {
    let readyResolve!: (v: unknown) => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.waiting.set(0, { resolve: readyResolve, reject: readyReject });
    child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(m.error));
      else w?.resolve(m.result);
    });
    child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`bench server exited (${code})`));
      this.waiting.clear();
    });
  }

  static start(maxCalls: number, env: Record<string, string> = {}): BenchServer {
    const child = fork(path.join(__dirname, 'calls-server.ts'), [], {
      execArgv: [...profileArgs('calls'), '--require', 'tsx/cjs'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, BENCH_RTP_CALLS: String(maxCalls), ...env },
    });
    return new BenchServer(child);
  }

  request<T>(m: BenchCommand): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...m, id });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    await this.request({ cmd: 'stop' }).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

interface Verdicts {
  successful: number;
  withFailures: number;
}

/** One line of SIPp's injection file per call: user;password;the six digits it types. */
function writeCalls(file: string, devices: [string, string, string][]): { right: number; wrong: number } {
  const wrong = (pap: string) => pap.slice(0, 5) + String((Number(pap[5]) + 1) % 10);
  const lines = devices.map(([user, password, pap], i) => [user, password, ...(i % 2 === 0 ? pap : wrong(pap))].join(';'));
  writeFileSync(file, `SEQUENTIAL\n${lines.join('\n')}\n`);
  return { right: Math.ceil(devices.length / 2), wrong: Math.floor(devices.length / 2) };
}

interface SippRun {
  done: Promise<{ code: number; passed: number; failed: number; errors: string }>;
  kill(): void;
}

function startSipp(dir: string, callsFile: string, concurrent: number, total: number): SippRun {
  const errors = path.join(dir, 'errors.log');
  const args = [
    `127.0.0.1:18200`,
    '-sf',
    SCENARIO,
    '-inf',
    callsFile,
    '-au',
    '[field0]',
    '-ap',
    '[field1]',
    '-i',
    '127.0.0.1',
    '-p',
    String(SIPP_PORT),
    '-cp',
    String(SIPP_PORT + 1),
    '-mp',
    String(SIPP_PORT + 2),
    '-rtp_echo',
    // A phone answers the check-sync NOTIFY after a right PIN; unanswered, papgate would resend it for 32 s (timer F).
    '-oocsf',
    CHECK_SYNC_ANSWER,
    '-l',
    String(concurrent),
    '-m',
    String(total),
    '-r',
    String(Math.ceil(concurrent / 4)),
    '-rp',
    '1000',
    '-timeout',
    `${Math.ceil((total / concurrent) * CALL_SECONDS * 3 + 60)}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_err',
    '-error_file',
    errors,
  ];
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out = (out + d.toString('utf8')).slice(-64 * 1024);
  });
  child.stderr.on('data', (d: Buffer) => {
    out = (out + d.toString('utf8')).slice(-64 * 1024);
  });
  const done = new Promise<{ code: number; passed: number; failed: number; errors: string }>((resolve) => {
    child.on('close', (code) => {
      let errText = '';
      try {
        errText = readFileSync(errors, 'utf8');
      } catch {
        // SIPp writes no error file when nothing went wrong
      }
      resolve({ code: code ?? -1, passed: lastCount(out, 'Successful call'), failed: lastCount(out, 'Failed call'), errors: errText });
    });
  });
  return { done, kill: () => child.kill('SIGKILL') };
}

/** The cumulative column of SIPp's final statistics screen for a row. */
function lastCount(screen: string, label: string): number {
  const rows = [...screen.matchAll(new RegExp(`${label}\\s*\\|\\s*(\\d+)\\s*\\|\\s*(\\d+)`, 'g'))];
  const last = rows.pop();
  return last ? Number(last[2]) : NaN;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runStep(server: BenchServer, concurrent: number, other?: OtherCpu, ports?: CapturePorts): Promise<CallsStepResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'papgate-bench-sipp-'));
  const files = { rtpFile: path.join(dir, 'rtp.pcap'), sipFile: path.join(dir, 'sip.pcap') };
  try {
    const capture = ports ? await startCapture({ ...ports, ...files }) : undefined;
    let result: CallsStepResult;
    try {
      result = await runCalls(server, concurrent, dir, other);
    } finally {
      await capture?.stop();
    }
    return ports ? { ...result, receiver: analyse({ ...ports, ...files }) } : result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runCalls(server: BenchServer, concurrent: number, dir: string, other?: OtherCpu): Promise<CallsStepResult> {
  const total = concurrent * ROUNDS;
  {
    // Fresh devices for every step: a right PAP ends a device's PIN phase.
    const { devices } = await server.request<{ devices: [string, string, string][] }>({ cmd: 'devices', count: total });
    const before = await server.request<Verdicts>({ cmd: 'verdicts' });
    const callsFile = path.join(dir, 'calls.csv');
    const mix = writeCalls(callsFile, devices);
    const sipp = startSipp(dir, callsFile, concurrent, total);
    let finished = false;
    void sipp.done.then(() => {
      finished = true;
    });
    try {
      // Wait until papgate holds (nearly) all N calls, then measure for a window.
      const rampUntil = Date.now() + CALL_SECONDS * 1000 * 2;
      for (;;) {
        const s = await server.request<BenchServerSample>({ cmd: 'sample' });
        if (s.sessions >= concurrent * 0.95 || finished || Date.now() > rampUntil) break;
        await sleep(250);
      }
      await server.request({ cmd: 'mark' });
      other?.mark();
      let heldMin = Infinity;
      let heldMax = 0;
      let sample: BenchServerSample | undefined;
      for (const end = Date.now() + WINDOW_MS; Date.now() < end && !finished;) {
        await sleep(500);
        sample = await server.request<BenchServerSample>({ cmd: 'sample' });
        heldMin = Math.min(heldMin, sample.sessions);
        heldMax = Math.max(heldMax, sample.sessions);
      }
      sample ??= await server.request<BenchServerSample>({ cmd: 'sample' });
      const otherCpuPercent = other?.percent();
      const result = await sipp.done;
      if (result.code !== 0 && result.errors) process.stderr.write(`SIPp (${concurrent} calls): ${result.errors.slice(0, 2000)}\n`);
      // wait until papgate has closed every call of this step
      for (let i = 0; i < 100; i++) {
        if ((await server.request<BenchServerSample>({ cmd: 'sample' })).sessions === 0) break;
        await sleep(100);
      }
      const after = await server.request<Verdicts>({ cmd: 'verdicts' });
      return {
        concurrent,
        rightPins: mix.right,
        wrongPins: mix.wrong,
        verdictsRight: after.successful - before.successful,
        verdictsWrong: after.withFailures - before.withFailures,
        heldMin: Number.isFinite(heldMin) ? heldMin : 0,
        heldMax,
        callsPassed: result.passed,
        callsFailed: result.failed,
        cpuPercent: (sample.cpuMs / sample.wallMs) * 100,
        jitterP50Ms: sample.media.jitterP50Ms,
        jitterP99Ms: sample.media.jitterP99Ms,
        packetsSent: sample.media.packetsSent,
        packetsReceived: sample.media.packetsReceived,
        framesSkipped: sample.media.framesSkipped,
        eventLoopDelayP99Ms: sample.eventLoopDelayP99Ms,
        otherCpuPercent,
      };
    } finally {
      sipp.kill();
    }
  }
}

export function print(results: CallsStepResult[]): void {
  const rows = results.map((r) => [
    String(r.concurrent),
    `${r.heldMin}-${r.heldMax}`,
    `${r.callsPassed}/${r.callsPassed + r.callsFailed}`,
    String(r.callsFailed),
    r.cpuPercent.toFixed(0),
    r.jitterP50Ms.toFixed(1),
    r.jitterP99Ms.toFixed(1),
    String(r.packetsSent),
    String(r.packetsReceived),
    String(r.framesSkipped),
    r.eventLoopDelayP99Ms.toFixed(1),
    `${r.verdictsRight}/${r.rightPins}`,
    `${r.verdictsWrong}/${r.wrongPins}`,
    ...receiverCells(r.receiver),
  ]);
  const head = [
    'calls',
    'held',
    'passed',
    'failed',
    'cpu %',
    'send jitter p50 ms',
    'p99',
    'rtp sent',
    'rtp recv',
    'skipped',
    'loop p99 ms',
    'PAP taken',
    'wrong counted',
    'rx jitter p50 ms',
    'p99',
    'rx gap p50 ms',
    'p99',
    'max',
    '#->verdict p50 ms',
    'p99',
    'matched',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');

/** Receiver-side columns (RFC 3550 jitter, gaps, # to verdict), or dashes without a capture. */
function receiverCells(x: ReceiverFigures | undefined): string[] {
  if (!x) return Array(8).fill('-') as string[];
  return [
    ms(x.jitterP50Ms),
    ms(x.jitterP99Ms),
    ms(x.gapP50Ms),
    ms(x.gapP99Ms),
    ms(x.gapMaxMs),
    ms(x.hashToVerdictP50Ms),
    ms(x.hashToVerdictP99Ms),
    `${x.verdictsMatched}/${x.hashes}`,
  ];
}

/** The steps on the embedded stack, printed as they finish; returns their results. */
export async function benchCallsEmbedded(steps: number[]): Promise<CallsStepResult[]> {
  console.log(`\ncalls: concurrent IVR calls (SIPp: prompt, PIN + # as SIP INFO, -rtp_echo) against one papgate process; steps ${steps.join(', ')}`);
  console.log(`media engine: ${mediaPlacement()}`);
  const server = BenchServer.start(Math.max(...steps));
  const results: CallsStepResult[] = [];
  // Receiver-side figures need tshark (and the right to capture); BENCH_CALLS_CAPTURE=0 turns it off.
  const noCapture = process.env.BENCH_CALLS_CAPTURE === '0' ? 'BENCH_CALLS_CAPTURE=0' : captureMissing();
  if (noCapture) console.log(`  no receiver-side capture: ${noCapture}`);
  try {
    await server.ready;
    for (const n of steps) {
      const r = await runStep(server, n, undefined, noCapture ? undefined : portsFor(Math.max(...steps)));
      results.push(r);
      console.log(
        `  ${n} concurrent (${r.rightPins} right PINs, ${r.wrongPins} wrong; store: ${r.verdictsRight} taken, ${r.verdictsWrong} counted wrong): ${r.callsPassed} passed, ${r.callsFailed} failed, cpu ${r.cpuPercent.toFixed(0)} %, ` +
          `send jitter p50 ${r.jitterP50Ms.toFixed(1)} ms p99 ${r.jitterP99Ms.toFixed(1)} ms` +
          (r.receiver
            ? `; received: ${r.receiver.streams} streams, ${r.receiver.packets} packets, RFC 3550 jitter p99 ${ms(r.receiver.jitterP99Ms)} ms, ` +
              `gap p99 ${ms(r.receiver.gapP99Ms)} ms, # to verdict p99 ${ms(r.receiver.hashToVerdictP99Ms)} ms`
            : ''),
      );
    }
  } finally {
    await server.stop();
  }
  summariseProfiles('calls');
  print(results);
  // The goal: 500 calls held with none failed, the phones receiving RTP with p99 jitter < 2 ms and the verdict < 50 ms after #.
  const best = results.filter((r) => r.callsFailed === 0 && r.callsPassed > 0).pop();
  const rx = best?.receiver;
  console.log(
    `most concurrent calls with none failed: ${best ? best.concurrent : 'none'} (goal 500)` +
      (rx ? `; there, received jitter p99 ${ms(rx.jitterP99Ms)} ms (goal < 2), # to verdict p99 ${ms(rx.hashToVerdictP99Ms)} ms (goal < 50)` : ''),
  );
  return results;
}

/** Where the embedded media engine runs in this run, as papgate's settings in this environment decide it. */
export function mediaPlacement(env: NodeJS.ProcessEnv = process.env): string {
  const c = loadConfig({ PAPGATE_MEDIA_THREAD: env.PAPGATE_MEDIA_THREAD, PAPGATE_MEDIA_NICE: env.PAPGATE_MEDIA_NICE });
  const how = `PAPGATE_MEDIA_THREAD=${c.mediaThread}, PAPGATE_MEDIA_NICE=${c.mediaNice}, ${availableParallelism()} cores`;
  return mediaOnThread(c) ? `its own thread, nice ${c.mediaNice} asked (${how})` : `the main event loop (${how})`;
}
