import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { Store } from '../src/ports/store';
import { openPostgresStore } from '../src/store/postgres';
import { openSqliteStore } from '../src/store/sqlite';
import { fullPath, minimalPath, writePaths } from './provisioning-fleet';
import { haveProgram, runWrk, type LoadResult } from './provisioning-load';
import { serveFleet } from './provisioning-server';

/**
 * Provisioning throughput on SQLite and on PostgreSQL, side by side: the same
 * provisioning server (this process) and wrk load over each store in turn.
 * PostgreSQL needs PAPGATE_BENCH_PG_URL (a URL of a role that may create
 * databases: the bench creates one and drops it). Asserts nothing.
 *
 *   PAPGATE_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench -- provisioning-stores
 */

const DEVICES = 20_000;
const SECONDS = 10;
const WARMUP_SECONDS = 2;
const THREADS = 2;
const CONNECTIONS = 32;

export async function benchProvisioningStores(): Promise<void> {
  const pgUrl = process.env.PAPGATE_BENCH_PG_URL;
  if (!haveProgram('wrk', ['--version'])) return void console.log('skipped: wrk is not installed (apt-get install -y wrk)');
  if (!pgUrl) return void console.log('skipped: set PAPGATE_BENCH_PG_URL to a PostgreSQL server to compare with');
  const dir = mkdtempSync(join(tmpdir(), 'papgate-bench-stores-'));
  const database = `papgate_bench_${process.pid}`;
  const rows: [string, string, LoadResult][] = [];
  try {
    const paths = { minimal: join(dir, 'minimal.txt'), full: join(dir, 'full.txt') };
    writePaths(paths.minimal, DEVICES, minimalPath);
    writePaths(paths.full, DEVICES, fullPath);
    const sqlite = await openSqliteStore(join(dir, 'papgate.db'));
    sqlite.startCheckpoints(250);
    rows.push(...(await measure('SQLite', sqlite, paths)));
    await admin(pgUrl, `CREATE DATABASE ${database}`);
    const u = new URL(pgUrl);
    u.pathname = `/${database}`;
    rows.push(...(await measure('PostgreSQL', await openPostgresStore(u.toString(), { migrate: 'auto' }), paths)));
  } finally {
    await admin(pgUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nprovisioning over each store: ${DEVICES} devices, wrk -t${THREADS} -c${CONNECTIONS}, ${SECONDS} s after ${WARMUP_SECONDS} s warm-up`);
  console.log('store       load                 req/s   p50 ms   p99 ms  non-2xx');
  for (const [store, load, r] of rows) {
    console.log(
      `${store.padEnd(10)}  ${load.padEnd(18)} ${r.requestsPerSecond.toFixed(0).padStart(7)} ${r.p50Ms.toFixed(2).padStart(8)} ` +
        `${r.p99Ms.toFixed(2).padStart(8)} ${String(r.non2xx).padStart(8)}`,
    );
  }
}

/** Fills `store`, serves it, and measures minimal then full requests; closes the store. */
async function measure(name: string, store: Store, paths: { minimal: string; full: string }): Promise<[string, string, LoadResult][]> {
  const server = await serveFleet(store, DEVICES, name);
  try {
    const load = async (pathsFile: string) => {
      await runWrk({ baseUrl: server.url, pathsFile, seconds: WARMUP_SECONDS, threads: THREADS, connections: CONNECTIONS });
      return runWrk({ baseUrl: server.url, pathsFile, seconds: SECONDS, threads: THREADS, connections: CONNECTIONS });
    };
    const minimal = await load(paths.minimal);
    const full = await load(paths.full);
    return [
      [name, 'minimal, random', minimal],
      [name, 'full, random', full],
    ];
  } finally {
    await server.close();
  }
}

async function admin(url: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

if (require.main === module) {
  benchProvisioningStores().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
