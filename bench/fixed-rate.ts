import { readFileSync } from 'node:fs';
import http from 'node:http';

/**
 * A fixed-rate HTTP load (wrk has no fixed-rate mode): `rate` requests a
 * second for `seconds`, random paths from a file, over keep-alive
 * connections. Latency is counted from when a request was due, not from when
 * it went out, so a stalled server cannot hide its queue (no coordinated
 * omission). A warm-up at the same rate comes first and is not counted.
 * Runs as a child process of the bench; prints one JSON line.
 * Usage: fixed-rate.ts BASE_URL PATHS_FILE RATE SECONDS CONNECTIONS WARMUP_SECONDS
 */

interface Result {
  due: number;
  ok: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

function percentile(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function run(base: string, pathsFile: string, rate: number, seconds: number, connections: number, warmupSeconds: number): Promise<Result> {
  const paths = readFileSync(pathsFile, 'utf8').split('\n').filter(Boolean);
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let counting = false;
  const inFlight = new Set<Promise<void>>();
  const send = (dueAt: number) => {
    const p = new Promise<void>((resolve) => {
      const rq = http.get({ host: url.hostname, port: url.port, path: paths[Math.floor(Math.random() * paths.length)], agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (counting) {
            latencies.push(performance.now() - dueAt);
            if (res.statusCode && res.statusCode < 300) ok++;
            else non2xx++;
          }
          resolve();
        });
      });
      rq.setTimeout(10_000, () => rq.destroy(new Error('timeout')));
      rq.on('error', () => {
        if (counting) errors++;
        resolve();
      });
    });
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
  };
  /** `total` requests at `rate`, each stamped with the time it was due; resolves when all are answered. */
  const pace = async (total: number) => {
    const start = performance.now();
    let sent = 0;
    while (sent < total) {
      const now = performance.now();
      // send every request that is due by now, each stamped with its own due time
      while (sent < total && start + (sent * 1000) / rate <= now) {
        send(start + (sent * 1000) / rate);
        sent++;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(inFlight);
  };
  // A warm-up at the same rate, not counted: a fresh Node process's first
  // requests (its own JIT compiling the client) took up to 150 ms and were
  // most of the p99, against nginx as much as against papgate.
  await pace(Math.round(rate * warmupSeconds));
  counting = true;
  const total = Math.round(rate * seconds);
  await pace(total);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { due: total, ok, non2xx, errors, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1) ?? NaN };
}

if (require.main === module) {
  const [base, pathsFile, rate, seconds, connections, warmup] = process.argv.slice(2);
  if (!base || !pathsFile) {
    console.error('usage: fixed-rate.ts BASE_URL PATHS_FILE RATE SECONDS CONNECTIONS WARMUP_SECONDS');
    process.exit(2);
  }
  run(base, pathsFile, Number(rate ?? 1000), Number(seconds ?? 10), Number(connections ?? 16), Number(warmup ?? 2))
    .then((r) => console.log(JSON.stringify(r)))
    .catch((e: Error) => {
      console.error(e.message);
      process.exit(1);
    });
}
