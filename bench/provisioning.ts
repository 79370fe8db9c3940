import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fullPath, minimalPath, writePaths, writeStaticFiles } from './provisioning-fleet';
import { meterTree, microsPer } from './cpu';
import { haveProgram, NGINX, runWrk, startNginx, type LoadResult } from './provisioning-load';
import { expectBody, measurePapgate, startFleetServer, type FleetServer } from './provisioning-server';
import { profileRow } from './profile-row';

/**
 * Provisioning throughput: papgate's provisioning server (this process, on
 * loopback, over a SQLite store of DEVICES phones) against Debian's nginx
 * (one worker) serving pre-rendered copies of STATIC_FILES phones' files.
 * The same wrk (separate process, random paths) drives both. Prints a table;
 * asserts nothing. BENCH_PROV_DEVICES and BENCH_PROV_SECONDS shrink it for a smoke run. Floor: 5,000 req/s from papgate; aim: half of nginx.
 */

const DEVICES = Number(process.env.BENCH_PROV_DEVICES ?? 100_000);
const STATIC_FILES = 1_000;
const SECONDS = Number(process.env.BENCH_PROV_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const THREADS = 2;
const CONNECTIONS = 32;
/** In the test port range; nginx needs a fixed one. */
const NGINX_PORT = 19417;
/**
 * Pause before each wrk row, nginx's included, after a papgate row's WAL
 * was copied back (walCopiedBack): the last checkpoint's file syncs and the
 * last-seen writes settle before the next row starts, whoever serves it. Not before
 * the fixed-rate rows: with it there, the polled row's p99 went to 94-144 ms
 * in three runs of four (see bench/README.md).
 */
const SETTLE_MS = 3000;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));
/** The fixed rate of the latency rows (the p99 goal is stated at 1,000 req/s). */
const FIXED_RATE = Number(process.env.BENCH_PROV_FIXED_RATE ?? 1000);

interface Row {
  target: string;
  load: string;
  result: LoadResult;
  cpuMs: number;
  /** Of cpuMs, the kernel's part. */
  systemMs: number;
  /** papgate rows: how long after the row its WAL took to be copied back, and the process's CPU time meanwhile. */
  after?: { ms: number; cpuMs: number; done: boolean };
}

