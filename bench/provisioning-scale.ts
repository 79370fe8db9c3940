import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { microsPer } from './cpu';
import { fillSqliteFile, measureServe, startServe, type Serve, type ServeRow } from './papgate-serve';
import { fullPath, minimalPath, writePaths } from './provisioning-fleet';
import { haveProgram } from './provisioning-load';
import { expectBody, forgetTrust, walCopiedBack } from './provisioning-server';

/**
 * Does a bigger store slow provisioning down? Two stores, of SIZES[0] and
 * SIZES[1] devices, each served by a `papgate serve` of its own (one
 * process, every device in memory) started on the file once the bench had
 * filled it, as an operator runs papgate after importing the phones. Loaded
 * in turns: ROUNDS rounds of the three loads, each load's row on one store
 * right after its row on the other (the smaller store first in odd rounds,
 * the larger in even ones), so that the two rows of a pair meet the same
 * stretch of a shared machine. Prints every row and, per load, the median
 * over the rounds of (larger store's rate / smaller's) from the same round.
 * Asserts nothing.
 *
 * Earlier both stores were served from the bench's own process, which had
 * also made the 1,100,000 phones and inserted them in 22 bulk imports: the
 * smaller store's rows paid the larger one's collector, and the process
 * carried what those imports left in V8 (bench/README.md).
 */

const SIZES = (process.env.BENCH_SCALE_DEVICES ?? '100000,1000000').split(',').map(Number) as [number, number];
const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? 5);
const WARMUP_SECONDS = 2;
const POLLED = 1_000;
const SETTLE_MS = 3000;
const WRK = { threads: 2, connections: 32 };
const PORT = 19428;
const ADMIN_PORT = 19438;

const LOADS = ['first contact, random MACs', `polled again, ${POLLED} MACs`, 'full, per-device URL, random'] as const;

interface Fleet {
  devices: number;
  db: string;
  server: Serve;
  /** Paths file per load, in LOADS' order. */
  paths: [string, string, string];
}

export async function benchProvisioningScale(): Promise<void> {
  if (!haveProgram('wrk', ['--version'])) {
    console.log('scale benchmark skipped: wrk is not installed (apt-get install -y wrk)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'papgate-bench-scale-'));
  const fleets: Fleet[] = [];
  try {
    for (const [i, devices] of SIZES.entries()) {
      const file = (name: string) => join(dir, `${devices}-${name}`);
      const db = file('papgate.db');
      await fillSqliteFile(db, devices);
      const paths: Fleet['paths'] = [file('minimal-all.txt'), file('minimal-sample.txt'), file('full-all.txt')];
      writePaths(paths[0], devices, minimalPath);
      writePaths(paths[1], POLLED, minimalPath);
      writePaths(paths[2], devices, fullPath);
      const started = Date.now();
      const server = await startServe({ db, workers: 1, port: PORT + i, adminPort: ADMIN_PORT + i, waitForDevicesInMemory: true });
      fleets.push({ devices, db, server, paths });
      console.log(`papgate serve: ${devices} devices in memory, answering, ${Date.now() - started} ms after it started`);
      await expectBody(`${server.url}${minimalPath(devices - 1)}`, 'Authentication needed');
    }
    console.log(
      `\nscale: ${SIZES[0]} against ${SIZES[1]} devices, each in its own papgate serve (1 process), ${ROUNDS} rounds, wrk -t${WRK.threads} -c${WRK.connections}, ${SECONDS} s per row after ${WARMUP_SECONDS} s warm-up; CPU of the serving process`,
    );
    console.log('round  devices    load                           req/s  CPU µs/req  of it sys  p99 ms  non-2xx');
    const rates = new Map<string, number[][]>(LOADS.map((l) => [l, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? fleets : [...fleets].reverse();
      for (let i = 0; i < LOADS.length; i++) {
        const rate = new Map<Fleet, number>();
        for (const fleet of order) {
          // A full answer trusts the client's address: without this, this round's minimal requests would get full ones.
          if (i === 0) forgetTrust(fleet.db);
          await new Promise((r) => setTimeout(r, SETTLE_MS));
          const row = await measure(fleet, fleet.paths[i]!);
          printRow(round, fleet.devices, LOADS[i]!, row);
          rate.set(fleet, row.result.requestsPerSecond);
        }
        rates.get(LOADS[i]!)!.push(fleets.map((f) => rate.get(f)!));
      }
    }
    console.log(`\nscale: ${SIZES[1]} devices' rate as a share of ${SIZES[0]} devices' in the same round`);
    for (const load of LOADS) {
      const ratios = rates.get(load)!.map(([small, large]) => large! / small!);
      const shown = ratios.map((r) => `${(r * 100).toFixed(0)} %`).join(', ');
      console.log(`${load.padEnd(30)} median ${(median(ratios) * 100).toFixed(0)} % (rounds: ${shown})`);
    }
  } finally {
    for (const f of fleets) await f.server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(fleet: Fleet, pathsFile: string): Promise<ServeRow> {
  const row = await measureServe(fleet.server, pathsFile, { ...WRK, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS });
  // The next row starts with the WAL copied back (with a million devices a first-contact row's pages took a while).
  await walCopiedBack(fleet.db);
  return row;
}

function printRow(round: number, devices: number, load: string, row: ServeRow): void {
  const r = row.result;
  console.log(
    `${String(round).padStart(5)}  ${String(devices).padStart(9)}  ${load.padEnd(30)} ${r.requestsPerSecond.toFixed(0).padStart(6)}` +
      `  ${microsPer(row.cpuMs, r.requests).padStart(10)}  ${microsPer(row.systemMs, r.requests).padStart(9)}  ${r.p99Ms.toFixed(2).padStart(6)}  ${String(r.non2xx).padStart(7)}`,
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

if (require.main === module) {
  benchProvisioningScale().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
