import assert from 'node:assert/strict';
import fc from 'fast-check';
import { aesCmKeystream, deriveSessionKeys, packetIv } from '../../src/media/embedded/srtp/aes-cm';
import { REPLAY_WINDOW } from '../../src/media/embedded/srtp/replay-window';
import { SrtpReceiver, SrtpSender, type SrtpSuite } from '../../src/media/embedded/srtp/srtp-context';
import { encodeRtp } from '../../src/media/embedded/rtp-packet';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('media SRTP: RFC 3711 test vectors', () => {
  it('B.2: the AES-CM keystream for session key 2B7E..., salt F0F1...FD, SSRC 0, index 0', () => {
    const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
    const iv = packetIv(hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), 0, 0);
    assert.equal(iv.toString('hex').toUpperCase(), 'F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
    const stream = aesCmKeystream(key, iv, 0xff02 * 16);
    const block = (n: number) =>
      stream
        .subarray(n * 16, n * 16 + 16)
        .toString('hex')
        .toUpperCase();
    assert.equal(block(0), 'E03EAD0935C95E80E166B16DD92B4EB4');
    assert.equal(block(1), 'D23513162B02D0F72A43A2FE4A5F97AB');
    assert.equal(block(2), '41E95B3BB0A2E8DD477901E4FCA894C0');
    assert.equal(block(0xfeff), 'EC8CDF7398607CB0F2D21675EA9EA1E4');
    assert.equal(block(0xff00), '362B7C3C6773516318A077D7FC5073AE');
    assert.equal(block(0xff01), '6A2CC3787889374FBEB4C81B17BA6C44');
  });

  it('B.3: key derivation of the cipher key, salt and authentication key (labels 0, 2, 1)', () => {
    const keys = deriveSessionKeys(hex('E1F97A0D3E018BE0D64FA32C06DE4139'), hex('0EC675AD498AFEEBB6960B3AABE6'));
    assert.equal(keys.encryption.toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087');
    assert.equal(keys.salt.toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1');
    assert.equal(keys.authentication.toString('hex').toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
  });

  it("a whole AES_CM_128_HMAC_SHA1_80 packet matches libsrtp's reference (srtp_driver)", () => {
    const keyAndSalt = hex('E1F97A0D3E018BE0D64FA32C06DE41390EC675AD498AFEEBB6960B3AABE6');
    const plain = hex('800f1234decafbadcafebabeabababababababababababababababab');
    const expected = hex('800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb');
    assert.deepEqual(new SrtpSender('AES_CM_128_HMAC_SHA1_80', keyAndSalt).protect(plain), expected);
    const r = new SrtpReceiver('AES_CM_128_HMAC_SHA1_80', keyAndSalt).unprotect(expected);
    assert.ok(r.ok);
    assert.deepEqual(r.packet, plain);
  });
});

const KEY = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d');
const rtp = (seq: number, payload: Buffer, ssrc = 0x11223344) =>
  encodeRtp({ payloadType: 0, marker: false, sequenceNumber: seq, timestamp: seq * 160, ssrc }, payload);

describe('media SRTP: sender and receiver', () => {
  for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as SrtpSuite[]) {
    it(`${suite}: round trip; the payload on the wire is not the plain one`, () => {
      const tx = new SrtpSender(suite, KEY);
      const rx = new SrtpReceiver(suite, KEY);
      const payload = Buffer.alloc(160, 0xff);
      const wire = tx.protect(rtp(7, payload));
      assert.equal(wire.length, 12 + 160 + (suite.endsWith('80') ? 10 : 4));
      assert.notDeepEqual(wire.subarray(12, 172), payload);
      const r = rx.unprotect(wire);
      assert.ok(r.ok);
      assert.deepEqual(r.packet, rtp(7, payload));
    });
  }

  it('keeps the rollover counter across a sequence wrap (sender and receiver)', () => {
    const tx = new SrtpSender('AES_CM_128_HMAC_SHA1_80', KEY);
    const rx = new SrtpReceiver('AES_CM_128_HMAC_SHA1_80', KEY);
    for (let i = 0; i < 300; i++) {
      const seq = (65400 + i) & 0xffff;
      const r = rx.unprotect(tx.protect(rtp(seq, Buffer.from([i & 0xff, 1, 2]))));
      assert.ok(r.ok, `packet ${i} (seq ${seq}): ${r.ok ? '' : r.reason}`);
      assert.equal(r.packet[12], i & 0xff);
    }
  });

  it('a packet reordered across the wrap still decrypts with the right ROC', () => {
    const tx = new SrtpSender('AES_CM_128_HMAC_SHA1_80', KEY);
    const rx = new SrtpReceiver('AES_CM_128_HMAC_SHA1_80', KEY);
    const p0 = tx.protect(rtp(65533, Buffer.from('p0')));
    const p1 = tx.protect(rtp(65535, Buffer.from('p1')));
    const p2 = tx.protect(rtp(0, Buffer.from('p2'))); // the sender's ROC is 1 from here
    const p3 = tx.protect(rtp(1, Buffer.from('p3')));
    for (const [pkt, text] of [
      [p0, 'p0'],
      [p2, 'p2'],
      [p1, 'p1'],
      [p3, 'p3'],
    ] as const) {
      const r = rx.unprotect(pkt);
      assert.ok(r.ok, `${text}: ${r.ok ? '' : r.reason}`);
      assert.equal(r.packet.subarray(12).toString(), text);
    }
  });

  it('drops a replay, and a packet older than the 64-packet window', () => {
    const tx = new SrtpSender('AES_CM_128_HMAC_SHA1_80', KEY);
    const rx = new SrtpReceiver('AES_CM_128_HMAC_SHA1_80', KEY);
    const packets = Array.from({ length: REPLAY_WINDOW + 10 }, (_, i) => tx.protect(rtp(100 + i, Buffer.from([i]))));
    const first = packets[0]!;
    assert.ok(rx.unprotect(first).ok);
    assert.deepEqual(rx.unprotect(first), { ok: false, reason: 'replayed packet' });
    assert.ok(rx.unprotect(packets[packets.length - 1]!).ok); // index 173: the window is now 110..173
    assert.deepEqual(rx.unprotect(packets[10]!), { ok: true, packet: rtp(110, Buffer.from([10])) }, 'the oldest index inside the window, not seen: accepted');
    assert.equal(rx.unprotect(packets[10]!).ok, false, 'and not twice');
    assert.deepEqual(rx.unprotect(packets[9]!), { ok: false, reason: 'replayed packet' }, 'one older than the window');
  });

  it('drops a packet with any bit changed (header, payload or tag), then still takes the genuine one', () => {
    const tx = new SrtpSender('AES_CM_128_HMAC_SHA1_80', KEY);
    const wire = tx.protect(rtp(500, Buffer.from('0123456789')));
    for (let bit = 0; bit < wire.length * 8; bit++) {
      const rx = new SrtpReceiver('AES_CM_128_HMAC_SHA1_80', KEY);
      const bad = Buffer.from(wire);
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
      assert.equal(rx.unprotect(bad).ok, false, `bit ${bit} flipped`);
      assert.ok(rx.unprotect(wire).ok, 'the genuine packet after a forged one');
    }
  });

  it('a packet keyed with another key is dropped', () => {
    const other = Buffer.from(KEY);
    other[0] = (other[0] as number) ^ 1;
    const wire = new SrtpSender('AES_CM_128_HMAC_SHA1_80', other).protect(rtp(1, Buffer.from('x')));
    assert.deepEqual(new SrtpReceiver('AES_CM_128_HMAC_SHA1_80', KEY).unprotect(wire), { ok: false, reason: 'authentication tag mismatch' });
  });
});

describe('media SRTP: property tests (fast-check)', () => {
  const suite = fc.constantFrom<SrtpSuite>('AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32');
  const key = fc.uint8Array({ minLength: 30, maxLength: 30 }).map((a) => Buffer.from(a));

  it('round trip for any key, SSRC, sequence and payload', () => {
    fc.assert(
      fc.property(
        suite,
        key,
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 300 }),
        (s, k, seq, ssrc, payload) => {
          const plain = rtp(seq, Buffer.from(payload), ssrc);
          const r = new SrtpReceiver(s, k).unprotect(new SrtpSender(s, k).protect(plain));
          return r.ok && r.packet.equals(plain);
        },
      ),
      { seed: 4568, numRuns: 500 },
    );
  });

  it('a tampered packet is dropped; the same packet untampered is then accepted once', () => {
    fc.assert(
      fc.property(suite, key, fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (s, k, payload, where, mask) => {
        const wire = new SrtpSender(s, k).protect(rtp(42, Buffer.from(payload)));
        const bad = Buffer.from(wire);
        const at = where % bad.length;
        bad[at] = (bad[at] as number) ^ mask;
        const rx = new SrtpReceiver(s, k);
        return !rx.unprotect(bad).ok && rx.unprotect(wire).ok && !rx.unprotect(wire).ok;
      }),
      { seed: 3711, numRuns: 1000 },
    );
  });

  it('never throws on garbage, and never accepts it', () => {
    fc.assert(
      fc.property(suite, key, fc.uint8Array({ maxLength: 400 }), (s, k, bytes) => {
        const r = new SrtpReceiver(s, k).unprotect(Buffer.from(bytes));
        return !r.ok && typeof r.reason === 'string';
      }),
      { seed: 80, numRuns: 5000 },
    );
  });
});
