import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fullPath, minimalPath, writePaths } from './provisioning-fleet';
import { microsPer } from './cpu';
import { fillSqliteFile, measureServe, startServe } from './papgate-serve';
import { haveProgram, type LoadResult } from './provisioning-load';

/**
 * Provisioning throughput of `papgate serve` itself (built CLI, child
 * processes) with 1 provisioning worker and with PAPGATE_WORKERS = the
 * number of cores, side by side in one run, over one SQLite file of DEVICES
 * phones. Beside req/s: CPU time per request, the user+system CPU of every
 * papgate process (primary and workers, from /proc) over the measured
 * seconds divided by the requests answered. wrk runs on the same machine
 * and takes its share of the cores.
 */

const DEVICES = Number(process.env.BENCH_PROV_DEVICES ?? 100_000);
const POLLED = 1_000;
const SECONDS = Number(process.env.BENCH_PROV_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const THREADS = 2;
const CONNECTIONS = 32;
const PORT = 19418;
const ADMIN_PORT = 19419;

interface Row {
  workers: number;
  load: string;
  result: LoadResult;
  cpuMs: number;
  cpuCores: number;
}

export async function benchProvisioningWorkers(): Promise<void> {
  if (!haveProgram('wrk', ['--version'])) {
    console.log('provisioning workers benchmark skipped: wrk is not installed (apt-get install -y wrk)');
    return;
  }
  const dir = mkdtempSync(join(tmpdirFor(), 'papgate-bench-workers-'));
  const db = join(dir, 'papgate.db');
  try {
    await fillSqliteFile(db, DEVICES);
    const minimal = join(dir, 'minimal.txt');
    const polled = join(dir, 'polled.txt');
    const full = join(dir, 'full.txt');
    writePaths(minimal, DEVICES, minimalPath);
    writePaths(polled, POLLED, minimalPath);
    writePaths(full, DEVICES, fullPath);

    const counts = [...new Set([1, availableParallelism()])];
    const rows: Row[] = [];
    // Minimal first: the first full answer trusts 127.0.0.1 for the tenant from then on.
    // Random MACs: nearly every request records the phone's address (a write).
    // Polled again: seen during the warm-up, so within a minute: reads only.
    const loads = [
      [`minimal, ${DEVICES} random MACs`, minimal],
      [`minimal, ${POLLED} MACs polled again`, polled],
      [`full, per-device URL, ${DEVICES} random`, full],
    ] as const;
    for (const [load, paths] of loads) {
      for (const workers of counts) rows.push(await measure(db, workers, load, paths));
    }
    printTable(rows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(db: string, workers: number, load: string, pathsFile: string): Promise<Row> {
  const server = await startServe({ db, workers, port: PORT, adminPort: ADMIN_PORT });
  try {
    const { result, cpuMs } = await measureServe(server, pathsFile, {
      threads: THREADS,
      connections: CONNECTIONS,
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
    });
    return { workers, load, result, cpuMs, cpuCores: cpuMs / (SECONDS * 1000) };
  } finally {
    await server.stop();
  }
}

function tmpdirFor(): string {
  return process.env.TMPDIR ?? '/tmp';
}

function printTable(rows: Row[]): void {
  const header = ['workers', 'load', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'cores busy', 'non-2xx'];
  const cells = rows.map((r) => [
    String(r.workers),
    r.load,
    r.result.requestsPerSecond.toFixed(0),
    r.result.p50Ms.toFixed(2),
    r.result.p99Ms.toFixed(2),
    microsPer(r.cpuMs, r.result.requests),
    r.cpuCores.toFixed(2),
    String(r.result.non2xx),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 1 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  console.log(
    `\npapgate serve, 1 vs ${availableParallelism()} provisioning workers: wrk -t${THREADS} -c${CONNECTIONS} on the same machine, ${SECONDS} s per row after ${WARMUP_SECONDS} s warm-up`,
  );
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}
