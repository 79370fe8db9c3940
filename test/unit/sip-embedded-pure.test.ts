import assert from 'node:assert/strict';
import { infoDtmf as dtmfFromInfo } from '../../src/domain/dtmf-info';
import { badRequestFor, problemWith } from '../../src/sip/embedded/malformed';
import { authorizationText, checkExtraHeader } from '../../src/sip/embedded/messages';
import { parseMessage } from '../../src/sip/embedded/message/parse';
import { parseDatagram } from '../../src/sip/embedded/sip-lib';

describe('SIP INFO DTMF bodies', () => {
  const relay = (body: string) => dtmfFromInfo('application/dtmf-relay', body);
  it('reads digits, *, #, A-D and RFC 4733 event numbers from application/dtmf-relay', () => {
    assert.deepEqual(relay('Signal=5\r\nDuration=160\r\n'), { kind: 'digit', digit: '5' });
    assert.deepEqual(relay('Signal= *\r\nDuration=100'), { kind: 'digit', digit: '*' });
    assert.deepEqual(relay('Signal=#'), { kind: 'digit', digit: '#' });
    assert.deepEqual(relay('Duration=160\nSignal=10'), { kind: 'digit', digit: '*' });
    assert.deepEqual(relay('signal=11'), { kind: 'digit', digit: '#' });
    assert.deepEqual(relay('Signal=d'), { kind: 'digit', digit: 'D' });
  });
  it('reads a bare key from application/dtmf', () => {
    assert.deepEqual(dtmfFromInfo('application/dtmf', '7\r\n'), { kind: 'digit', digit: '7' });
    assert.deepEqual(dtmfFromInfo('application/dtmf', '11'), { kind: 'digit', digit: '#' });
  });
  it('calls other bodies unsupported and broken DTMF bodies invalid', () => {
    assert.equal(dtmfFromInfo('text/plain', 'Signal=5').kind, 'unsupported');
    assert.equal(dtmfFromInfo(undefined, 'Signal=5').kind, 'unsupported');
    assert.equal(dtmfFromInfo(undefined, '').kind, 'keep-alive');
    assert.deepEqual(dtmfFromInfo('Application/DTMF-Relay; charset=x', 'Signal=#'), { kind: 'digit', digit: '#' });
    assert.equal(relay('Signal=16').kind, 'invalid');
    assert.equal(relay('Duration=160').kind, 'invalid');
    assert.equal(dtmfFromInfo('application/dtmf', '55').kind, 'invalid');
  });
});

describe('malformed SIP messages', () => {
  const request = (lines: string[], body = '') => Buffer.from([...lines, '', body].join('\r\n'), 'latin1');
  const base = [
    'OPTIONS sip:a@b SIP/2.0',
    'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx',
    'From: <sip:x@y>;tag=1',
    'To: <sip:a@b>',
    'Call-ID: c1',
    'CSeq: 1 OPTIONS',
  ];
  /** What the transport sees: the parser's refusal, else the message's semantic problem. */
  const problem = (data: Buffer) => {
    const r = parseMessage(data);
    return r.ok ? problemWith(r.message) : r.problem;
  };
  it('accepts a complete request and spots what is missing or inconsistent', () => {
    assert.equal(problem(request([...base, 'Content-Length: 0'])), null);
    assert.match(problem(request(base.filter((l) => !l.startsWith('Call-ID'))))!, /Call-ID/);
    assert.match(problem(request(base.map((l) => (l.startsWith('CSeq') ? 'CSeq: 1 INVITE' : l))))!, /CSeq method/);
    assert.match(problem(request(base.filter((l) => !l.startsWith('Via'))))!, /Via/);
    assert.match(problem(request([...base, 'Content-Length: 10'], 'abc'))!, /truncated/);
  });
  it('builds a 400 from the surviving headers, never for ACK or without a Via', () => {
    const reply = badRequestFor([...base, 'Broken header line', '', ''].join('\r\n'), 'bad "header"\r\nX: y')!;
    assert.match(reply, /^SIP\/2\.0 400 Bad Request\r\n/);
    assert.match(reply, /\r\nCall-ID: c1\r\n/);
    assert.match(reply, /\r\nWarning: 399 papgate "bad +header +X: y"\r\n/);
    assert.equal(badRequestFor(['ACK sip:a@b SIP/2.0', ...base.slice(1), '', ''].join('\r\n'), 'x'), undefined);
    assert.equal(badRequestFor(['OPTIONS sip:a@b SIP/2.0', 'Call-ID: c', '', ''].join('\r\n'), 'x'), undefined);
    assert.equal(badRequestFor('\u0000\u0001 garbage', 'x'), undefined);
  });
});

describe('SIP message helpers', () => {
  it('rebuilds the Authorization header for the SipGate, quotes and all', () => {
    const m = parseDatagram(
      Buffer.from(
        [
          'REGISTER sip:b SIP/2.0',
          'Via: SIP/2.0/UDP h;branch=z9hG4bKa',
          'From: <sip:u@b>;tag=1',
          'To: <sip:u@b>',
          'Call-ID: c',
          'CSeq: 1 REGISTER',
          'Authorization: Digest username="u", realm="r", nonce="n,1", uri="sip:b", response="ab", qop=auth, nc=00000001, cnonce="x"',
          '',
          '',
        ].join('\r\n'),
      ),
    )!;
    assert.equal(authorizationText(m), 'Digest username="u", realm="r", nonce="n,1", uri="sip:b", response="ab", qop=auth, nc=00000001, cnonce="x"');
  });
  it('refuses extra header names and values that would break a message', () => {
    assert.doesNotThrow(() => checkExtraHeader('P-Asserted-Identity', '<sip:+4930123@example.com>'));
    assert.throws(() => checkExtraHeader('X-A', 'a\r\nVia: x'), /line breaks/);
    assert.throws(() => checkExtraHeader('Bad Name', 'v'), /header name/);
    assert.throws(() => checkExtraHeader('Call-ID', 'v'), /set by the stack/);
  });
});
