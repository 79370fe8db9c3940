/**
 * What crossed the loopback interface: dumpcap (Wireshark's capture engine,
 * Debian package `tshark`) writes a classic pcap file of the UDP datagrams a
 * capture filter selects, and `datagrams()` reads it back (Ethernet framing,
 * as Linux gives `lo`; IPv4/UDP only). Bounded: the capture stops itself
 * after `maxSeconds`, and `stop()` ends it earlier.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeRtp } from '../../src/media/embedded/rtp-packet';

export interface CapturedDatagram {
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

export interface LoopbackCapture {
  /** Stops dumpcap (bounded) and returns the UDP datagrams captured, in order. */
  stop(): Promise<CapturedDatagram[]>;
}

/** Why a capture cannot run here, or null when it can. */
export function dumpcapMissing(): string | null {
  const r = spawnSync('dumpcap', ['-D'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return 'dumpcap is not installed (apt-get install -y tshark)';
  if (!/\blo\b/.test(`${r.stdout}`)) return `dumpcap cannot capture on lo: ${r.stderr.trim().slice(0, 200)}`;
  return null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Starts capturing on lo with a BPF filter, e.g. "udp portrange 20320-20339"; resolves once dumpcap captures. */
export async function startLoopbackCapture(filter: string, maxSeconds = 120): Promise<LoopbackCapture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'papgate-capture-'));
  const file = path.join(dir, 'lo.pcap');
  const child = spawn('dumpcap', ['-i', 'lo', '-P', '-f', filter, '-w', file, '-a', `duration:${maxSeconds}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (e) => {
      stderr += e.message;
      exited = true;
      resolve();
    });
  });
  const killOnExit = () => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const until = Date.now() + 15_000;
  while (!/Capturing on/i.test(stderr)) {
    if (exited || Date.now() > until) {
      child.kill('SIGKILL');
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`dumpcap did not start capturing: ${stderr.trim()}`);
    }
    await sleep(50);
  }
  return {
    async stop() {
      if (!exited) {
        child.kill('SIGINT');
        await Promise.race([exit, sleep(5000)]);
        if (!exited) child.kill('SIGKILL');
      }
      process.removeListener('exit', killOnExit);
      try {
        return udpDatagrams(readFileSync(file));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The IPv4/UDP datagrams of a classic pcap file (Ethernet or Linux "cooked" framing). */
export function udpDatagrams(pcap: Buffer): CapturedDatagram[] {
  if (pcap.length < 24) return [];
  const magic = pcap.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && pcap.readUInt32BE(0) !== 0xa1b2c3d4 && pcap.readUInt32BE(0) !== 0xa1b23c4d) throw new Error('not a pcap file');
  const u32 = (o: number) => (le ? pcap.readUInt32LE(o) : pcap.readUInt32BE(o));
  const linkType = u32(20);
  const linkBytes = linkType === 1 ? 14 : linkType === 113 ? 16 : -1;
  if (linkBytes < 0) throw new Error(`unexpected pcap link type ${linkType}`);
  const out: CapturedDatagram[] = [];
  for (let at = 24; at + 16 <= pcap.length;) {
    const captured = u32(at + 8);
    const frame = pcap.subarray(at + 16, at + 16 + captured);
    at += 16 + captured;
    const ip = frame.subarray(linkBytes);
    if (ip.length < 20 || (ip[0] as number) >> 4 !== 4 || ip[9] !== 17) continue;
    const udp = ip.subarray(((ip[0] as number) & 0x0f) * 4);
    if (udp.length < 8) continue;
    out.push({ srcPort: udp.readUInt16BE(0), dstPort: udp.readUInt16BE(2), payload: Buffer.from(udp.subarray(8, udp.readUInt16BE(4))) });
  }
  return out;
}

const EVENT_CODES = '0123456789*#';

/** Key presses read from RFC 4733 packets: one digit per event timestamp (its first packet). */
export function eventDigits(packets: Buffer[], eventPt: number): string {
  const seen = new Map<number, string>();
  for (const p of packets) {
    const d = decodeRtp(p);
    if (!d.ok || d.packet.payloadType !== eventPt || d.packet.payload.length < 4) continue;
    if (!seen.has(d.packet.timestamp)) seen.set(d.packet.timestamp, EVENT_CODES[d.packet.payload[0]!] ?? '?');
  }
  return [...seen.values()].join('');
}
