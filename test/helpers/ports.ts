import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

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
 * Blocks are held for a whole suite (the call harness's for the whole run),
 * so test runs on one host also claim them from each other: a block takes
 * lock files for its 100-port buckets in a shared temp folder (the owner's
 * pid inside; a dead owner's lock is taken over; removed at exit).
 *
 * What remains is a small race with other programs: a port is free when
 * checked and released before its user binds it, and something else may
 * bind it in between. That shows as a clear "address in use", not a wrong
 * result.
 */

const BLOCK_LOW = 10_000;
const BLOCK_HIGH = 32_700; // Linux's default ephemeral range starts at 32768
const ATTEMPTS = 200;

const BUCKET = 100;
const LOCK_DIR = path.join(tmpdir(), 'papgate-test-ports');

const handedOut: Array<[number, number]> = [];
/** Buckets this process holds the lock files of. */
const ownBuckets = new Set<number>();
process.once('exit', () => {
  for (const b of ownBuckets) {
    try {
      unlinkSync(lockFile(b));
    } catch {
      // already gone: nothing to release
    }
  }
});
// PAPGATE_TEST_PORT_START pins where this process starts (for the test of the locks between runs).
let cursor = Number(process.env.PAPGATE_TEST_PORT_START) || BLOCK_LOW + 2 * Math.floor((Math.random() * (BLOCK_HIGH - BLOCK_LOW)) / 2);

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
    if (!claimBuckets(base, size)) continue; // another test run on this host holds part of it
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

const lockFile = (bucket: number) => path.join(LOCK_DIR, String(bucket));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock file of one bucket: free, or left by a process that is gone. */
function lockBucket(bucket: number): boolean {
  const file = lockFile(bucket);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(file, 'utf8'));
      } catch {
        continue; // removed meanwhile: try again
      }
      if (owner > 0 && alive(owner)) return false;
      try {
        unlinkSync(file); // a stale lock: its run ended without removing it
      } catch {
        // another run removed it first: the next write decides
      }
    }
  }
  return false;
}

/** Claims every 100-port bucket the block touches (those this process holds already count as claimed). */
function claimBuckets(base: number, size: number): boolean {
  mkdirSync(LOCK_DIR, { recursive: true });
  const got: number[] = [];
  for (let b = Math.floor(base / BUCKET); b <= Math.floor((base + size - 1) / BUCKET); b++) {
    if (ownBuckets.has(b)) continue;
    if (!lockBucket(b)) {
      for (const g of got) {
        ownBuckets.delete(g);
        unlinkSync(lockFile(g));
      }
      return false;
    }
    ownBuckets.add(b);
    got.push(b);
  }
  return true;
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
