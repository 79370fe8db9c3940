import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import { join, resolve } from 'node:path';

/**
 * Debian's Kamailio as the SIP yardstick: bench/kamailio/registrar.cfg (a
 * digest registrar, 2 children, users in memory) on 127.0.0.1:`port`, in
 * the foreground, its files in `dir`.
 */

const CFG = resolve(__dirname, 'kamailio', 'registrar.cfg');

export interface RunningRegistrar {
  /** The main process (its children are the workers): for the CPU meter. */
  pid: number;
  stop(): Promise<void>;
}

/** A UDP port on 127.0.0.1 that is free right now. */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startRegistrar(dir: string, users: [string, string][], port: number): Promise<RunningRegistrar> {
  copyFileSync(CFG, join(dir, 'registrar.cfg'));
  // One htable assignment per user; the names and passwords are ours (hex), nothing to escape.
  writeFileSync(join(dir, 'users.cfg'), users.map(([u, p]) => `$sht(users=>${u}) = "${p}";\n`).join(''));
  const child = spawn('kamailio', ['-DD', '-E', '-f', join(dir, 'registrar.cfg'), '-l', `udp:127.0.0.1:${port}`, '-m', '64', '-M', '8', '-w', dir, '-Y', dir], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`kamailio exited (${child.exitCode}):\n${out}`);
    if (
      readFileSync('/proc/net/udp', 'utf8')
        .split('\n')
        .some((l) => l.trim().split(/\s+/)[1] === local)
    ) {
      return { pid: child.pid!, stop };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`kamailio did not bind 127.0.0.1:${port} within 10 s:\n${out}`);
}
