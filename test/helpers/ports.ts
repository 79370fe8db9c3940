import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/**
 * Port numbers for tests, so that two test runs on one host never fight over
 * fixed numbers.
 *
 * - A server that can listen on port 0 should: the OS picks, the test reads
 *   the bound port back. Use these helpers only where a number is needed
 *   before something starts (SIPp's `-p`, a config file, an RTP range).
 * - `freePort()` is a port the OS handed out for TCP that is also free for
 *   UDP (SIP listens on both with one number).
 * - `freePortBlock(n)` is n consecutive ports, all free for TCP and UDP on
 *   every address, below the kernel's ephemeral range (so port-0 binds
 *   elsewhere cannot land in it). Each process starts at a random even port
 *   and hands out blocks one after the other from there (packed, so a big
 *   block late in a run still fits); blocks handed out in this process never
 *   overlap. The base is even.
 *
 * The race: a port is free when checked and released before its user binds
 * it; another process may bind it in between. The window is a few
 * milliseconds and two runs start at random places among ~22,000 numbers,
 * so a collision is rare, and it shows as a clear "address in use", not a
 * wrong result.
 */

const BLOCK_LOW = 10_000;
const BLOCK_HIGH = 32_700; // Linux's default ephemeral range starts at 32768
const ATTEMPTS = 200;

const handedOut: Array<[number, number]> = [];
let cursor = BLOCK_LOW + 2 * Math.floor((Math.random() * (BLOCK_HIGH - BLOCK_LOW)) / 2);

export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = await osTcpPort(host);
    if (!taken(port, 1) && (await udpFree(port, host))) {
      handedOut.push([port, port]);
      return port;
    }
  }
  throw new Error(`no port free for both TCP and UDP on ${host} after ${ATTEMPTS} tries`);
}

export async function freePortBlock(size: number): Promise<number> {
  if (!Number.isInteger(size) || size < 1 || size > 2000) throw new RangeError(`block size ${size}`);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (cursor + size > BLOCK_HIGH) cursor = BLOCK_LOW;
    const base = cursor;
    cursor += size + (size % 2); // the next base stays even, as RTP wants its ports
    if (taken(base, size)) continue;
    if (await blockFree(base, size)) {
      handedOut.push([base, base + size - 1]);
      return base;
    }
  }
  throw new Error(`no free block of ${size} ports after ${ATTEMPTS} tries`);
}

/**
 * Named ports laid out inside one free block: `{ sip: 0, phone: 10 }` gives
 * `{ sip: base, phone: base + 10 }`, the block sized to the largest offset.
 */
export async function portLayout<T extends Record<string, number>>(offsets: T, spare = 20): Promise<{ [K in keyof T]: number }> {
  const size = Math.max(...Object.values(offsets)) + 1 + spare;
  const base = await freePortBlock(size);
  const out = {} as { [K in keyof T]: number };
  for (const k of Object.keys(offsets) as Array<keyof T>) out[k] = base + offsets[k];
  return out;
}

function taken(from: number, size: number): boolean {
  const to = from + size - 1;
  return handedOut.some(([a, b]) => from <= b && a <= to);
}

function osTcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function udpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

function tcpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Every port of the block binds on the wildcard address (so on every address) for TCP and UDP. */
async function blockFree(base: number, size: number): Promise<boolean> {
  for (let p = base; p < base + size; p++) {
    if (!(await tcpFree(p, '0.0.0.0')) || !(await udpFree(p, '0.0.0.0'))) return false;
  }
  return true;
}