export async function benchProvisioning(): Promise<void> {
  if (!haveProgram('wrk', ['--version'])) {
    console.log('provisioning benchmark skipped: wrk is not installed (apt-get install -y wrk)');
    return;
  }
  if (!haveProgram(NGINX, ['-v'])) {
    console.log(`provisioning benchmark skipped: ${NGINX} is not installed (apt-get install -y nginx-light)`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'papgate-bench-prov-'));
  let server: FleetServer | undefined;
  let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
  try {
    server = await startFleetServer(join(dir, 'papgate.db'), DEVICES);
    const papgate = server.url;
    const www = join(dir, 'www');
    const t = Date.now();
    writeStaticFiles(www, STATIC_FILES);
    console.log(`wrote ${2 * STATIC_FILES} static files for nginx in ${Date.now() - t} ms`);
    nginx = await startNginx(join(dir, 'nginx'), www, NGINX_PORT);
    const nginxUrl = `http://127.0.0.1:${NGINX_PORT}`;

    const paths = {
      minimalAll: join(dir, 'minimal-all.txt'),
      minimalSample: join(dir, 'minimal-sample.txt'),
      fullAll: join(dir, 'full-all.txt'),
      fullSample: join(dir, 'full-sample.txt'),
    };
    writePaths(paths.minimalAll, DEVICES, minimalPath);
    writePaths(paths.minimalSample, STATIC_FILES, minimalPath);
    writePaths(paths.fullAll, DEVICES, fullPath);
    writePaths(paths.fullSample, STATIC_FILES, fullPath);

    // Minimal first: every full answer trusts 127.0.0.1 for the tenant from then on.
    await expectBody(`${papgate}${minimalPath(0)}`, 'Authentication needed');
    await expectBody(`${nginxUrl}${minimalPath(0)}`, 'Authentication needed');
    await expectBody(`${nginxUrl}${fullPath(0)}`, 'line-pw-0');

    const rows: Row[] = [];
    const measure = async (target: string, load: string, baseUrl: string, pathsFile: string) => {
      // BENCH_PROFILE_DIR: a CPU profile of each papgate row, warm-up included (starting the profiler stalls the process for a while).
      await settle();
      const profile = target === 'papgate' ? await profileRow(load) : undefined;
      const wrk = { threads: THREADS, connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS };
      let row: Row;
      if (target === 'papgate') {
        row = { target, load, ...(await measurePapgate(server!, pathsFile, wrk)) };
      } else {
        await runWrk({ baseUrl, pathsFile, seconds: WARMUP_SECONDS, threads: THREADS, connections: CONNECTIONS });
        const meter = meterTree(nginx!.pid);
        const result = await runWrk({ baseUrl, pathsFile, seconds: SECONDS, threads: THREADS, connections: CONNECTIONS });
        row = { target, load, result, cpuMs: meter.stop(), systemMs: meter.systemMs() };
      }
      await profile?.stop();
      rows.push(row);
    };
    await measure('papgate', `minimal, ${DEVICES} random MACs`, papgate, paths.minimalAll);
    await measure('papgate', `minimal, ${STATIC_FILES} MACs polled again`, papgate, paths.minimalSample);
    await measure('nginx', `minimal, ${STATIC_FILES} static files`, nginxUrl, paths.minimalSample);
    await expectBody(`${papgate}${fullPath(1)}`, 'line-pw-1');
    await measure('papgate', `full, per-device URL, ${DEVICES} random`, papgate, paths.fullAll);
    await measure('nginx', `full, ${STATIC_FILES} static files`, nginxUrl, paths.fullSample);
    printTable(rows);
    await printFixedRate([
      ['minimal, random MACs', papgate, paths.minimalAll],
      ['minimal, polled again', papgate, paths.minimalSample],
      ['full, per-device URL', papgate, paths.fullAll],
      ['nginx, static files', nginxUrl, paths.minimalSample],
    ]);
  } finally {
    await nginx?.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** papgate's latency at a fixed rate (bench/fixed-rate.ts in a child process), per load; nginx's beside it. */
async function printFixedRate(loads: Array<[string, string, string]>): Promise<void> {
  console.log(
    `\nprovisioning latency at a fixed ${FIXED_RATE} req/s (${SECONDS} s after ${WARMUP_SECONDS} s warm-up, 16 keep-alive connections; latency from when each request was due)`,
  );
  console.log('load                    due     ok  non-2xx  errors  p50 ms  p99 ms  max ms');
  for (const [load, baseUrl, pathsFile] of loads) {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--require', 'tsx/cjs', join(__dirname, 'fixed-rate.ts'), baseUrl, pathsFile, String(FIXED_RATE), String(SECONDS), '16', String(WARMUP_SECONDS)],
      { timeout: (WARMUP_SECONDS + SECONDS + 60) * 1000 },
    );
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      due: number;
      ok: number;
      non2xx: number;
      errors: number;
      p50: number;
      p99: number;
      max: number;
    };
    console.log(
      `${load.padEnd(22)} ${String(r.due).padStart(5)} ${String(r.ok).padStart(6)} ${String(r.non2xx).padStart(8)} ${String(r.errors).padStart(7)}` +
        ` ${r.p50.toFixed(2).padStart(7)} ${r.p99.toFixed(2).padStart(7)} ${r.max.toFixed(1).padStart(7)}`,
    );
  }
}

function printTable(rows: Row[]): void {
  const header = ['target', 'load', 'req/s', 'CPU µs/req', 'of it sys', 'cores busy', 'p50 ms', 'p99 ms', 'requests', 'non-2xx', 'sock err'];
  const cells = rows.map(({ target, load, result: r, cpuMs, systemMs }) => [
    target,
    load,
    r.requestsPerSecond.toFixed(0),
    microsPer(cpuMs, r.requests),
    microsPer(systemMs, r.requests),
    (cpuMs / (SECONDS * 1000)).toFixed(2),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    String(r.requests),
    String(r.non2xx),
    String(r.socketErrors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i < 2 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  console.log(`\nprovisioning: wrk -t${THREADS} -c${CONNECTIONS}, ${SECONDS} s per row after ${WARMUP_SECONDS} s warm-up; nginx: 1 worker`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
  // What a papgate row left for after it: the WAL it wrote, copied back into the database file.
  for (const p of rows.filter((r) => r.after)) {
    const a = p.after!;
    console.log(
      `${p.load}: WAL ${a.done ? 'copied back' : 'NOT copied back'} ${(a.ms / 1000).toFixed(1)} s after the row; ` +
        `CPU meanwhile ${microsPer(a.cpuMs, p.result.requests)} µs per request of the row (not in the table)`,
    );
  }
  // Each papgate row against nginx's row of the same kind (minimal or full).
  const cpuPer = (r: Row) => (r.result.requests > 0 ? r.cpuMs / r.result.requests : NaN);
  for (const p of rows.filter((r) => r.target === 'papgate')) {
    const n = rows.find((r) => r.target === 'nginx' && r.load.split(',')[0] === p.load.split(',')[0]);
    if (!n) continue;
    console.log(
      `${p.load}: papgate ${p.result.requestsPerSecond.toFixed(0)} req/s = ${((p.result.requestsPerSecond / n.result.requestsPerSecond) * 100).toFixed(0)} % of nginx; ` +
        `CPU per request ${(cpuPer(p) / cpuPer(n)).toFixed(1)} x nginx's`,
    );
  }
}

if (require.main === module) {
  benchProvisioning().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
