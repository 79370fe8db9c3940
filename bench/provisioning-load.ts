import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

/** The load generator (wrk, a separate process) and the nginx yardstick of the provisioning benchmark. */

export const NGINX = '/usr/sbin/nginx';
const WRK_SCRIPT = join(__dirname, 'nginx', 'wrk-random-paths.lua');
const NGINX_TEMPLATE = join(__dirname, 'nginx', 'nginx.conf.template');

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
}

export function haveProgram(path: string, args: string[]): boolean {
  const r = spawnSync(path, args, { stdio: 'ignore' });
  return r.error === undefined;
}

export interface WrkOptions {
  baseUrl: string;
  pathsFile: string;
  seconds: number;
  threads: number;
  connections: number;
}

/** Runs wrk against `baseUrl` with random paths from `pathsFile`. */
export function runWrk(o: WrkOptions): Promise<LoadResult> {
  const args = ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.seconds}s`, '--timeout', '5s', '-s', WRK_SCRIPT, o.baseUrl];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { env: { ...process.env, PATHS_FILE: o.pathsFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /RESULT requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) non2xx=(\d+) socket_errors=(\d+)/.exec(out);
      if (code !== 0 || !m) return reject(new Error(`wrk exited ${code}:\n${out}`));
      const [requests, durationUs, p50, p99, non2xx, socketErrors] = m.slice(1).map(Number) as [number, number, number, number, number, number];
      resolve({
        requestsPerSecond: requests / (durationUs / 1e6),
        p50Ms: p50 / 1000,
        p99Ms: p99 / 1000,
        requests,
        non2xx,
        socketErrors,
      });
    });
  });
}

export interface RunningNginx {
  /** The master process (its worker is a child): for the CPU meter. */
  pid: number;
  stop(): Promise<void>;
}

/** Starts Debian's nginx, one worker, serving `root` on 127.0.0.1:`port`, with its files under `prefix`. */
export async function startNginx(prefix: string, root: string, port: number): Promise<RunningNginx> {
  mkdirSync(prefix, { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  // Workers drop to `nobody` unless told otherwise when started as root; the files are ours.
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  writeFileSync(
    conf,
    readFileSync(NGINX_TEMPLATE, 'utf8')
      .replaceAll('@USER@', user)
      .replaceAll('@PREFIX@', prefix)
      .replaceAll('@ROOT@', root)
      .replaceAll('@PORT@', String(port)),
  );
  const child = spawn(NGINX, ['-c', conf, '-p', prefix], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port, child, 5000);
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`nginx did not start: ${(e as Error).message}\n${stderr}`);
  }
  return {
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} not open after ${timeoutMs} ms`);
}
