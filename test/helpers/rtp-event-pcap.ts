/**
 * RFC 4733 key presses as pcap files for SIPp's `play_pcap_audio`, numbered
 * like a real phone numbers them: one SSRC, sequence numbers that keep
 * growing from key to key and one event timestamp per key.
 *
 * SIPp's shipped dtmf_2833_*.pcap files each carry a fixed sequence number and
 * timestamp, so a repeated key or a key that sorts lower arrives "from the
 * past"; FreeSWITCH drops such an event (sequence back by less than 100, or
 * equal to the previous event's), and a PAP arrives short. SIPp replays the
 * RTP header as captured, so the numbering must be in the file.
 *
 * Each key is like SIPp's own capture: 7 packets 20 ms apart with a growing
 * duration, then the end packet three times (same sequence number, RFC 4733
 * section 2.5.1.4). Linktype Ethernet, IPv4/UDP (SIPp rewrites the addresses).
 */

export const RFC4733_EVENTS: Record<string, number> = {
  0: 0,
  1: 1,
  2: 2,
  3: 3,
  4: 4,
  5: 5,
  6: 6,
  7: 7,
  8: 8,
  9: 9,
  '*': 10,
  '#': 11,
  A: 12,
  B: 13,
  C: 14,
  D: 15,
};

/** Where the numbering of one key starts; `next` continues after it. */
export interface RtpEventClock {
  ssrc: number;
  seq: number;
  timestamp: number;
}

const PACKETS_BEFORE_END = 7;
const END_COPIES = 3;
const SAMPLES_PER_PACKET = 160;

/** A fresh numbering, like a phone starting a call (SSRC and origin are arbitrary). */
export function newRtpEventClock(seed = 0x1f30): RtpEventClock {
  return { ssrc: 0x0e05384e, seq: seed & 0xffff, timestamp: 13280 };
}

/** One key press as a pcap; returns it and the clock for the next key. */
export function rtpEventPcap(key: string, clock: RtpEventClock, payloadType = 101): { pcap: Buffer; next: RtpEventClock } {
  const event = RFC4733_EVENTS[key.toUpperCase()];
  if (event === undefined) throw new Error(`no RFC 4733 event for key "${key}"`);
  const records: Buffer[] = [];
  let seq = clock.seq;
  const pkt = (i: number, end: boolean, s: number) => {
    const duration = (i + 1) * SAMPLES_PER_PACKET * 2;
    const rtp = Buffer.alloc(16);
    rtp[0] = 0x80;
    rtp[1] = (i === 0 ? 0x80 : 0) | (payloadType & 0x7f);
    rtp.writeUInt16BE(s & 0xffff, 2);
    rtp.writeUInt32BE(clock.timestamp >>> 0, 4);
    rtp.writeUInt32BE(clock.ssrc >>> 0, 8);
    rtp[12] = event;
    rtp[13] = (end ? 0x80 : 0) | 10; // E bit, volume -10 dBm0
    rtp.writeUInt16BE(Math.min(duration, 0xffff), 14);
    records.push(pcapRecord(udpFrame(rtp), i * 20_000));
  };
  for (let i = 0; i < PACKETS_BEFORE_END; i++) pkt(i, false, seq++);
  for (let c = 0; c < END_COPIES; c++) pkt(PACKETS_BEFORE_END, true, seq);
  seq++;
  const next = {
    ssrc: clock.ssrc,
    seq: seq & 0xffff,
    // the next key starts well after this one ended
    timestamp: (clock.timestamp + (PACKETS_BEFORE_END + 1) * SAMPLES_PER_PACKET * 4) >>> 0,
  };
  return { pcap: Buffer.concat([pcapHeader(), ...records]), next };
}

/** Files for a run of keys: name(i, key) -> pcap, numbered as one stream. */
export function rtpEventPcaps(keys: string, name: (index: number, key: string) => string, clock = newRtpEventClock()): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  let c = clock;
  [...keys].forEach((key, i) => {
    const r = rtpEventPcap(key, c);
    files[name(i, key)] = r.pcap;
    c = r.next;
  });
  return files;
}

function pcapHeader(): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(65535, 16);
  h.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  return h;
}

function pcapRecord(frame: Buffer, offsetUs: number): Buffer {
  const h = Buffer.alloc(16);
  const base = 1_134_424_480;
  h.writeUInt32LE(base + Math.floor(offsetUs / 1e6), 0);
  h.writeUInt32LE(offsetUs % 1e6, 4);
  h.writeUInt32LE(frame.length, 8);
  h.writeUInt32LE(frame.length, 12);
  return Buffer.concat([h, frame]);
}

/** Ethernet + IPv4 + UDP around an RTP packet (addresses are placeholders SIPp replaces). */
function udpFrame(rtp: Buffer): Buffer {
  const eth = Buffer.from('0050bf990336000d8714ac240800', 'hex');
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + rtp.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from([192, 168, 0, 3]).copy(ip, 12);
  Buffer.from([192, 168, 0, 1]).copy(ip, 16);
  ip.writeUInt16BE(ipChecksum(ip), 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(49176, 0);
  udp.writeUInt16BE(10000, 2);
  udp.writeUInt16BE(8 + rtp.length, 4);
  return Buffer.concat([eth, ip, udp, rtp]);
}

function ipChecksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** `node --require tsx/cjs test/helpers/rtp-event-pcap.ts DIR KEYS`: pap-1.pcap ... for scripts. */
if (require.main === module) {
  const [dir, keys] = process.argv.slice(2);
  if (!dir || !keys) {
    console.error('usage: rtp-event-pcap.ts DIR KEYS   (writes DIR/pap-1.pcap ... and DIR/key-pound.pcap for a trailing #)');
    process.exit(2);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('node:fs') as typeof import('node:fs');
  for (const [file, pcap] of Object.entries(rtpEventPcaps(keys, keyFileName))) fs.writeFileSync(`${dir}/${file}`, pcap);
}

/** pap-1.pcap ... pap-N.pcap for digits, key-pound.pcap / key-star.pcap for # and *. */
export function keyFileName(index: number, key: string): string {
  if (key === '#') return 'key-pound.pcap';
  if (key === '*') return 'key-star.pcap';
  return `pap-${index + 1}.pcap`;
}
