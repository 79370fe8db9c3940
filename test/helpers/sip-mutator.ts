/**
 * A seeded mutational fuzzer for SIP text: the same seed gives the same
 * messages, so a failure can be replayed (PAPGATE_FUZZ_SEED=...).
 */

/** mulberry32: small, fast, good enough to pick mutations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Mutation = (m: Buffer, r: () => number) => Buffer;

const int = (r: () => number, n: number) => Math.floor(r() * n);
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[int(r, xs.length)]!;

const lines = (m: Buffer) => m.toString('latin1').split('\r\n');
const join = (ls: string[]) => Buffer.from(ls.join('\r\n'), 'latin1');
const headerEnd = (ls: string[]) => Math.max(1, ls.indexOf(''));

const NASTY = [
  '',
  ' ',
  '\t',
  '\0',
  '\r',
  '\n',
  '\r\n',
  '\r\n\r\n',
  ',',
  ';',
  ';;',
  '<',
  '>',
  '"',
  '\\',
  '%',
  '%00',
  '%zz',
  '@',
  ':',
  '[',
  ']',
  '[::1',
  '?',
  '-1',
  '0',
  '4294967296',
  '18446744073709551616',
  '99999999999999999999999',
  'SIP/2.0',
  'SIP/7.0',
  'sip:',
  'tel:',
  'sip:112@[::1]',
  '\u00ff\u00fe',
  'z9hG4bK',
  ';branch=',
  'Content-Length: 0',
  'l: 9999',
  'Via: SIP/2.0/UDP x',
  '\r\nVia: injected',
];

const MUTATIONS: Mutation[] = [
  // bit flips
  (m, r) => {
    const b = Buffer.from(m);
    for (let i = 0, n = 1 + int(r, 8); i < n && b.length; i++) b[int(r, b.length)]! ^= 1 << int(r, 8);
    return b;
  },
  // random bytes replace / insert
  (m, r) => {
    const at = int(r, m.length + 1);
    const junk = Buffer.from(Array.from({ length: 1 + int(r, 16) }, () => int(r, 256)));
    return Buffer.concat([m.subarray(0, at), junk, m.subarray(r() < 0.5 ? at : Math.min(m.length, at + junk.length))]);
  },
  // truncation
  (m, r) => m.subarray(0, int(r, m.length)),
  // duplicate a header line (maybe many times)
  (m, r) => {
    const ls = lines(m);
    const i = 1 + int(r, headerEnd(ls) - 1);
    const copies = r() < 0.9 ? 1 : 50 + int(r, 200);
    ls.splice(i, 0, ...Array.from({ length: copies }, () => ls[i] ?? ''));
    return join(ls);
  },
  // delete or swap header lines
  (m, r) => {
    const ls = lines(m);
    const end = headerEnd(ls);
    const i = int(r, end);
    if (r() < 0.5) ls.splice(i, 1);
    else {
      const j = int(r, end);
      [ls[i], ls[j]] = [ls[j]!, ls[i]!];
    }
    return join(ls);
  },
  // a huge value
  (m, r) => {
    const ls = lines(m);
    const i = 1 + int(r, headerEnd(ls) - 1);
    ls[i] = `${ls[i] ?? 'X'}${pick(r, ['a', ';p=v', ',', ' ', '%41'] as const).repeat(1000 + int(r, 70_000))}`;
    return join(ls);
  },
  // CRLF or other nasty text injected into a value
  (m, r) => {
    const ls = lines(m);
    const i = int(r, headerEnd(ls));
    const s = ls[i] ?? '';
    const at = int(r, s.length + 1);
    ls[i] = s.slice(0, at) + pick(r, NASTY) + s.slice(at);
    return join(ls);
  },
  // Content-Length lies
  (m, r) => {
    const t = m.toString('latin1');
    const cl = pick(r, ['-1', '0', '1', '99999', 'abc', '1 2', '', '65536', String(int(r, 400))]);
    return Buffer.from(t.replace(/(Content-Length|l)\s*:[^\r]*/i, `Content-Length: ${cl}`), 'latin1');
  },
  // whole random garbage
  (_m, r) => Buffer.from(Array.from({ length: int(r, 300) }, () => int(r, 256))),
];

/** One to three mutations of a seed message. */
export function mutate(seed: Buffer, r: () => number): Buffer {
  let m = seed;
  for (let i = 0, n = 1 + int(r, 3); i < n; i++) m = pick(r, MUTATIONS)(m, r);
  return m;
}
