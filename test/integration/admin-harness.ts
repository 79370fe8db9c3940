import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createAdminServer } from '../../src/admin/rest/server';
import { createServices, type AdminServices } from '../../src/app/services';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import { Metrics } from '../../src/observability/metrics';
import { systemClock } from '../../src/ports/clock';
import { silentLogger, type Logger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import type { Store } from '../../src/ports/store';
import { openSqliteStore } from '../../src/store/sqlite';

/** A real admin server on 127.0.0.1 over a real SQLite file in a temp dir (for the admin-*.test.ts suites). */

export const ADMIN_TOKEN = 'platform-admin-token-0123456789';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read whatever fields the answer under test has
  json: any;
}

export interface RequestOptions {
  token?: string | null;
  body?: unknown;
  /** Sent as-is (with `contentType`), instead of JSON of `body`. */
  raw?: string;
  contentType?: string;
}

export interface AdminHarness {
  base: string;
  app: FastifyInstance;
  store: Store;
  services: AdminServices;
  metrics: Metrics;
  dbPath: string;
  req(method: string, path: string, o?: RequestOptions): Promise<Answer>;
  close(): Promise<void>;
}

export async function startAdmin(o: { adminToken?: string | null; log?: Logger } = {}): Promise<AdminHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'papgate-admin-'));
  const dbPath = join(dir, 'papgate.db');
  const store = await openSqliteStore(dbPath);
  const log = o.log ?? silentLogger;
  const services = createServices({ store, clock: systemClock, random: cryptoRandom, policy: DEFAULT_POLICY, log });
  const metrics = new Metrics({ defaultMetrics: false });
  const app = createAdminServer({ services, metrics, log, adminToken: o.adminToken === undefined ? ADMIN_TOKEN : o.adminToken });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
  const base = `http://127.0.0.1:${addr.port}`;

  async function req(method: string, path: string, r: RequestOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = {};
    const token = r.token === undefined ? ADMIN_TOKEN : r.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (r.raw !== undefined) {
      body = r.raw;
      headers['content-type'] = r.contentType ?? 'application/json';
    } else if (r.body !== undefined) {
      body = JSON.stringify(r.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(base + path, { method, headers, body, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  return {
    base,
    app,
    store,
    services,
    metrics,
    dbPath,
    req,
    async close() {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
