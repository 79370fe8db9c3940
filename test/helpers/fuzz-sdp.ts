import fc from 'fast-check';

/**
 * Seeded mutational SDP offers for the fuzzers: well-formed offers phones
 * send, then lines deleted, duplicated, swapped, replaced by SDP-ish lines or
 * by noise, characters flipped, the body truncated or its line ends changed.
 */

/** The seed of every fuzzer run (PAPGATE_FUZZ_SEED replays another). */
export const FUZZ_SEED = Number(process.env.PAPGATE_FUZZ_SEED ?? 4733);

const BASE_OFFERS: readonly string[][] = [
  [
    'v=0',
    'o=phone 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    'm=audio 40000 RTP/AVP 0 8 101',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-15',
    'a=ptime:20',
    'a=sendrecv',
  ],
  ['v=0', 'o=- 2 2 IN IP4 127.0.0.1', 's=call', 't=0 0', 'm=audio 40002 RTP/AVP 8', 'c=IN IP4 127.0.0.1', 'a=sendonly'],
  [
    'v=0',
    'o=- 3 3 IN IP6 ::1',
    's=-',
    'c=IN IP6 ::1',
    't=0 0',
    'm=video 40010 RTP/AVP 96',
    'a=rtpmap:96 H264/90000',
    'm=audio 40004 RTP/AVPF 9 0 97',
    'a=rtpmap:97 telephone-event/8000',
    'a=rtcp-fb:* nack',
  ],
  ['v=0', 'o=- 4 4 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 224.2.1.1/127', 't=0 0', 'm=audio 40006/2 RTP/SAVP 0', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x'],
  [
    'v=0',
    'o=- 5 5 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    'm=audio 40008 RTP/SAVP 0 101',
    'a=rtpmap:101 telephone-event/8000',
    `a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:${'A'.repeat(60)}`,
    `a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:${'QUJD'.repeat(10)}|2^31`,
    `a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:${'QUJD'.repeat(10)}`,
  ],
];

const token = fc.oneof(
  fc.constantFrom('0', '8', '101', '127', '128', '-1', '65535', '65536', '99999999999999999999', 'NaN', '', ' ', '/', '::', '\t'),
  fc.constantFrom(
    'IN',
    'IP4',
    'IP6',
    'IP5',
    'RTP/AVP',
    'RTP/SAVPF',
    'UDP/TLS/RTP/SAVP',
    'audio',
    'video',
    'PCMU/8000',
    'PCMA/8000/2',
    'telephone-event/8000',
    'G722/8000',
  ),
  fc.constantFrom('AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32', `inline:${'QUJD'.repeat(10)}`, `inline:${'QUJD'.repeat(10)}|2^20|1:4`, '|2^10'),
  fc.constantFrom('127.0.0.1', '0.0.0.0', '::1', '::ffff:127.0.0.1', '999.1.1.1', '[::1]', 'example.com', '10.0.0.1/32/2'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

/** A line that looks like SDP (right or wrong), or noise. */
const sdpishLine = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('v', 'o', 's', 'c', 't', 'm', 'a', 'b', 'k', 'z', 'V', '', 'ab'),
      fc.constantFrom('=', '= ', ':', ''),
      fc.array(token, { maxLength: 6 }),
    )
    .map(([t, eq, parts]) => `${t}${eq}${parts.join(' ')}`),
  fc
    .tuple(
      fc.constantFrom('rtpmap', 'fmtp', 'ptime', 'sendrecv', 'sendonly', 'recvonly', 'inactive', 'maxptime', 'rtcp', 'crypto'),
      fc.array(token, { maxLength: 4 }),
    )
    .map(([name, parts]) => `a=${name}:${parts.join(' ')}`),
  fc
    .tuple(
      fc.integer({ min: -5, max: 70000 }),
      fc.constantFrom('RTP/AVP', 'RTP/AVPF', 'RTP/SAVP', 'TCP'),
      fc.array(fc.integer({ min: -2, max: 300 }), { maxLength: 40 }),
    )
    .map(([port, proto, pts]) => `m=audio ${port} ${proto} ${pts.join(' ')}`),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

type Mutation = (lines: string[]) => string[];

const at = (lines: string[], i: number) => (lines.length === 0 ? 0 : i % lines.length);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map(
    (i): Mutation =>
      (l) =>
        l.filter((_, k) => k !== at(l, i)),
  ),
  fc.nat().map((i): Mutation => (l) => [...l.slice(0, at(l, i) + 1), ...l.slice(at(l, i))]),
  fc.tuple(fc.nat(), fc.nat()).map(([i, j]): Mutation => (l) => {
    if (l.length === 0) return l;
    const c = [...l];
    const a = at(c, i);
    const b = at(c, j);
    [c[a], c[b]] = [c[b]!, c[a]!];
    return c;
  }),
  fc.tuple(fc.nat(), sdpishLine).map(
    ([i, line]): Mutation =>
      (l) =>
        l.map((x, k) => (k === at(l, i) ? line : x)),
  ),
  fc.tuple(fc.nat(), sdpishLine).map(([i, line]): Mutation => (l) => [...l.slice(0, at(l, i)), line, ...l.slice(at(l, i))]),
  fc.tuple(fc.nat(), fc.nat(), fc.string({ unit: 'binary', maxLength: 4 })).map(
    ([i, pos, s]): Mutation =>
      (l) =>
        l.map((x, k) => {
          if (k !== at(l, i)) return x;
          const p = x.length === 0 ? 0 : pos % x.length;
          return x.slice(0, p) + s + x.slice(p + 1);
        }),
  ),
  fc.nat().map(
    (n): Mutation =>
      (l) =>
        l.slice(0, l.length === 0 ? 0 : n % (l.length + 1)),
  ),
  fc.integer({ min: 1, max: 200 }).map((n): Mutation => (l) => [...l, ...Array.from({ length: n }, (_, k) => `a=x-filler:${k}`)]),
);

/** An offer: a base one with 0-6 mutations, joined with CRLF, LF or a mix. */
export const fuzzedOffer: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...BASE_OFFERS), fc.array(mutation, { maxLength: 6 }), fc.constantFrom('\r\n', '\n', '\r', '\r\r\n'), fc.boolean())
  .map(([base, muts, eol, trailing]) => {
    const lines = muts.reduce((l, m) => m(l), [...base]);
    return lines.join(eol) + (trailing ? eol : '');
  });
