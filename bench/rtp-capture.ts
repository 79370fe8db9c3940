import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * What a phone would see of papgate's RTP, measured at the receiving side:
 * tshark (dumpcap) captures on loopback (a) the RTP papgate sends, from its
 * RTP port range, headers only, and (b) the SIP to and from papgate. From
 * the files:
 *   - RFC 3550 interarrival jitter per stream (J += (|D| - J) / 16, D the
 *     change in transit time between consecutive packets, in ms), every
 *     packet's running J pooled over all streams: p50 / p99;
 *   - the gaps between consecutive packets of a talkspurt (papgate sends
 *     nothing between prompts): p50 / p99 / max;
 *   - per call, from the INFO carrying `#` (as captured) to the first packet
 *     of the verdict prompt (the next RTP packet of the call's stream with
 *     the marker bit: papgate marks the start of every talkspurt): p50 / p99.
 * The call's RTP port comes from papgate's SDP answer (the 200 to the INVITE).
 */

export interface CaptureOptions {
  rtpMin: number;
  rtpMax: number;
  sipPort: number;
  rtpFile: string;
  sipFile: string;
}

export interface ReceiverFigures {
  streams: number;
  packets: number;
  jitterP50Ms: number;
  jitterP99Ms: number;
  gapP50Ms: number;
  gapP99Ms: number;
  gapMaxMs: number;
  /** Calls with a `#` INFO and a verdict packet after it / with a `#` INFO at all. */
  verdictsMatched: number;
  hashes: number;
  hashToVerdictP50Ms: number;
  hashToVerdictP99Ms: number;
}

/** Why capturing cannot work here, or null. */
export function captureMissing(): string | null {
  const r = spawnSync('tshark', ['-v'], { encoding: 'utf8', timeout: 10_000 });
  return r.error ? 'tshark is not installed (apt-get install -y tshark)' : null;
}

export interface RunningCapture {
  stop(): Promise<void>;
}

/** Starts both captures; resolves once dumpcap says it is capturing (bounded). */
export async function startCapture(o: CaptureOptions): Promise<RunningCapture> {
  const children = [
    // Headers and a few payload bytes are enough for RTP: 14 Ethernet + 20 IP + 8 UDP + 12 RTP.
    capture(['-s', '64', '-f', `udp src portrange ${o.rtpMin}-${o.rtpMax}`, '-w', o.rtpFile]),
    capture(['-f', `udp port ${o.sipPort}`, '-w', o.sipFile]),
  ];
  await Promise.all(children.map((c) => c.started));
  return {
    async stop() {
      await Promise.all(children.map((c) => c.stop()));
    },
  };
}

