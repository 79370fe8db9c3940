import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_ACTOR } from '../../src/app/actor';
import { loadConfig } from '../../src/config/config';
import { startPapgate, type PapgateInstance } from '../../src/main';
import { silentLogger } from '../../src/ports/logger';
import type { Clock } from '../../src/ports/clock';

/** A whole papgate without SIP (provisioning and admin on ports the OS picks), for the provisioning attack tests. */

export interface ProvisioningTarget {
  instance: PapgateInstance;
  port: number;
  tenant: string;
  /** Creates a Yealink device; returns its MAC. */
  addDevice(mac: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startProvisioningTarget(env: Record<string, string>, clock?: Clock): Promise<ProvisioningTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'papgate-attack-'));
  const config = loadConfig(
    {},
    {
      PAPGATE_DB: join(dir, 'p.db'),
      PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
      PAPGATE_PROVISIONING_PORT: '0',
      PAPGATE_ADMIN_ADDRESS: '127.0.0.1',
      PAPGATE_ADMIN_PORT: '0',
      PAPGATE_SIGNALLING: 'off',
      ...env,
    },
  );
  let instance: PapgateInstance;
  try {
    instance = await startPapgate(config, { log: silentLogger, ...(clock ? { clock } : {}) });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const tenant = `attack-${process.pid}`;
  await instance.services.tenants.create(CLI_ACTOR, tenant, 'en');
  return {
    instance,
    tenant,
    port: Number(new URL(instance.provisioningUrl).port),
    async addDevice(mac) {
      await instance.services.devices.create(CLI_ACTOR, { tenant, mac, vendor: 'yealink', model: 'T46S' });
      return mac;
    },
    async stop() {
      await instance.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One GET (or `method`) from the loopback address `from`. */
export function get(port: number, path: string, from: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? 'GET',
        headers: o.headers,
        localAddress: from,
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

export type RawOutcome = { kind: 'status'; status: number } | { kind: 'closed' } | { kind: 'hung' };

/**
 * Writes raw bytes as one HTTP exchange from `from`, half-closes, and reads
 * the status line of the answer: whatever came back, or 'closed' without a
 * word, or 'hung' when nothing happened within `timeoutMs`.
 */
export function rawExchange(port: number, from: string, bytes: Buffer, timeoutMs = 10_000): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
    const finish = (o: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ kind: 'hung' }), timeoutMs);
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'));
      if (m) finish({ kind: 'status', status: Number(m[1]) });
    });
    socket.on('error', () => finish({ kind: 'closed' })); // a reset is an answer too: the server refused to go on
    socket.on('close', () => finish({ kind: 'closed' }));
  });
}
