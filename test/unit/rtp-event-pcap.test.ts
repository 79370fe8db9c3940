import assert from 'node:assert/strict';
import { newRtpEventClock, rtpEventPcap, rtpEventPcaps } from '../helpers/rtp-event-pcap';

/** RTP headers and RFC 4733 payloads of a pcap written by rtp-event-pcap.ts. */
function packets(pcap: Buffer): { seq: number; ts: number; ssrc: number; event: number; end: boolean; marker: boolean }[] {
  assert.equal(pcap.readUInt32LE(0), 0xa1b2c3d4);
  const out = [];
  for (let off = 24; off < pcap.length;) {
    const len = pcap.readUInt32LE(off + 8);
    const rtp = pcap.subarray(off + 16 + 14 + 20 + 8, off + 16 + len);
    out.push({
      seq: rtp.readUInt16BE(2),
      ts: rtp.readUInt32BE(4),
      ssrc: rtp.readUInt32BE(8),
      event: rtp[12]!,
      end: (rtp[13]! & 0x80) !== 0,
      marker: (rtp[1]! & 0x80) !== 0,
    });
    off += 16 + len;
  }
  return out;
}

describe('RFC 4733 captures numbered as one stream', () => {
  it('one key: 7 packets then the end packet three times with one sequence number', () => {
    const p = packets(rtpEventPcap('5', newRtpEventClock(100)).pcap);
    assert.equal(p.length, 10);
    assert.deepEqual(
      p.map((x) => x.seq),
      [100, 101, 102, 103, 104, 105, 106, 107, 107, 107],
    );
    assert.ok(p.every((x) => x.event === 5 && x.ts === p[0]!.ts));
    assert.deepEqual(
      p.map((x) => x.end),
      [false, false, false, false, false, false, false, true, true, true],
    );
    assert.equal(p[0]!.marker, true);
  });

  it('a repeated key keeps moving forward: sequence numbers and timestamps grow, one SSRC', () => {
    const files = Object.values(rtpEventPcaps('1155#', (i) => `f${i}`)).map(packets);
    for (let i = 1; i < files.length; i++) {
      assert.ok(files[i]![0]!.seq > files[i - 1]!.at(-1)!.seq, `key ${i} starts after key ${i - 1}`);
      assert.ok(files[i]![0]!.ts > files[i - 1]![0]!.ts);
      assert.equal(files[i]![0]!.ssrc, files[0]![0]!.ssrc);
    }
    assert.deepEqual(
      files.map((f) => f[0]!.event),
      [1, 1, 5, 5, 11],
    );
  });
});
