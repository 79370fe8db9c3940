import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseUri, stringifyUri, userOfUri } from '../../src/domain/sip-uri';
import { userOfUri as drachtioUserOfUri } from '../../src/sip/drachtio/sip-text';
import { badRequestFor } from '../../src/sip/embedded/malformed';
import { SipStreamFramer } from '../../src/sip/embedded/message/framer';
import { parseMessage } from '../../src/sip/embedded/message/parse';
import { stringify } from '../../src/sip/embedded/message/serialize';
import type { Refusal, SipMessage } from '../../src/sip/embedded/message/types';

const msg = (lines: string[], body = '') => [...lines, '', body].join('\r\n');
const BASE = [
  'OPTIONS sip:papgate@example.com SIP/2.0',
  'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc;rport',
  'From: "Alice" <sip:alice@example.com>;tag=1',
  'To: <sip:papgate@example.com>',
  'Call-ID: c1@10.0.0.1',
  'CSeq: 1 OPTIONS',
  'Max-Forwards: 70',
];
const ok = (text: string | Buffer): SipMessage => {
  const r = parseMessage(text);
  if (!r.ok) assert.fail(`refused: ${r.problem}`);
  return r.message;
};
const refused = (text: string | Buffer): Refusal => {
  const r = parseMessage(text);
  if (r.ok) assert.fail('parsed a message that should be refused');
  return { status: r.status, problem: r.problem };
};

