import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebhookDispatcher } from '../src/app/webhook-dispatcher';
import { newAuthRecord } from '../src/domain/auth';
import type { Device } from '../src/domain/types';
import { systemClock } from '../src/ports/clock';
import { silentLogger } from '../src/ports/logger';
import { cryptoRandom } from '../src/ports/random';
import { openSqliteStore } from '../src/store/sqlite';
import { createHttpSender } from '../src/webhooks/http-sender';

/**
 * Webhook delivery under a receiver that fails half the time (500, from a
 * seeded PRNG: a strict every-second-request pattern can phase-lock with
 * the retries of a few devices and fail them over and over):
 * TENANTS x DEVICES x EVENTS events are enqueued at once into a SQLite
 * outbox, the dispatcher runs with the default settings (first retry after
 * 1 s, doubling, 16 in flight, 4 per tenant) except the longest back-off
 * (BENCH_WEBHOOK_MAX_DELAY_S, 60 s here, 1 h by default), and the receiver
 * counts what it accepted. Prints delivered count, attempts per event and
 * time from enqueue to acceptance.
 */
const TENANTS = Number(process.env.BENCH_WEBHOOK_TENANTS ?? 10);
const DEVICES = Number(process.env.BENCH_WEBHOOK_DEVICES ?? 20);
const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS_PER_DEVICE ?? 5);
const MAX_DELAY_S = Number(process.env.BENCH_WEBHOOK_MAX_DELAY_S ?? 60);
const DEADLINE_MS = 15 * 60_000;

/** mulberry32: a small seeded PRNG, so every run fails the same requests. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function benchWebhooks(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'papgate-bench-webhooks-'));
  const store = await openSqliteStore(join(dir, 'p.db'));
  const enqueuedAt = new Map<string, number>();
  const acceptedAt = new Map<string, number>();
  let requests = 0;
  let duplicates = 0;
  const coin = seeded(13);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests += 1;
      if (coin() < 0.5) {
        res.writeHead(500).end();
        return;
      }
      const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id: string };
      if (acceptedAt.has(id)) duplicates += 1;
      else acceptedAt.set(id, Date.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const dispatcher = new WebhookDispatcher(
    {
      store,
      clock: systemClock,
      random: cryptoRandom,
      log: silentLogger,
      sender: createHttpSender({ connectTimeoutMs: 5000, totalTimeoutMs: 10_000, maxResponseBytes: 4096, allowPrivateTargets: true }),
    },
    {
      backoff: { firstDelayMs: 1000, maxDelayMs: MAX_DELAY_S * 1000, maxAttempts: 20, maxAgeMs: 24 * 3600_000 },
      concurrency: 16,
      perTenant: 4,
      pollMs: 1000,
      leaseMs: 45_000,
    },
  );
  try {
    const total = await enqueue(store, url, enqueuedAt);
    const started = Date.now();
    dispatcher.start();
    while (acceptedAt.size < total && Date.now() - started < DEADLINE_MS) await new Promise((r) => setTimeout(r, 50));
    const latencies = [...acceptedAt].map(([id, at]) => at - enqueuedAt.get(id)!).sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
    console.log(
      `${TENANTS} tenants x ${DEVICES} devices x ${EVENTS} events = ${total} events; receiver answers 500 to half the requests (seeded), back-off 1 s doubling up to ${MAX_DELAY_S} s`,
    );
    console.log(
      `delivered ${acceptedAt.size}/${total}, duplicates accepted ${duplicates}, requests ${requests} ` +
        `(${(requests / total).toFixed(2)} attempts per event)`,
    );
    console.log(
      `enqueue -> accepted: p50 ${pct(0.5)} ms, p90 ${pct(0.9)} ms, p99 ${pct(0.99)} ms, max ${latencies.at(-1)} ms; ` +
        `all delivered after ${Date.now() - started} ms`,
    );
  } finally {
    await dispatcher.stop();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function enqueue(store: Awaited<ReturnType<typeof openSqliteStore>>, url: string, enqueuedAt: Map<string, number>): Promise<number> {
  let n = 0;
  for (let t = 0; t < TENANTS; t++) {
    const tenant = await store.createTenant({ name: `bench-${t}`, locale: 'en', tokenHash: `hash-${t}`, createdAt: Date.now() });
    await store.setWebhook({ tenantId: tenant.id, url, secret: `whsec_bench_${t}`, updatedAt: Date.now() });
    const devices: Device[] = Array.from({ length: DEVICES }, (_, i) => {
      const mac = `02${t.toString(16).padStart(4, '0')}${i.toString(16).padStart(6, '0')}`;
      return {
        mac,
        tenantId: tenant.id,
        siteId: null,
        vendor: 'yealink',
        model: 'T46U',
        createdAt: Date.now(),
        auth: newAuthRecord('123456'),
        secretHash: null,
        prevSecretHash: null,
        sipUsername: `u${mac}`,
        sipPassword: `p${mac}`,
        lines: [],
        lastProvisionedIp: null,
        lastProvisionedAt: null,
      };
    });
    await store.insertDevices(devices, []);
    for (let e = 0; e < EVENTS; e++) {
      for (const d of devices) {
        const id = `evt_bench_${++n}`;
        const at = Date.now();
        enqueuedAt.set(id, at);
        await store.mutateDevice(d.mac, (x) => ({
          next: x!,
          result: null,
          webhookEvents: [{ id, tenantId: tenant.id, mac: d.mac, siteId: null, state: 'failed', at }],
        }));
      }
    }
  }
  return n;
}

if (require.main === module) {
  benchWebhooks().then(
    () => process.exit(0),
    (e: Error) => {
      console.error(e.stack);
      process.exit(1);
    },
  );
}