function capture(args: string[]): { started: Promise<void>; stop(): Promise<void> } {
  const child: ChildProcess = spawn('tshark', ['-i', 'lo', '-q', '-F', 'pcap', '-B', '64', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tshark did not start capturing within 20 s: ${err}`)), 20_000);
    child.stderr!.on('data', (c: Buffer) => {
      err = (err + c.toString('utf8')).slice(-4096);
      if (/Capturing on/.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tshark exited (${code}): ${err}`));
    });
  });
  started.catch(() => undefined); // the caller awaits it; an exit after the start is not an error
  return {
    started,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT'); // dumpcap flushes the file on SIGINT
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

interface Datagram {
  timeMs: number;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

/** UDP over IPv4 datagrams of a classic pcap file (Ethernet or Linux cooked link). */
export function readPcap(file: string): Datagram[] {
  const buf = readFileSync(file);
  if (buf.length < 24) return [];
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  const linkType = u32(20);
  const linkHeader = linkType === 1 ? 14 : linkType === 113 ? 16 : 0; // Ethernet, Linux cooked (SLL)
  const out: Datagram[] = [];
  for (let at = 24; at + 16 <= buf.length;) {
    const timeMs = u32(at) * 1000 + u32(at + 4) / (nanos ? 1e6 : 1e3);
    const capLen = u32(at + 8);
    const pkt = buf.subarray(at + 16, at + 16 + capLen);
    at += 16 + capLen;
    const ip = pkt.subarray(linkHeader);
    if (ip.length < 28 || ip[0]! >> 4 !== 4 || ip[9] !== 17) continue;
    const udp = ip.subarray((ip[0]! & 0x0f) * 4);
    if (udp.length < 8) continue;
    out.push({ timeMs, srcPort: udp.readUInt16BE(0), dstPort: udp.readUInt16BE(2), payload: udp.subarray(8) });
  }
  return out;
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : NaN);

interface RtpPacket {
  timeMs: number;
  timestamp: number;
  marker: boolean;
}
/** One call's stream: ports are reused by later calls, so a stream is a port and an SSRC. */
interface Stream {
  port: number;
  packets: RtpPacket[];
}

export function analyse(o: CaptureOptions): ReceiverFigures {
  const streams = new Map<string, Stream>();
  for (const d of readPcap(o.rtpFile)) {
    if (d.payload.length < 12 || d.payload[0]! >> 6 !== 2) continue; // not RTP version 2
    const pt = d.payload[1]! & 0x7f;
    if (pt >= 72 && pt <= 76) continue; // RTCP
    const key = `${d.srcPort}/${d.payload.readUInt32BE(8)}`;
    const stream = streams.get(key) ?? { port: d.srcPort, packets: [] };
    stream.packets.push({ timeMs: d.timeMs, timestamp: d.payload.readUInt32BE(4), marker: (d.payload[1]! & 0x80) !== 0 });
    streams.set(key, stream);
  }
  const jitters: number[] = [];
  const gaps: number[] = [];
  let packets = 0;
  for (const { packets: list } of streams.values()) {
    packets += list.length;
    let j = 0;
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1]!, list[i]!];
      if (!b.marker) gaps.push(b.timeMs - a.timeMs); // a talkspurt's first packet ends a deliberate quiet, not a gap
      const sentGapMs = ((b.timestamp - a.timestamp) >>> 0) / 8; // 8 kHz clock (G.711)
      j += (Math.abs(b.timeMs - a.timeMs - sentGapMs) - j) / 16;
      jitters.push(j);
    }
  }
  const delays = hashToVerdict(o, [...streams.values()]);
  for (const a of [jitters, gaps, delays.ms]) a.sort((x, y) => x - y);
  return {
    streams: streams.size,
    packets,
    jitterP50Ms: percentile(jitters, 0.5),
    jitterP99Ms: percentile(jitters, 0.99),
    gapP50Ms: percentile(gaps, 0.5),
    gapP99Ms: percentile(gaps, 0.99),
    gapMaxMs: gaps.length ? gaps[gaps.length - 1]! : NaN,
    verdictsMatched: delays.ms.length,
    hashes: delays.hashes,
    hashToVerdictP50Ms: percentile(delays.ms, 0.5),
    hashToVerdictP99Ms: percentile(delays.ms, 0.99),
  };
}

/** Per call: the INFO with `#` (first capture of it) to the call's next marked RTP packet. */
function hashToVerdict(o: CaptureOptions, streams: Stream[]): { ms: number[]; hashes: number } {
  const portOf = new Map<string, number>();
  const hashAt = new Map<string, number>();
  for (const d of readPcap(o.sipFile)) {
    const text = d.payload.toString('latin1');
    const callId = /\r\n(?:Call-ID|i)\s*:\s*([^\r\n]+)/i.exec(text)?.[1]?.trim();
    if (!callId) continue;
    if (d.srcPort === o.sipPort && /^SIP\/2\.0 200 /.test(text) && /\r\nCSeq:\s*\d+\s+INVITE/i.test(text)) {
      const port = /\r\nm=audio (\d+) /.exec(text)?.[1];
      if (port) portOf.set(callId, Number(port));
    } else if (d.dstPort === o.sipPort && text.startsWith('INFO ') && /\r\nSignal\s*=\s*#/i.test(text) && !hashAt.has(callId)) {
      hashAt.set(callId, d.timeMs);
    }
  }
  const ms: number[] = [];
  for (const [callId, at] of hashAt) {
    const port = portOf.get(callId);
    // The call's stream is the one on its port that was playing when the # came.
    const stream = streams.find((s) => s.port === port && s.packets[0]!.timeMs <= at && s.packets[s.packets.length - 1]!.timeMs >= at);
    const first = stream?.packets.find((p) => p.timeMs >= at && p.marker);
    if (first) ms.push(first.timeMs - at);
  }
  return { ms, hashes: hashAt.size };
}
