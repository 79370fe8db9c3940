import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { get, rawExchange, startProvisioningTarget, type ProvisioningTarget, type RawOutcome } from '../helpers/provisioning-attack';

/**
 * A seeded fuzzer of the provisioning HTTP surface: methods, request
 * targets, versions, headers and bodies, written as raw bytes from several
 * loopback sources. No answer may be a 5xx, none may hang, and afterwards
 * the same process still serves a real device its configuration.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20260806);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2400);
const PARALLEL = 8;
const KNOWN = '001565aa0002';
const PROXY = '127.0.0.9';

const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
const anyText = (max: number) => fc.string({ unit: 'binary', maxLength: max });
const hex12 = fc.stringMatching(/^[0-9a-fA-F]{12}$/);

/** Mostly the usual thing, sometimes something else: most requests get past the parser to the routes and the limiter. */
const usually = <T>(common: fc.Arbitrary<T>, weight: number, ...others: fc.Arbitrary<T>[]) =>
  fc.oneof({ arbitrary: common, weight }, ...others.map((arbitrary) => ({ arbitrary, weight: 1 })));

const method = usually(
  fc.constantFrom('GET', 'HEAD'),
  12,
  fc.constantFrom('POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'PROPFIND', 'get'),
  token,
  anyText(8),
);

const fileName = fc.oneof(
  fc.constant(`${KNOWN}.cfg`),
  hex12.map((m) => `${m}.cfg`),
  hex12.map((m) => `${m}-phone.cfg`),
  hex12.map((m) => `${m}.xml`),
  hex12.map((m) => `snom760-${m}.htm`),
  hex12.map((m) => `config${m}.cfg`),
  fc.constantFrom('y000000000028.cfg', '000000000000.cfg', 'spa504g.cfg', 'ffffffffffff.cfg', '010000000000.cfg'),
  anyText(30),
);

const segment = fc.oneof(fc.constantFrom('p', '..', '.', '', '%2e%2e', '%00', '%', '~', 'p/', '\\'), fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/), anyText(12));

const target = usually(
  fileName.map((f) => `/${f}`),
  20,
  fc.tuple(fc.stringMatching(/^[A-Za-z0-9_-]{1,43}$/), fileName).map(([s, f]) => `/p/${s}/${f}`),
  fc.tuple(fc.array(segment, { maxLength: 6 }), fileName).map(([s, f]) => `/${s.join('/')}/${f}`),
  fc.tuple(fileName, anyText(40)).map(([f, q]) => `/${f}?${q}`),
  fc.constantFrom('*', '', '/', 'http://127.0.0.1/001565aa0002.cfg', '//001565aa0002.cfg', '/001565aa0002.cfg#x'),
  fc.integer({ min: 500, max: 9000 }).map((n) => `/${'a'.repeat(n)}.cfg`),
  anyText(60),
);

const version = usually(fc.constantFrom('HTTP/1.1', 'HTTP/1.0'), 20, fc.constantFrom('HTTP/2.0', 'HTTP/0.9', 'http/1.1', 'HTTP/1.1 extra', ''), anyText(10));

const header = usually(
  fc.constantFrom('User-Agent: Yealink SIP-T46S 66.86.0.15', 'Accept: */*', 'Connection: close'),
  40,
  fc.constantFrom(
    'Connection: keep-alive',
    'Transfer-Encoding: chunked',
    'Expect: 100-continue',
    'Content-Length: abc',
    'Content-Length: -1',
    'Content-Length: 99999999999999999999',
    'Content-Length: 5',
    'Content-Length: 0',
    'Upgrade: websocket',
    'Accept-Encoding: gzip, br',
    'Range: bytes=0-1',
  ),
  fc
    .oneof(
      fc.ipV4(),
      fc.ipV6(),
      anyText(20),
      fc.array(fc.ipV4(), { maxLength: 40 }).map((a) => a.join(', ')),
    )
    .map((v) => `X-Forwarded-For: ${v}`),
  fc.tuple(token, anyText(40)).map(([n, v]) => `${n}: ${v}`),
  fc.integer({ min: 1, max: 12_000 }).map((n) => `X-Big: ${'b'.repeat(n)}`),
  anyText(40),
);

// HTTP/1.1 needs exactly one Host: usually there, sometimes missing, doubled or odd.
const host = usually<string[]>(
  fc.constant(['Host: 127.0.0.1']),
  15,
  fc.constant([]),
  fc.constant(['Host: a', 'Host: b']),
  anyText(30).map((h) => [`Host: ${h}`]),
);

const request = fc.record({
  method,
  target,
  version,
  host,
  headers: fc.array(header, { maxLength: 8 }),
  body: usually(fc.constant(''), 8, anyText(200)),
  crlf: usually(fc.constant('\r\n'), 20, fc.constantFrom('\n', '\r')),
  source: fc.integer({ min: 10, max: 19 }).map((n) => `127.0.0.${n}`),
  viaProxy: fc.boolean(),
});
type FuzzRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

function bytesOf(r: FuzzRequest): Buffer {
  const head = [`${r.method} ${r.target} ${r.version}`, ...r.host, ...r.headers].join(r.crlf);
  return Buffer.from(`${head}${r.crlf}${r.crlf}${r.body}`, 'latin1');
}

describe('attack: seeded fuzzer of provisioning HTTP', function () {
  this.timeout(600_000);
  let t: ProvisioningTarget;

  before(async () => {
    // A small 404 budget, so the fuzz runs through the 429 path as well as the routes.
    t = await startProvisioningTarget({
      PAPGATE_LIMIT_PROVISIONING_404_PER_MINUTE: '60',
      PAPGATE_LIMIT_PROVISIONING_404_BURST: '20',
      PAPGATE_TRUSTED_PROXIES: PROXY,
    });
    await t.addDevice(KNOWN);
  });
  after(async () => t?.stop());

  it(`answers ${RUNS} hostile requests (seed ${SEED}) without a 5xx or a hang, then still serves a real device`, async () => {
    const requests = fc.sample(request, { seed: SEED, numRuns: RUNS });
    const tally = new Map<string, number>();
    const bad: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const r = requests[next++]!;
        const from = r.viaProxy ? PROXY : r.source;
        const o: RawOutcome = await rawExchange(t.port, from, bytesOf(r));
        const key = o.kind === 'status' ? String(o.status) : o.kind;
        tally.set(key, (tally.get(key) ?? 0) + 1);
        if ((o.kind === 'status' && o.status >= 500) || o.kind === 'hung') {
          bad.push(`${key} for ${JSON.stringify(bytesOf(r).toString('latin1').slice(0, 300))}`);
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const summary = [...tally]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
    console.log(`      ${RUNS} requests, seed ${SEED}: ${summary}`);
    assert.deepEqual(bad.slice(0, 10), [], `${bad.length} requests got a 5xx or no answer in time`);
    assert.ok((tally.get('200') ?? 0) > 0 && (tally.get('404') ?? 0) > 0 && (tally.get('429') ?? 0) > 0, 'the fuzz reached the routes and the limiter');

    const after = await get(t.port, `/${KNOWN}.cfg`, '127.0.0.2');
    assert.equal(after.status, 200);
    assert.match(after.body, /Authentication needed/);
  });
});
