import BetterSqlite3 from 'better-sqlite3';
import { statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Provisioning } from '../src/app/provisioning';
import { DEFAULT_POLICY } from '../src/domain/policy';
import { Metrics } from '../src/observability/metrics';
import { systemClock } from '../src/ports/clock';
import { silentLogger } from '../src/ports/logger';
import { cryptoRandom, pooledRandom } from '../src/ports/random';
import { createProvisioningServer } from '../src/provisioning/server';
import { limitConnections } from '../src/compose-connections';
import { provisioningConnectionLimits } from '../src/compose-provisioning';
import { loadConfig } from '../src/config/config';
import type { Store } from '../src/ports/store';
import { openSqliteStore, SqliteStore } from '../src/store/sqlite';
import { meterSelf } from './cpu';
import { BENCH_SETTINGS, insertFleet } from './provisioning-fleet';
import { runWrk, type LoadResult, type WrkOptions } from './provisioning-load';

/**
 * papgate's provisioning server over a SQLite store of a benchmark fleet,
 * served from the bench's own process (wrk is a child process), and one
 * measured wrk row against it: shared by the provisioning table and the
 * 100,000-against-1,000,000 comparison.
 */

export interface FleetServer {
  url: string;
  dbFile: string;
  close(): Promise<void>;
}

/** Opens `dbFile`, inserts `devices` phones and serves them on a loopback port, with checkpoints as `papgate serve` runs them. */
export async function startFleetServer(dbFile: string, devices: number): Promise<FleetServer> {
  const store = await openSqliteStore(dbFile);
  store.startCheckpoints(250); // as papgate serve does (src/main.ts)
  const served = await serveFleet(store, devices, 'SQLite');
  console.log(`SQLite: the database file is ${(statSync(dbFile).size / 1e6).toFixed(1)} MB`);
  return { ...served, dbFile };
}

/** Inserts `devices` phones into `store` and serves them on a loopback port; `close` closes the store too. */
export async function serveFleet(store: Store, devices: number, name = 'store'): Promise<Omit<FleetServer, 'dbFile'>> {
  const app = createProvisioningServer({
    provisioning: new Provisioning(
      { store, clock: systemClock, random: pooledRandom(cryptoRandom), policy: DEFAULT_POLICY, log: silentLogger },
      BENCH_SETTINGS,
    ),
    log: silentLogger,
    metrics: new Metrics({ defaultMetrics: false }),
    trustedProxies: [],
  });
  // The connection bounds papgate serve puts on the port, at their defaults (src/compose-provisioning.ts).
  limitConnections(app.server, provisioningConnectionLimits(loadConfig({}, {})), { keyOf: (address) => address, onRefused: () => undefined });
  const close = async () => {
    await app.close();
    await store.close();
  };
  try {
    const tenant = await store.createTenant({ name: 'bench', locale: 'en', tokenHash: '0'.repeat(64), createdAt: Date.now() });
    const t = Date.now();
    await insertFleet(store, tenant.id, devices);
    console.log(`${name}: inserted ${devices} devices in ${Date.now() - t} ms`);
    if (store instanceof SqliteStore) await keepDevicesInMemory(store, name);
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (e) {
    await close();
    throw e;
  }
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close };
}

/** As papgate serve does where it answers phones (src/main.ts): every device in memory, loaded before any load starts. */
async function keepDevicesInMemory(store: SqliteStore, name: string): Promise<void> {
  const t = Date.now();
  store.keepDeviceDirectory();
  while (!store.devicesInMemory?.ready) await new Promise((resolve) => setTimeout(resolve, 20));
  console.log(`${name}: ${store.devicesInMemory.devices} devices in memory after ${Date.now() - t} ms`);
}

/** How long the bench waits after a papgate row for its WAL to be copied back. */
const WAL_WAIT_MS = 120_000;

/**
 * Waits until the WAL holds nothing that is not in the database file yet,
 * helping the checkpoint worker with passes of its own: with a million
 * devices, the pages a first-contact row wrote took longer to copy back
 * than the pause before the next row, and the next row paid for them.
 */
export async function walCopiedBack(file: string): Promise<boolean> {
  const db = new BetterSqlite3(file, { fileMustExist: true, timeout: 0 });
  try {
    const deadline = Date.now() + WAL_WAIT_MS;
    while (Date.now() < deadline) {
      const [r] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
      if (r && r.busy === 0 && r.checkpointed === r.log) return true;
      await new Promise((res) => setTimeout(res, 200));
    }
    return false;
  } finally {
    db.close();
  }
}

/**
 * Forgets every trust window, as an operator's commit would (it also retires
 * every device the server keeps in memory): a full configuration trusts the
 * client's address for the tenant, after which a minimal request from the
 * same address would get the full one.
 */
export function forgetTrust(file: string): void {
  const db = new BetterSqlite3(file, { fileMustExist: true, timeout: 5000 });
  try {
    db.prepare('DELETE FROM temporary_trust').run();
  } finally {
    db.close();
  }
}

export interface PapgateRow {
  result: LoadResult;
  /** This process's CPU during the row, and of it the kernel's part. */
  cpuMs: number;
  systemMs: number;
  /** How long after the row its WAL took to be copied back, and this process's CPU time meanwhile. */
  after: { ms: number; cpuMs: number; done: boolean };
}

/** One wrk row against `server` (after a warm-up of `warmupSeconds`), metered, then its WAL copied back. */
export async function measurePapgate(
  server: FleetServer,
  pathsFile: string,
  o: Omit<WrkOptions, 'baseUrl' | 'pathsFile'> & { warmupSeconds: number },
): Promise<PapgateRow> {
  const wrk = { baseUrl: server.url, pathsFile, threads: o.threads, connections: o.connections };
  await runWrk({ ...wrk, seconds: o.warmupSeconds });
  const meter = meterSelf();
  const result = await runWrk({ ...wrk, seconds: o.seconds });
  const cpuMs = meter.stop();
  const systemMs = meter.systemMs();
  const started = Date.now();
  const meanwhile = meterSelf();
  const done = await walCopiedBack(server.dbFile);
  return { result, cpuMs, systemMs, after: { ms: Date.now() - started, cpuMs: meanwhile.stop(), done } };
}

/** Fails unless `url` answers 200 with a body containing `text`. */
export async function expectBody(url: string, text: string): Promise<void> {
  const body = await new Promise<string>((resolve, reject) => {
    http
      .get(url, { agent: false, timeout: 5000 }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => {
          b += c.toString();
        });
        res.on('end', () => (res.statusCode === 200 ? resolve(b) : reject(new Error(`${url}: ${res.statusCode}`))));
      })
      .on('error', reject);
  });
  if (!body.includes(text)) throw new Error(`${url} does not contain "${text}"`);
}
