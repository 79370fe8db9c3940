import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './cli';

/**
 * Kamailio (Debian's `kamailio`, 5.6) with the repository's
 * kamailio-conf/kamailio.cfg, in the foreground (-DD -E), for multi-node
 * tests on loopback. The dispatcher list is written to the given dir.
 */

export const KAMAILIO_PACKAGE = 'kamailio';
export const KAMAILIO_CFG = path.join(REPO_ROOT, 'kamailio-conf', 'kamailio.cfg');

/** Why kamailio cannot be used here, or null when it can. */
export function kamailioMissing(): string | null {
  const r = spawnSync('kamailio', ['-v'], { encoding: 'utf8', timeout: 5000 });
  if (r.error) return `kamailio is not installed (apt-get install -y ${KAMAILIO_PACKAGE})`;
  if (!/kamailio 5\./i.test(`${r.stdout}${r.stderr}`)) return `"kamailio -v" did not say version 5.x`;
  return null;
}

/**
 * The balancer's shared memory (MB), as docker-compose.yml gives it. Each
 * REGISTER is two stateful transactions, kept for tm's wait timer (5 s) after
 * the answer: at 1,000 registrations a second Debian's default of 64 MB ran
 * out ("could not allocate shared memory"), and the balancer answered a third
 * of the phones 503.
 */
export const LB_SHM_MB = 256;

/**
 * The balancer's memory manager, as docker-compose.yml gives it: with TLSF
 * instead of the build's default, 1,000 REGISTERs a second through it took
 * about 30 % less of its CPU (403-527 against 643-740 µs per registration,
 * back to back) and the p99 to one node fell from 450-540 to 100-170 ms.
 */
export const LB_MEM_MANAGER = 'tlsf';

export interface KamailioOptions {
  /** IP it listens on. */
  address: string;
  /** UDP port (default 5060). */
  port?: number;
  /** SIP URIs of the papgate nodes (dispatcher set 1). */
  nodes: string[];
  dir: string;
  pingIntervalSec?: number;
  /** How long a silent node has before the next is tried (ms). */
  frTimerMs?: number;
}

export interface Kamailio {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export async function startKamailio(o: KamailioOptions): Promise<Kamailio> {
  const port = o.port ?? 5060;
  const list = path.join(o.dir, 'dispatcher.list');
  writeFileSync(list, o.nodes.map((n) => `1 ${n} 0 0\n`).join(''));
  const child = spawn(
    'kamailio',
    [
      '-DD',
      '-E',
      '-f',
      KAMAILIO_CFG,
      '-l',
      `udp:${o.address}:${port}`,
      '-A',
      `DISPATCHER_LIST="${list}"`,
      '-A',
      `DS_PING_INTERVAL=${o.pingIntervalSec ?? 1}`,
      '-A',
      `FR_TIMER=${o.frTimerMs ?? 1500}`,
      '-A',
      'CHILDREN=2',
      '-m',
      String(LB_SHM_MB),
      '-M',
      '8',
      '-x',
      LB_MEM_MANAGER,
      '-w',
      o.dir,
      '-Y',
      o.dir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString('utf8')).slice(-256 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  // Bound when /proc/net/udp lists address:port (bounded poll).
  const local = `${ipHex(o.address)}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`kamailio exited (${child.exitCode}):\n${out}`);
    if (
      readFileSync('/proc/net/udp', 'utf8')
        .split('\n')
        .some((l) => l.trim().split(/\s+/)[1] === local)
    ) {
      return { child, output: () => out, stop };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`kamailio did not bind ${o.address}:${port} within 10 s:\n${out}`);
}

/** 127.0.0.10 -> 0A00007F (/proc/net's little-endian hex). */
function ipHex(ip: string): string {
  return ip
    .split('.')
    .map((x) => Number(x).toString(16).toUpperCase().padStart(2, '0'))
    .reverse()
    .join('');
}
