import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI_ACTOR } from '../src/app/actor';
import { loadConfig } from '../src/config/config';
import { startPapgate, type PapgateInstance } from '../src/main';
import { silentLogger } from '../src/ports/logger';

/**
 * Per-source limits seen from outside: the OPTIONS rate one source gets
 * served at, for offered rates around the configured one; how many 404s a
 * MAC scanner collects before its first 429 with the default settings; and
 * what one address that floods a known MAC's file gets.
 */

const SIP_PORT = 18700;
const SIP_RATE = 100;
const STEP_MS = 5000;

async function withPapgate<T>(env: Record<string, string>, run: (p: PapgateInstance) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'papgate-bench-limits-'));
  const p = await startPapgate(
    loadConfig({
      PAPGATE_DB: path.join(dir, 'p.db'),
      PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
      PAPGATE_PROVISIONING_PORT: '0',
      PAPGATE_ADMIN_ADDRESS: '127.0.0.1',
      PAPGATE_ADMIN_PORT: '0',
      ...env,
    }),
    { log: silentLogger },
  );
  try {
    return await run(p);
  } finally {
    await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Offers OPTIONS at `rate`/s for STEP_MS from `from`; counts what came back. */
async function offer(rate: number, from: string): Promise<{ ok: number; refused: number; silent: number; sent: number }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, from, resolve));
  let ok = 0;
  let refused = 0;
  socket.on('message', (m) => {
    const s = m.toString('latin1', 0, 12);
    if (s.startsWith('SIP/2.0 200')) ok++;
    else if (s.startsWith('SIP/2.0 503')) refused++;
  });
  const via = `${from}:${socket.address().port}`;
  const start = Date.now();
  let sent = 0;
  while (Date.now() - start < STEP_MS) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    for (; sent < due; sent++) {
      socket.send(
        Buffer.from(
          [
            `OPTIONS sip:papgate@127.0.0.1:${SIP_PORT} SIP/2.0`,
            `Via: SIP/2.0/UDP ${via};branch=z9hG4bK${from}-${sent}`,
            `From: <sip:bench@${from}>;tag=b`,
            `To: <sip:papgate@127.0.0.1>`,
            `Call-ID: ${from}-${sent}`,
            'CSeq: 1 OPTIONS',
            'Max-Forwards: 70',
            'Content-Length: 0',
            '',
            '',
          ].join('\r\n'),
        ),
        SIP_PORT,
        '127.0.0.1',
      );
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await new Promise((r) => setTimeout(r, 1000));
  socket.close();
  return { ok, refused, silent: sent - ok - refused, sent };
}

async function sipRates(): Promise<void> {
  await withPapgate(
    {
      PAPGATE_SIP_ADDRESS: '127.0.0.1',
      PAPGATE_SIP_PORT: String(SIP_PORT),
      PAPGATE_SIP_TRANSPORTS: 'udp',
      PAPGATE_RTP_ADDRESS: '127.0.0.1',
      PAPGATE_LIMIT_SIP_PER_SECOND: String(SIP_RATE),
      PAPGATE_LIMIT_SIP_BURST: String(SIP_RATE),
    },
    async () => {
      console.log(`SIP OPTIONS from one source, limit ${SIP_RATE}/s (burst ${SIP_RATE}), ${STEP_MS / 1000} s per step`);
      console.log('offered/s  served/s  503/s  silent/s');
      const rates = [50, 90, 110, 150, 200, 400, 1000];
      for (const [i, rate] of rates.entries()) {
        const r = await offer(rate, `127.0.0.${40 + i}`); // a fresh source per step: a full bucket
        const per = (n: number) => (n / (STEP_MS / 1000)).toFixed(0).padStart(8);
        console.log(`${String(rate).padStart(9)} ${per(r.ok)} ${per(r.refused)} ${per(r.silent)}`);
      }
    },
  );
}

function status(port: number, p: string, agent: http.Agent, from = '127.0.0.60'): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, agent, localAddress: from }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      })
      .on('error', reject);
  });
}

async function provisioningScan(): Promise<void> {
  await withPapgate({ PAPGATE_SIGNALLING: 'off' }, async (p) => {
    const port = Number(new URL(p.provisioningUrl).port);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const start = Date.now();
    let notFound = 0;
    for (let i = 0; i < 100_000; i++) {
      const s = await status(port, `/001565${(0x100000 + i).toString(16)}.cfg`, agent);
      if (s === 429) break;
      notFound++;
    }
    const secs = (Date.now() - start) / 1000;
    agent.destroy();
    console.log(
      `provisioning scan, default limits, one keep-alive connection: ${notFound} 404s before the first 429 ` +
        `(${secs.toFixed(1)} s, ${(notFound / secs).toFixed(0)} requests/s)`,
    );
  });
}

const FLOOD_MS = 3000;

async function provisioningFlood(): Promise<void> {
  await withPapgate({ PAPGATE_SIGNALLING: 'off' }, async (p) => {
    const port = Number(new URL(p.provisioningUrl).port);
    await p.services.tenants.create(CLI_ACTOR, 'flood', 'en');
    const mac = '001565ee0001';
    await p.services.devices.create(CLI_ACTOR, { tenant: 'flood', mac, vendor: 'yealink', model: 'T46S' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const start = Date.now();
    let served = 0;
    for (let i = 0; i < 1_000_000 && (await status(port, `/${mac}.cfg`, agent, '127.0.0.61')) === 200; i++) served++;
    const burstSecs = (Date.now() - start) / 1000;
    let later = 0;
    let refused = 0;
    const floodStart = Date.now();
    while (Date.now() - floodStart < FLOOD_MS) {
      if ((await status(port, `/${mac}.cfg`, agent, '127.0.0.61')) === 200) later++;
      else refused++;
    }
    agent.destroy();
    const secs = (Date.now() - floodStart) / 1000;
    console.log(
      `provisioning flood of a known MAC from one address, default limits, one keep-alive connection: ${served} 200s before the first 429 ` +
        `(${burstSecs.toFixed(1)} s); then ${(later / secs).toFixed(0)} 200s/s and ${(refused / secs).toFixed(0)} 429s/s for ${secs.toFixed(0)} s`,
    );
  });
}

export async function benchLimits(): Promise<void> {
  await sipRates();
  await provisioningScan();
  await provisioningFlood();
}
