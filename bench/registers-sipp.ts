import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * One step of the REGISTER benchmark: SIPp sends `rate` digest
 * registrations per second for `seconds`, each from the next user of the
 * injection file (-inf users.csv, -au '[field0]' -ap '[field1]'). No message
 * trace (it would cost SIPp more than the server); only failures and the
 * response times (-trace_rtt, whole ms: SIPp's resolution).
 */

const SCENARIO = resolve(__dirname, '..', 'scenarios', 'bench-register.xml');

export interface RegisterStep {
  offered: number;
  /** Registrations answered 200 per wall-clock second of the step. */
  achieved: number;
  passed: number;
  failed: number;
  p99Ms: number;
  seconds: number;
}

export interface RegisterLoad {
  target: string;
  usersFile: string;
  rate: number;
  seconds: number;
  localPort: number;
}

export async function runRegisterStep(o: RegisterLoad): Promise<RegisterStep> {
  const dir = mkdtempSync(join(tmpdir(), 'papgate-bench-sipp-'));
  const calls = Math.max(1, Math.round(o.rate * o.seconds));
  const args = [
    o.target,
    '-sf',
    SCENARIO,
    '-inf',
    o.usersFile,
    '-au',
    '[field0]',
    '-ap',
    '[field1]',
    '-i',
    '127.0.0.1',
    '-p',
    String(o.localPort),
    '-cp',
    String(o.localPort + 1),
    '-mp',
    String(o.localPort + 2),
    '-r',
    String(o.rate),
    '-rp',
    '1000',
    '-m',
    String(calls),
    '-l',
    String(Math.max(100, o.rate)),
    '-timeout',
    `${Math.ceil(o.seconds * 4 + 20)}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_rtt',
    '-rtt_freq',
    '1',
  ];
  try {
    const started = Date.now();
    const out = await new Promise<string>((done) => {
      const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      const keep = (c: Buffer) => {
        text = (text + c.toString('utf8')).slice(-64 * 1024);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', (e) => done(`${text}\n${e.message}`));
      child.on('close', () => done(text));
    });
    const seconds = (Date.now() - started) / 1000;
    const passed = lastCount(out, 'Successful call');
    const ok = Number.isNaN(passed) ? 0 : passed;
    // Calls still open when SIPp gave up (its -timeout) count as failed too.
    return { offered: o.rate, achieved: ok / seconds, passed: ok, failed: calls - ok, p99Ms: p99(dir), seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The cumulative column of SIPp's final statistics screen for a row. */
function lastCount(screen: string, label: string): number {
  const rows = [...screen.matchAll(new RegExp(`${label}\\s*\\|\\s*(\\d+)\\s*\\|\\s*(\\d+)`, 'g'))];
  const last = rows.pop();
  return last ? Number(last[2]) : NaN;
}

/** p99 of the response times in SIPp's rtt file (Date_ms;response_time_ms;rtd_no). */
function p99(dir: string): number {
  const file = readdirSync(dir).find((f) => f.endsWith('_rtt.csv'));
  if (!file) return NaN;
  const times = readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => Number(l.split(';')[1]))
    .filter((n) => Number.isFinite(n))
    .sort((a, b) => a - b);
  return times.length ? times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]! : NaN;
}
