import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toolProblem } from './required-tools';

/**
 * Runs SIPp (Debian's sip-tester) for integration tests: always bounded
 * (-timeout, -timeout_error, -m, a kill after the timeout), -nostdin, and
 * traces (errors, messages, <log> lines) written to a temp dir and returned.
 *
 * Ports: SIPp binds its SIP port, a control port and media ports (mp..mp+3).
 * With `localPort` L it uses L (SIP), L+1 (control), L+2..L+5 (media) unless
 * `controlPort` / `mediaPort` say otherwise; without it the OS picks free ports.
 */

export interface SippOptions {
  /** Scenario file: absolute, or a name under the repository's scenarios/ directory. */
  scenario: string;
  /** host:port of the peer (ignored in 'uas' mode). */
  target: string;
  localPort?: number;
  mode?: 'uac' | 'uas';
  calls?: number;
  rate?: number;
  /** Scenario variables, `-set name value`, used as [$name]. */
  vars?: Record<string, string>;
  auth?: { username: string; password: string };
  timeoutSec?: number;
  transport?: 'u1' | 't1';
  extraArgs?: string[];
  mediaPort?: number;
  controlPort?: number;
  /** Local IP SIPp binds and puts in Via/Contact/SDP (default 127.0.0.1). */
  localIp?: string;
}

export interface SippResult {
  /** SIPp's exit code: 0 all calls passed, 1 some failed; -1 when it was killed. */
  code: number;
  stdout: string;
  stderr: string;
  /** The -trace_err file (what failed and why). */
  errors: string;
  /** The -trace_msg file (every message sent and received). */
  messages: string;
  /** The -trace_logs file (the scenario's <log> actions). */
  logs: string;
}

export interface SippUas {
  /** The SIP port the UAS listens on. */
  port: number;
  done: Promise<SippResult>;
  /** Kills SIPp if it is still running, and returns its result. */
  stop(): Promise<SippResult>;
}

const SCENARIOS = path.resolve(__dirname, '..', '..', 'scenarios');
const MAX_OUTPUT = 64 * 1024;

/** To skip a tier without SIPp, use requireTool(this, 'sipp', why): it reports the skip. */
export function sippAvailable(): boolean {
  return toolProblem('sipp') === null;
}

export async function runSipp(opts: SippOptions): Promise<SippResult> {
  return (await launch(opts)).done;
}

/** Starts a SIPp UAS and resolves once its SIP port is bound. */
export async function startSippUas(opts: Omit<SippOptions, 'mode' | 'target'> & { target?: string }): Promise<SippUas> {
  const run = await launch({ ...opts, target: opts.target ?? '', mode: 'uas' });
  try {
    await waitUntilBound(run.port, opts.transport ?? 'u1', run.done);
  } catch (e) {
    await run.kill();
    throw e;
  }
  return { port: run.port, done: run.done, stop: run.kill };
}

interface Launched {
  port: number;
  done: Promise<SippResult>;
  kill(): Promise<SippResult>;
}

async function launch(opts: SippOptions): Promise<Launched> {
  const dir = mkdtempSync(path.join(tmpdir(), 'papgate-sipp-'));
  const port = opts.localPort ?? (await freePort());
  const mediaPort = opts.mediaPort ?? (opts.localPort !== undefined ? opts.localPort + 2 : await freePort());
  const controlPort = opts.controlPort ?? (opts.localPort !== undefined ? opts.localPort + 1 : await freePort());
  const timeoutSec = opts.timeoutSec ?? 15;
  const files = { errors: path.join(dir, 'errors.log'), messages: path.join(dir, 'messages.log'), logs: path.join(dir, 'logs.log') };
  const args = [
    ...(opts.mode === 'uas' ? [] : [opts.target]),
    '-sf',
    path.isAbsolute(opts.scenario) ? opts.scenario : path.join(SCENARIOS, opts.scenario),
    '-i',
    opts.localIp ?? '127.0.0.1',
    '-p',
    String(port),
    '-mp',
    String(mediaPort),
    '-cp',
    String(controlPort),
    '-t',
    opts.transport ?? 'u1',
    '-m',
    String(opts.calls ?? 1),
    '-timeout',
    `${timeoutSec}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_err',
    '-error_file',
    files.errors,
    '-trace_msg',
    '-message_file',
    files.messages,
    '-trace_logs',
    '-log_file',
    files.logs,
  ];
  if (opts.rate !== undefined) args.push('-r', String(opts.rate));
  if (opts.auth) args.push('-au', opts.auth.username, '-ap', opts.auth.password);
  for (const [k, v] of Object.entries(opts.vars ?? {})) args.push('-set', k, v);
  args.push(...(opts.extraArgs ?? []));

  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout = (stdout + d.toString('utf8')).slice(-MAX_OUTPUT);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-MAX_OUTPUT);
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), (timeoutSec + 5) * 1000);

  const done = new Promise<SippResult>((resolve) => {
    const finish = (code: number) => {
      clearTimeout(killer);
      const read = (f: string) => {
        try {
          return readFileSync(f, 'utf8');
        } catch {
          return '';
        }
      };
      const result = { code, stdout, stderr, errors: read(files.errors), messages: read(files.messages), logs: read(files.logs) };
      rmSync(dir, { recursive: true, force: true });
      resolve(result);
    };
    child.on('error', (e) => {
      stderr += `\n${e.message}`;
      finish(-1);
    });
    child.on('close', (code) => finish(code ?? -1));
  });
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return done;
  };
  return { port, done, kill };
}

/** A port the OS says is free right now (for UDP and TCP alike, as far as it can tell). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls (bounded) until SIPp holds the port. Reads /proc rather than probing, so it never races SIPp's own bind. */
async function waitUntilBound(port: number, transport: 'u1' | 't1', exited: Promise<SippResult>): Promise<void> {
  let gone: SippResult | undefined;
  void exited.then((r) => {
    gone = r;
  });
  for (let i = 0; i < 100; i++) {
    if (gone) throw new Error(`SIPp UAS exited before listening (code ${gone.code}): ${gone.stderr || gone.errors}`);
    if (portBound(port, transport)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`SIPp UAS did not bind port ${port} within 5 s`);
}

/** Whether 127.0.0.1:port is bound (UDP) or listening (TCP), from /proc/net. */
function portBound(port: number, transport: 'u1' | 't1'): boolean {
  const table = readFileSync(transport === 't1' ? '/proc/net/tcp' : '/proc/net/udp', 'utf8');
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return table.split('\n').some((line) => {
    const cols = line.trim().split(/\s+/);
    return cols[1] === local && (transport === 'u1' || cols[3] === '0A');
  });
}
