import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NoCommonCodec } from '../../src/ports/media';
import { buildAnswer, negotiate, parseSdp, type SrtpPolicy } from '../../src/media/embedded/sdp';
import { chooseCrypto, parseCryptoAttribute } from '../../src/media/embedded/srtp/sdes';

const KEY = 'WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz'; // 30 bytes
const offer = (proto: string, crypto: string[], extra: string[] = []) =>
  [
    'v=0',
    'o=phone 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio 4000 ${proto} 0 101`,
    'a=rtpmap:101 telephone-event/8000',
    ...crypto.map((c) => `a=crypto:${c}`),
    ...extra,
    '',
  ].join('\r\n');

describe('media SRTP: SDES a=crypto lines (RFC 4568)', () => {
  it('reads tag, suite and the 30-byte key; a long enough lifetime is fine', () => {
    for (const line of [
      `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`,
      `7 AES_CM_128_HMAC_SHA1_32 inline:${KEY}|2^31`,
      `2 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|1048576`,
    ]) {
      const r = parseCryptoAttribute(line);
      assert.ok(r.ok, line);
      assert.equal(r.offer.keyAndSalt.length, 30);
    }
  });

  it('skips what it cannot honour, with a reason that holds no key material', () => {
    const cases: [string, string][] = [
      [`1 AES_256_CM_HMAC_SHA1_80 inline:${KEY}`, 'unsupported crypto suite'],
      [`1 F8_128_HMAC_SHA1_80 inline:${KEY}`, 'unsupported crypto suite'],
      [`x AES_CM_128_HMAC_SHA1_80 inline:${KEY}`, 'bad tag'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY.slice(0, 36)}`, 'the key is not 30 bytes of base64'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}AAAA`, 'the key is not 30 bytes of base64'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY.slice(0, 39)}!`, 'bad key parameter'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:4`, 'MKI is not supported'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|1:4`, 'MKI is not supported'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^10`, 'key lifetime too short or unreadable'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY};inline:${KEY}`, 'more than one key (MKI) is not supported'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY} UNENCRYPTED_SRTP`, 'session parameters are not supported'],
      ['1 AES_CM_128_HMAC_SHA1_80', 'no key parameter'],
      ['', 'bad tag'],
    ];
    for (const [line, reason] of cases) {
      assert.deepEqual(parseCryptoAttribute(line), { ok: false, reason }, line);
      assert.ok(!reason.includes(KEY.slice(0, 8)));
    }
  });

  it("takes the first usable line in the offer's order", () => {
    const r = chooseCrypto([`1 AES_256_CM_HMAC_SHA1_80 inline:${KEY}`, `2 AES_CM_128_HMAC_SHA1_32 inline:${KEY}`, `3 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]);
    assert.equal(r.offer?.tag, 2);
    assert.equal(r.offer?.suite, 'AES_CM_128_HMAC_SHA1_32');
    assert.deepEqual(r.skipped, ['unsupported crypto suite']);
  });

  it('never throws on any string (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const r = parseCryptoAttribute(s);
        return typeof r.ok === 'boolean';
      }),
      { seed: 4568, numRuns: 5000 },
    );
    fc.assert(
      fc.property(
        fc.constantFrom('1 AES_CM_128_HMAC_SHA1_80 inline:', '1 AES_CM_128_HMAC_SHA1_32 inline:'),
        fc.string({ maxLength: 80 }),
        (head, tail) => typeof parseCryptoAttribute(head + tail).ok === 'boolean',
      ),
      { seed: 4569, numRuns: 5000 },
    );
  });
});

describe('media SRTP: offer/answer with the SRTP setting', () => {
  const neg = (sdp: string, policy: SrtpPolicy) => negotiate(parseSdp(sdp), policy);
  const refused = (sdp: string, policy: SrtpPolicy, pattern: RegExp) =>
    assert.throws(
      () => neg(sdp, policy),
      (e: unknown) => e instanceof NoCommonCodec && pattern.test(e.message) && !e.message.includes(KEY.slice(0, 8)),
    );

  it("RTP/SAVP with a usable line: SRTP with the phone's key; the answer echoes the tag and proto with our key", () => {
    const sdp = offer('RTP/SAVP', [`5 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]);
    for (const policy of ['optional', 'required'] as const) {
      const n = neg(sdp, policy);
      assert.equal(n.srtp?.tag, 5);
      assert.equal(n.srtp?.keyAndSalt.toString('base64'), KEY);
      const answer = buildAnswer({
        offer: parseSdp(sdp),
        negotiated: n,
        address: '127.0.0.1',
        port: 20000,
        sessionId: '1',
        crypto: '5 AES_CM_128_HMAC_SHA1_80 inline:OURS',
      });
      assert.match(answer, /^m=audio 20000 RTP\/SAVP 0 101\r$/m);
      assert.match(answer, /^a=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:OURS\r$/m);
    }
  });

  it('plain RTP/AVP: plain unless SRTP is required (then 488)', () => {
    const sdp = offer('RTP/AVP', []);
    assert.equal(neg(sdp, 'optional').srtp, undefined);
    assert.equal(neg(sdp, 'off').srtp, undefined);
    refused(sdp, 'required', /SRTP is required/);
  });

  it('RTP/AVP with a=crypto ("SRTP if possible"): SRTP unless turned off', () => {
    const sdp = offer('RTP/AVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]);
    assert.equal(neg(sdp, 'optional').srtp?.tag, 1);
    assert.equal(neg(sdp, 'required').srtp?.tag, 1);
    assert.equal(neg(sdp, 'off').srtp, undefined);
    refused(offer('RTP/AVP', [`1 AES_256_CM_HMAC_SHA1_80 inline:${KEY}`]), 'required', /SRTP is required/);
  });

  it('RTP/SAVP without a usable line, or with SRTP off: 488, never a throw of another kind', () => {
    refused(offer('RTP/SAVP', []), 'optional', /no a=crypto line/);
    refused(
      offer('RTP/SAVP', [`1 AES_256_CM_HMAC_SHA1_80 inline:${KEY}`, `2 AES_CM_128_HMAC_SHA1_80 inline:bad`]),
      'required',
      /unsupported crypto suite; the key is not 30 bytes of base64/,
    );
    refused(offer('RTP/SAVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]), 'off', /turned off/);
    refused(offer('UDP/TLS/RTP/SAVPF', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]), 'optional', /not supported/);
  });

  it('the stream offered twice (SRTP and plain): the SRTP one unless SRTP is off', () => {
    const sdp = [
      'v=0',
      'o=phone 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=audio 4000 RTP/AVP 0',
      'm=audio 4002 RTP/SAVP 0',
      `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`,
      '',
    ].join('\r\n');
    assert.deepEqual([neg(sdp, 'optional').mediaIndex, neg(sdp, 'optional').remotePort], [1, 4002]);
    assert.deepEqual([neg(sdp, 'off').mediaIndex, neg(sdp, 'off').srtp], [0, undefined]);
  });
});
