import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import http from 'node:http';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { openSqliteStore } from '../src/store/sqlite';
import { meterTree, processTree } from './cpu';
import { insertFleet, minimalPath } from './provisioning-fleet';
import { runWrk, type LoadResult } from './provisioning-load';

/**
 * `papgate serve` itself (the built CLI) as a child process over a SQLite
 * file the bench filled beforehand, as an operator runs it after importing
 * the phones: the measured process has done nothing but start, load its
 * devices and answer. Shared by the workers table and the scale comparison.
 */

const CLI = resolve(__dirname, '..', 'dist', 'src', 'cli.js');
const START_MS = 120_000;

export interface ServeOptions {
  db: string;
  workers: number;
  port: number;
  adminPort: number;
  /** Wait until the process logs that every device is in memory (single process only: each worker would log it). */
  waitForDevicesInMemory?: boolean;
}

export interface Serve {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** Fills a new SQLite file with `devices` phones, inserted as the provisioning table's are (bulk imports), by this process: not the one measured. */
export async function fillSqliteFile(db: string, devices: number): Promise<void> {
  const store = await openSqliteStore(db);
  try {
    const tenant = await store.createTenant({ name: 'bench', locale: 'en', tokenHash: '0'.repeat(64), createdAt: Date.now() });
    const t = Date.now();
    await insertFleet(store, tenant.id, devices);
    console.log(`SQLite: inserted ${devices} devices in ${Date.now() - t} ms`);
  } finally {
    await store.close();
  }
  console.log(`SQLite: the database file is ${(statSync(db).size / 1e6).toFixed(1)} MB`);
}

export interface ServeRow {
  result: LoadResult;
  /** CPU of the serving processes (the primary and its workers) during the measured seconds, and of it the kernel's part. */
  cpuMs: number;
  systemMs: number;
}

/** A warm-up, then the measured wrk run against `server`, metering its process tree. */
export async function measureServe(
  server: Serve,
  pathsFile: string,
  o: { threads: number; connections: number; seconds: number; warmupSeconds: number },
): Promise<ServeRow> {
  const wrk = { baseUrl: server.url, pathsFile, threads: o.threads, connections: o.connections };
  await runWrk({ ...wrk, seconds: o.warmupSeconds });
  const meter = meterTree(server.child.pid!);
  const result = await runWrk({ ...wrk, seconds: o.seconds });
  const cpuMs = meter.stop();
  return { result, cpuMs, systemMs: meter.systemMs() };
}

export async function startServe(o: ServeOptions): Promise<Serve> {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: {
      ...process.env,
      PAPGATE_DB: o.db,
      PAPGATE_WORKERS: String(o.workers),
      PAPGATE_SIGNALLING: 'off',
      // info: the line that says every device is in memory; a provisioning request logs nothing at info.
      PAPGATE_LOG_LEVEL: o.waitForDevicesInMemory ? 'info' : 'warn',
      PAPGATE_LIMIT_EXEMPT: '127.0.0.0/8', // the whole load comes from one loopback source
      PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
      PAPGATE_PROVISIONING_PORT: String(o.port),
      PAPGATE_ADMIN_PORT: String(o.adminPort),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = `http://127.0.0.1:${o.port}`;
  const stop = () => stopChild(child);
  let inMemory = !o.waitForDevicesInMemory;
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    if (line.includes('"every device in memory"')) inMemory = true;
  });
  try {
    await new Promise<void>((done, fail) => {
      const deadline = Date.now() + START_MS;
      const poll = () => {
        if (child.exitCode !== null) return fail(new Error(`papgate serve exited with ${child.exitCode}`));
        // Ready when the port answers, every worker is up (the primary has forked them all) and, if asked, the devices are loaded.
        http
          .get(`${url}${minimalPath(0)}`, { agent: false }, (res) => {
            res.resume();
            const processes = processTree(child.pid!).length;
            if (res.statusCode === 200 && inMemory && processes >= (o.workers > 1 ? o.workers + 1 : 1)) return done();
            retry();
          })
          .on('error', retry);
      };
      const retry = () => (Date.now() > deadline ? fail(new Error(`papgate serve was not ready within ${START_MS / 1000} s`)) : setTimeout(poll, 200));
      poll();
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { child, url, stop };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}