describe('SIP and tel URIs', () => {
  it('reads users of IPv6, escaped, tel and name-addr forms, the same for both stacks', () => {
    for (const [uri, user] of [
      ['sip:112@[::1]', '112'],
      ['sip:112@[2001:db8::1]:5062;transport=tcp', '112'],
      ['tel:112', '112'],
      ['tel:+49-30-112;phone-context=example.com', '+4930112'],
      ['sips:%2A89@example.com', '*89'],
      ['"Bob" <sip:911@[::1]>;tag=x', '911'],
      ['sip:112#@10.0.0.1', '112#'],
      ['sip:112@pbx_site-1.local', '112'],
      ['sip:user;par=u%40example.net@example.com', 'user;par=u@example.net'],
    ] as const) {
      assert.equal(userOfUri(uri), user, uri);
      assert.equal(drachtioUserOfUri(uri), user, `drachtio: ${uri}`);
    }
    assert.equal(userOfUri('sip:example.com'), undefined);
    assert.equal(userOfUri('mailto:a@b'), undefined);
  });
  it('parses hosts, ports, parameters and headers, and writes them back', () => {
    const u = parseUri('sip:alice:pw@[::1]:5070;transport=TCP;lr?subject=hi')!;
    assert.deepEqual(
      { ...u },
      { schema: 'sip', user: 'alice', password: 'pw', host: '::1', port: 5070, params: { transport: 'TCP', lr: null }, headers: { subject: 'hi' } },
    );
    assert.equal(stringifyUri(u), 'sip:alice:pw@[::1]:5070;transport=TCP;lr?subject=hi');
    const odd = parseUri("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com")!;
    assert.equal(odd.host, 'example.com');
    assert.equal(odd.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  });
  it('refuses malformed URIs without throwing', () => {
    for (const bad of ['sip:', 'sip:user@', 'sip:a@[::1', 'sip:a@host:99999', 'sip:a b@host', '<sip:a@b>', 'sip:a@ho st', 'http://x', 'tel:', 'tel:abc%', '']) {
      assert.equal(parseUri(bad), undefined, bad);
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        parseUri(`sip:${s}`);
        userOfUri(s);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('SIP message parser', () => {
  it('takes method tokens literally: RE%47IST%45R is not REGISTER', () => {
    const m = ok(msg(['RE%47IST%45R sip:registrar.example.com SIP/2.0', ...BASE.slice(1).map((l) => l.replace('1 OPTIONS', '1 RE%47IST%45R')), 'l: 0']));
    assert.equal(m.method, 'RE%47IST%45R');
  });
  it('refuses repeated single-value headers, two Content-Lengths and a non-numeric one', () => {
    for (const extra of [
      ['Call-ID: other'],
      ['CSeq: 2 OPTIONS'],
      ['To: <sip:x@y>'],
      ['f: <sip:x@y>;tag=2'],
      ['Max-Forwards: 1'],
      ['Content-Type: text/plain', 'c: text/plain'],
    ]) {
      assert.equal(refused(msg([...BASE, ...extra, 'Content-Length: 0'])).status, 400, extra.join());
    }
    assert.match(refused(msg([...BASE, 'Content-Length: 0', 'l: 0'])).problem, /content-length/);
    assert.match(refused(msg([...BASE, 'Content-Length: abc'])).problem, /Content-Length/);
    assert.match(refused(msg([...BASE, 'Content-Length: -1'])).problem, /Content-Length/);
  });
  it('answers SIP/7.0 with 505 and anything over 64 KiB with 513', () => {
    assert.equal(refused(msg([BASE[0]!.replace('2.0', '7.0'), ...BASE.slice(1)])).status, 505);
    assert.equal(refused(msg([...BASE, `X-Big: ${'a'.repeat(70_000)}`])).status, 513);
  });
  it('reads folding, compact forms, any case, lists on one line and IPv6 Vias', () => {
    const m = ok(
      msg(
        [
          BASE[0]!,
          'v: SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bK1 , SIP / 2.0 / UDP host.example.com;received=[2001:db8::10]',
          'f: Alice <sip:alice@example.com>\r\n ;tag=1',
          'TO: sip:papgate@example.com ; tag = 9',
          'i: c1',
          'CSEQ:\r\n 0009\r\n\tOPTIONS',
          'm: <sip:a@[::1]>;q=0.5, "B, C" <sip:b@h>',
          'Subject:',
          'l: 4',
        ],
        'abcd',
      ),
    );
    assert.equal(m.headers.via!.length, 2);
    assert.deepEqual(m.headers.via![0], { version: '2.0', protocol: 'TCP', host: '2001:db8::9', port: 5061, params: { branch: 'z9hG4bK1' } });
    assert.equal(m.headers.via![1]!.params.received, '[2001:db8::10]');
    assert.deepEqual(m.headers.from, { name: 'Alice', uri: 'sip:alice@example.com', params: { tag: '1' } });
    assert.deepEqual(m.headers.to, { uri: 'sip:papgate@example.com', params: { tag: '9' } });
    assert.deepEqual(m.headers.cseq, { seq: 9, method: 'OPTIONS' });
    assert.deepEqual(
      (m.headers.contact as Array<{ uri: string }>).map((c) => c.uri),
      ['sip:a@[::1]', 'sip:b@h'],
    );
    assert.equal(m.headers.subject, '');
    assert.equal(m.content, 'abcd');
  });
  it('refuses broken start lines, names, quotes and addresses', () => {
    for (const [what, lines] of [
      ['<> around the URI', ['INVITE <sip:a@b> SIP/2.0', ...BASE.slice(1)]],
      ['two spaces', ['OPTIONS  sip:a@b SIP/2.0', ...BASE.slice(1)]],
      ['trailing space', ['OPTIONS sip:a@b SIP/2.0 ', ...BASE.slice(1)]],
      ['unterminated quote', [...BASE.slice(0, 3), 'To: "Mr. J. User <sip:j.user@example.com>', ...BASE.slice(4)]],
      ['comma in a display name', [BASE[0]!, BASE[1]!, 'From: Bell, Alexander <sip:a.g.bell@example.com>;tag=43', ...BASE.slice(3)]],
      ['spaces in <>', [...BASE.slice(0, 3), 'To: "Watson, Thomas" < sip:t.watson@example.org >', ...BASE.slice(4)]],
      ['empty Via params', [BASE[0]!, 'Via: SIP/2.0/UDP 10.0.0.1;;,;', ...BASE.slice(2)]],
      ['huge CSeq', [...BASE.slice(0, 5), 'CSeq: 36893488147419103232 OPTIONS', BASE[6]!]],
      ['a line without colon', [...BASE, 'no colon here']],
      ['addr-spec with ?', [...BASE, 'Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E']],
    ] as const) {
      assert.equal(refused(msg([...lines])).status, 400, what);
    }
  });
  it('keeps the body to Content-Length in a datagram and refuses a truncated one', () => {
    assert.equal(ok(msg([...BASE, 'Content-Length: 2'], 'abcdef')).content, 'ab');
    assert.match(refused(msg([...BASE, 'Content-Length: 9999'], 'abc')).problem, /truncated/);
  });
  it('stays linear on long runs of spaces, digits and separators (no regex backtracking)', () => {
    // each of these hung the process before: found by the fuzzer
    assert.equal(badRequestFor(`\r\nX${' '.repeat(60_000)}`, 'x'), undefined);
    assert.equal(parseUri(`tel:+${'1'.repeat(60_000)}x`), undefined);
    assert.equal(parseUri(`tel:${'1-'.repeat(30_000)}x`), undefined);
    assert.equal(refused(`OPTIONS ${' '.repeat(60_000)}`).status, 400);
  });
  it('builds a 400 even when Route and Record-Route do not parse', () => {
    const raw = msg([...BASE, 'Route: <<<garbage', 'Record-Route: sip:;;;', 'Content-Length: x']);
    assert.equal(refused(raw).status, 400);
    assert.match(badRequestFor(raw, 'x')!, /^SIP\/2\.0 400 Bad Request\r\n/);
    assert.match(badRequestFor(msg([BASE[0]!.replace('2.0', '7.0'), ...BASE.slice(1)]), 'v', 505)!, /^SIP\/2\.0 505 Version Not Supported\r\n/);
  });
});

describe('SIP serializer', () => {
  it('writes what it parsed, with no way to inject a header', () => {
    const m = ok(msg([...BASE, 'Content-Length: 0']));
    m.headers['x-evil'] = 'a\r\nVia: injected';
    m.headers.from!.params.tag = 'x\r\nInjected: 1';
    const text = stringify(m);
    assert.doesNotMatch(text, /\r\n(Via: injected|Injected)/);
    assert.match(text, /\r\nX-Evil: a Via: injected\r\n/);
  });
  it('parse(serialize(parse(x))) equals parse(x) for valid messages (property)', () => {
    fc.assert(
      fc.property(validMessage(), (text) => {
        const first = ok(text);
        assert.deepStrictEqual(ok(stringify(first)), first);
      }),
      { numRuns: 1500, seed: 4475 },
    );
  });
  it('never throws, whatever the bytes (property)', () => {
    // parseMessage turns an internal exception into a refusal: such a refusal is the failure looked for
    const noInternalError = (r: ReturnType<typeof parseMessage>) => assert.ok(r.ok || !r.problem.startsWith('parser error'), r.ok ? '' : r.problem);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => noInternalError(parseMessage(Buffer.from(bytes)))),
      { numRuns: 3000, seed: 3261 },
    );
    fc.assert(
      fc.property(validMessage(), fc.nat(), fc.string({ maxLength: 20 }), (text, at, junk) => {
        const i = at % (text.length + 1);
        const r = parseMessage(text.slice(0, i) + junk + text.slice(i));
        noInternalError(r);
        if (r.ok) stringify(r.message);
      }),
      { numRuns: 3000, seed: 17 },
    );
  });
});

describe('SIP TCP framer', () => {
  const frame = (chunks: Buffer[]) => {
    const messages: string[] = [];
    const errors: Refusal[] = [];
    let maxBuffered = 0;
    const f = new SipStreamFramer(
      (m) => messages.push(m.toString('latin1')),
      (r) => errors.push(r),
    );
    for (const c of chunks) {
      f.push(c);
      maxBuffered = Math.max(maxBuffered, f.buffered);
    }
    return { messages, errors, maxBuffered };
  };
  const one = msg([...BASE, 'Content-Length: 5'], 'hello');
  it('frames the same messages whatever the read boundaries, skipping keep-alive CRLFs', () => {
    const stream = Buffer.from(`\r\n\r\n${one}${one}\r\n${one}`, 'latin1');
    const whole = frame([stream]);
    assert.deepEqual(whole.messages, [one, one, one]);
    assert.deepEqual(frame([...stream].map((b) => Buffer.from([b]))).messages, whole.messages);
    const cut = one.indexOf('\r\n\r\n') + 4;
    assert.deepEqual(frame([stream.subarray(0, 4 + cut), stream.subarray(4 + cut)]).messages, whole.messages);
  });
  it('stops at a header block that never ends, holding at most 64 KiB', () => {
    const r = frame(Array.from({ length: 200 }, () => Buffer.from(`X-Junk: ${'z'.repeat(1000)}\r\n`)));
    assert.deepEqual(
      r.errors.map((e) => e.status),
      [513],
    );
    assert.ok(r.maxBuffered <= 64 * 1024);
  });
  it('refuses a non-numeric, repeated, missing or too large Content-Length once', () => {
    const head = (cl: string[]) => Buffer.from(msg([...BASE, ...cl]), 'latin1');
    assert.deepEqual(
      frame([head(['Content-Length: abc']).subarray(0, 50), head(['Content-Length: abc']).subarray(50), Buffer.alloc(100_000, 1)]).errors.map((e) => e.status),
      [400],
    );
    assert.deepEqual(
      frame([head(['Content-Length: 0', 'l: 0'])]).errors.map((e) => e.status),
      [400],
    );
    assert.deepEqual(
      frame([head([])]).errors.map((e) => e.status),
      [400],
    );
    assert.deepEqual(
      frame([head(['Content-Length: 1000000'])]).errors.map((e) => e.status),
      [513],
    );
  });
});

/** Well-formed SIP requests built from parts (what the round-trip property runs over). */
function validMessage(): fc.Arbitrary<string> {
  const tok = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,11}$/);
  const host = fc.oneof(
    fc.constantFrom('example.com', 'a.b.example.net', '192.0.2.7', '[::1]', '[2001:db8::5]'),
    fc.stringMatching(/^[a-z][a-z0-9]{0,8}\.test$/),
  );
  const user = fc.stringMatching(/^[A-Za-z0-9*#+][A-Za-z0-9._~*-]{0,10}$/);
  const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
  const uri = fc.tuple(fc.constantFrom('sip', 'sips'), user, host, port).map(([s, u, h, p]) => `${s}:${u}@${h}${p ? `:${p}` : ''}`);
  const display = fc.option(fc.oneof(tok, fc.stringMatching(/^"[A-Za-z0-9 ,<>;:@]{0,12}"$/)), { nil: undefined });
  const nameAddr = fc.tuple(display, uri, fc.option(tok, { nil: undefined })).map(([d, u, tag]) => `${d ? `${d} ` : ''}<${u}>${tag ? `;tag=${tag}` : ''}`);
  const extras = fc.array(
    fc.tuple(
      fc.stringMatching(/^X-[A-Za-z0-9-]{1,10}$/),
      fc.stringMatching(/^[ -~]{0,30}$/).map((s) => s.trim()),
    ),
    { maxLength: 4 },
  );
  return fc
    .record({
      method: fc.oneof(fc.constantFrom('INVITE', 'OPTIONS', 'REGISTER', 'BYE'), tok),
      ruri: uri,
      via: fc.array(fc.tuple(fc.constantFrom('UDP', 'TCP', 'TLS'), host, port, tok), { minLength: 1, maxLength: 3 }),
      from: nameAddr,
      to: nameAddr,
      callId: tok,
      seq: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      contacts: fc.array(nameAddr, { maxLength: 3 }),
      extras,
      body: fc.stringMatching(/^[\x00-\xff]{0,40}$/),
    })
    .map((r) =>
      msg(
        [
          `${r.method} ${r.ruri} SIP/2.0`,
          ...r.via.map(([t, h, p, b]) => `Via: SIP/2.0/${t} ${h}${p ? `:${p}` : ''};branch=z9hG4bK${b}`),
          `From: ${r.from}`,
          `To: ${r.to}`,
          `Call-ID: ${r.callId}`,
          `CSeq: ${r.seq} ${r.method}`,
          ...(r.contacts.length ? [`Contact: ${r.contacts.join(', ')}`] : []),
          ...r.extras.map(([n, v]) => `${n}: ${v}`),
          `Content-Length: ${r.body.length}`,
        ],
        r.body,
      ),
    );
}
