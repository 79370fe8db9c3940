import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { REPO_ROOT } from './cli';

/**
 * `papgate serve` as a real child process (src/cli.ts through tsx), with its
 * JSON log lines kept for assertions. With PAPGATE_WORKERS > 1 it forks its
 * provisioning workers itself (node:cluster); stop() sends SIGTERM to the
 * primary and waits (bounded) until it exited, then SIGKILLs what is left.
 */

export interface LogLine {
  msg?: string;
  level?: number;
  worker?: number;
  pid?: number;
  [key: string]: unknown;
}

export interface ServeProcess {
  child: ChildProcess;
  /** Parsed log lines so far (non-JSON lines are kept as { msg: text }). */
  logs(): LogLine[];
  /** Resolves with the first log line (past or future) that matches; rejects after timeoutMs. */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine>;
  /** The last lines, for failure messages. */
  tail(n?: number): string;
  stop(timeoutMs?: number): Promise<void>;
}

/** `nodeArgs` go to node before the script (benchmarks: `--cpu-prof`). */
export async function startServe(env: Record<string, string>, readyTimeoutMs = 60_000, nodeArgs: string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--require', 'tsx/cjs', 'src/cli.ts', 'serve'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const waiters = new Set<() => void>();
  const take = (chunk: string, rest: { s: string }) => {
    rest.s += chunk;
    const parts = rest.s.split('\n');
    rest.s = parts.pop() ?? '';
    for (const p of parts) {
      if (!p.trim()) continue;
      raw.push(p);
      if (raw.length > 5000) raw.shift();
      if (lines.length > 50_000) lines.splice(0, 10_000); // long runs (benchmarks)
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        lines.push({ msg: p }); // stderr text, stack traces
      }
    }
    for (const w of [...waiters]) w();
  };
  const out = { s: '' };
  const err = { s: '' };
  child.stdout!.setEncoding('utf8').on('data', (c: string) => take(c, out));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => take(c, err));
  let exited = child.exitCode !== null;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      for (const w of [...waiters]) w();
      resolve();
    }),
  );

  const waitForLog = (match: (l: LogLine) => boolean, timeoutMs: number, what: string) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const hit = lines.find(match);
        if (hit) return finish(() => resolve(hit));
        if (exited) finish(() => reject(new Error(`papgate exited before ${what}:\n${tail()}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out (${timeoutMs} ms) waiting for ${what}:\n${tail()}`))), timeoutMs);
      const finish = (then: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        then();
      };
      waiters.add(check);
      check();
    });
  const tail = (n = 40) => raw.slice(-n).join('\n');

  const stop = async (timeoutMs = 20_000) => {
    if (exited) return;
    const pids = lines.filter((l) => l.msg === 'provisioning worker listening' && typeof l.pid === 'number').map((l) => l.pid as number);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exit;
    clearTimeout(timer);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL'); // only if a worker outlived its primary
      } catch {
        /* already gone: the normal case */
      }
    }
  };

  const workers = Number(env.PAPGATE_WORKERS ?? '1');
  try {
    await waitForLog((l) => l.msg === (workers > 1 ? 'provisioning workers started' : 'papgate started'), readyTimeoutMs, 'papgate to start');
  } catch (e) {
    await stop();
    throw e;
  }
  return { child, logs: () => lines, waitForLog, tail, stop };
}

export interface HttpResult {
  status: number;
  body: string;
}

/** One GET on a new connection (no keep-alive), from `localAddress` when given. */
export function httpGet(url: string, o: { localAddress?: string; timeoutMs?: number } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const rq = http.get(url, { agent: false, localAddress: o.localAddress, timeout: o.timeoutMs ?? 15_000 }, (rs) => {
      let body = '';
      rs.setEncoding('utf8');
      rs.on('data', (c: string) => {
        body += c;
      });
      rs.on('end', () => resolve({ status: rs.statusCode ?? 0, body }));
      rs.on('error', reject);
    });
    rq.on('timeout', () => rq.destroy(new Error(`GET ${url} timed out`)));
    rq.on('error', reject);
  });
}

/** `key = value` lines of a Yealink .cfg. */
export function yealinkCfg(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(' = ');
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 3));
  }
  return m;
}

/** The identity secret in a full Yealink configuration's provisioning URL, or null (minimal configuration). */
export function secretOf(cfgText: string): string | null {
  const url = yealinkCfg(cfgText).get('static.auto_provision.server.url') ?? '';
  return /\/p\/([A-Za-z0-9_-]{16,64})\/$/.exec(url)?.[1] ?? null;
}
