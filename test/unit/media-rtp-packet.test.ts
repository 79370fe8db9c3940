import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeRtp, encodeRtp } from '../../src/media/embedded/rtp-packet';
import { encodeTelephoneEvent, TelephoneEventTracker } from '../../src/media/embedded/rfc4733';
import { requireTool } from '../helpers/required-tools';

const header = { payloadType: 0, marker: true, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef };

function mustDecode(buf: Buffer) {
  const r = decodeRtp(buf);
  if (!r.ok) throw new Error(`expected a valid packet, got: ${r.reason}`);
  return r.packet;
}

describe('media RTP packets', () => {
  it('round-trips the header and payload', () => {
    const payload = Buffer.from([1, 2, 3, 4, 5]);
    const buf = encodeRtp(header, payload);
    assert.equal(buf.length, 17);
    assert.equal(buf[0], 0x80);
    assert.equal(buf[1], 0x80);
    const p = mustDecode(buf);
    assert.deepEqual({ ...p, payload: [...p.payload] }, { ...header, payload: [1, 2, 3, 4, 5] });
  });

  it('wraps sequence numbers and timestamps into their field widths', () => {
    const p = mustDecode(encodeRtp({ ...header, marker: false, sequenceNumber: 65536 + 7, timestamp: 2 ** 32 + 9 }, Buffer.alloc(0)));
    assert.equal(p.sequenceNumber, 7);
    assert.equal(p.timestamp, 9);
    assert.equal(p.marker, false);
  });

  it('skips CSRCs and a header extension, and strips padding', () => {
    const buf = Buffer.concat([
      Buffer.from([0x80 | 0x20 | 0x10 | 2, 101, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9]),
      Buffer.alloc(8, 0xaa), // 2 CSRCs
      Buffer.from([0xbe, 0xde, 0, 1, 1, 2, 3, 4]), // extension with one word
      Buffer.from([7, 7, 7]), // payload
      Buffer.from([0, 0, 3]), // 3 bytes of padding
    ]);
    const p = mustDecode(buf);
    assert.equal(p.payloadType, 101);
    assert.deepEqual([...p.payload], [7, 7, 7]);
  });

  const bad: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['shorter than a header', Buffer.from([0x80, 0, 0, 1])],
    ['version 1', Buffer.concat([Buffer.from([0x40, 0]), Buffer.alloc(10)])],
    ['version 0 (e.g. STUN)', Buffer.concat([Buffer.from([0x00, 1]), Buffer.alloc(30)])],
    ['CSRC count past the end', Buffer.concat([Buffer.from([0x8f, 0]), Buffer.alloc(10)])],
    ['extension header past the end', Buffer.concat([Buffer.from([0x90, 0]), Buffer.alloc(12)])],
    ['extension length past the end', Buffer.concat([Buffer.from([0x90, 0]), Buffer.alloc(10), Buffer.from([0xbe, 0xde, 0, 9])])],
    ['padding count 0', Buffer.concat([Buffer.from([0xa0, 0]), Buffer.alloc(10), Buffer.from([1, 0])])],
    ['padding longer than the payload', Buffer.concat([Buffer.from([0xa0, 0]), Buffer.alloc(10), Buffer.from([1, 9])])],
    ['RTCP sender report', Buffer.concat([Buffer.from([0x80, 200]), Buffer.alloc(26)])],
  ];
  for (const [name, buf] of bad) {
    it(`rejects ${name} with a reason, without throwing`, () => {
      const r = decodeRtp(buf);
      assert.equal(r.ok, false);
      if (!r.ok) assert.ok(r.reason.length > 0);
    });
  }
});

describe('media RFC 4733 telephone-events', () => {
  const ev = (event: number, end: boolean, duration: number) => encodeTelephoneEvent({ event, end, volume: 10, duration });

  /** What a phone sends for one press: start, updates, then three end packets, all on one timestamp. */
  function press(tracker: TelephoneEventTracker, event: number, ts: number): string[] {
    const packets = [ev(event, false, 160), ev(event, false, 320), ev(event, false, 480), ev(event, true, 640), ev(event, true, 640), ev(event, true, 640)];
    return packets.map((p, i) => tracker.accept(ts, i === 0, p)).filter((d): d is string => d !== undefined);
  }

  it('maps events 0-15 to 0-9 * # A-D', () => {
    const tracker = new TelephoneEventTracker();
    const digits = Array.from({ length: 16 }, (_, e) => press(tracker, e, 1000 + e * 800)).flat();
    assert.equal(digits.join(''), '0123456789*#ABCD');
  });

  it('counts one digit per press, however many packets and end repeats arrive', () => {
    const tracker = new TelephoneEventTracker();
    assert.deepEqual(press(tracker, 5, 8000), ['5']);
  });

  it('counts the same key pressed twice (new timestamp) twice', () => {
    const tracker = new TelephoneEventTracker();
    assert.deepEqual([...press(tracker, 1, 8000), ...press(tracker, 1, 9600)], ['1', '1']);
  });

  it('counts a press whose start packets were lost (only end packets arrive)', () => {
    const tracker = new TelephoneEventTracker();
    assert.equal(tracker.accept(100, false, ev(11, true, 800)), '#');
    assert.equal(tracker.accept(100, false, ev(11, true, 800)), undefined);
  });

  it('does not count a late, reordered packet of an earlier press again', () => {
    const tracker = new TelephoneEventTracker();
    press(tracker, 2, 1000);
    press(tracker, 3, 2000);
    assert.equal(tracker.accept(1000, false, ev(2, true, 640)), undefined);
  });

  it('ignores non-DTMF events and short payloads', () => {
    const tracker = new TelephoneEventTracker();
    assert.equal(tracker.accept(1, true, ev(16, false, 160)), undefined); // flash
    assert.equal(tracker.accept(2, true, Buffer.from([1, 2])), undefined);
  });

  it('does not count a late start packet (marker) that arrives before the end as a second press', () => {
    const tracker = new TelephoneEventTracker();
    assert.equal(tracker.accept(500, true, ev(4, false, 160)), '4');
    assert.equal(tracker.accept(500, true, ev(4, false, 160)), undefined);
    assert.equal(tracker.accept(500, false, ev(4, true, 480)), undefined);
  });

  describe("SIPp's dtmf_2833 captures, replayed unchanged", () => {
    const dir = '/usr/share/sip-tester';
    const capture = (name: string) => rtpOfPcap(readFileSync(`${dir}/dtmf_2833_${name}.pcap`));
    before(function () {
      requireTool(this, 'sipp-dtmf-pcaps', "the RFC 4733 tracker is checked against SIPp's captures");
    });

    it('counts "1 2 1 1 #" played from the captures (same timestamps each time)', () => {
      const tracker = new TelephoneEventTracker();
      let digits = '';
      for (const name of ['1', '2', '1', '1', 'pound']) {
        for (const p of capture(name)) {
          assert.equal(p.payloadType, 101);
          digits += tracker.accept(p.timestamp, p.marker, p.payload) ?? '';
        }
      }
      assert.equal(digits, '1211#');
    });
  });
});

/** RTP packets of a classic little-endian pcap of Ethernet/IPv4/UDP frames. */
function rtpOfPcap(file: Buffer) {
  assert.equal(file.readUInt32LE(0), 0xa1b2c3d4, 'pcap magic');
  assert.equal(file.readUInt32LE(20), 1, 'Ethernet link type');
  const packets = [];
  for (let at = 24; at + 16 <= file.length;) {
    const length = file.readUInt32LE(at + 8);
    const frame = file.subarray(at + 16, at + 16 + length);
    at += 16 + length;
    const ipHeader = ((frame[14] as number) & 0x0f) * 4;
    packets.push(mustDecode(frame.subarray(14 + ipHeader + 8)));
  }
  return packets;
}
