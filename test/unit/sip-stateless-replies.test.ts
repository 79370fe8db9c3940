import assert from 'node:assert/strict';
import type { SipEndpointAddress } from '../../src/ports/signalling';
import { parseMessage } from '../../src/sip/embedded/message/parse';
import { makeResponse } from '../../src/sip/embedded/sip-lib';
import type { LibConnection, SipMessage, SipRequest } from '../../src/sip/embedded/sip-lib';
import { StatelessReplies } from '../../src/sip/embedded/stateless-replies';

/** The kept REGISTER answers (src/sip/embedded/stateless-replies.ts): matching, bounds, expiry. */
describe('stateless REGISTER answers', () => {
  const phone: SipEndpointAddress = { transport: 'udp', address: '192.0.2.10', port: 5060 };
  let now = 0;
  let sent: string[] = [];
  const replies = (maxEntries = 10) =>
    new StatelessReplies({ keepMs: 32_000, maxEntries, now: () => now, sendBytes: (_peer, bytes) => sent.push(bytes.toString('latin1')) });
  const noConnection: LibConnection = { protocol: 'UDP', send: () => assert.fail('UDP answers go through sendBytes'), release() {} };
  beforeEach(() => {
    now = 0;
    sent = [];
  });

  const register = (branch: string, cseq = 1, callId = 'c1'): SipRequest => {
    const text = [
      'REGISTER sip:papgate.test SIP/2.0',
      `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${branch}`,
      'From: <sip:dev1@papgate.test>;tag=1',
      'To: <sip:dev1@papgate.test>',
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const r = parseMessage(text);
    assert.ok(r.ok);
    return r.message as SipRequest;
  };
  const answer = (rq: SipMessage, status: number) => makeResponse(rq, status, 'X');

  it('answers a retransmission with the kept text; one still being handled is dropped', () => {
    const r = replies();
    const rq = register('z9hG4bKa');
    const st = r.open(rq, phone, noConnection)!;
    assert.equal(r.open(rq, phone, noConnection), undefined, 'in progress: dropped');
    assert.deepEqual(sent, []);
    st.send(answer(rq, 100)); // provisional: sent, not kept
    st.send(answer(rq, 200));
    st.send(answer(rq, 500)); // a second final answer is not sent
    assert.equal(sent.length, 2);
    assert.equal(r.open(rq, phone, noConnection), undefined);
    assert.equal(sent.length, 3);
    assert.equal(sent[2], sent[1]);
  });

  it('matches on branch, Call-ID, CSeq and source: anything else is a new request', () => {
    const r = replies();
    r.open(register('z9hG4bKa'), phone, noConnection)!.send(answer(register('z9hG4bKa'), 401));
    assert.ok(r.open(register('z9hG4bKb'), phone, noConnection));
    assert.ok(r.open(register('z9hG4bKa', 2), phone, noConnection));
    assert.ok(r.open(register('z9hG4bKa', 1, 'c2'), phone, noConnection));
    assert.ok(r.open(register('z9hG4bKa'), { ...phone, port: 5062 }, noConnection));
    assert.equal(sent.length, 1);
  });

  it('forgets answers after keepMs and keeps at most maxEntries', () => {
    const r = replies(2);
    for (const b of ['z9hG4bK1', 'z9hG4bK2', 'z9hG4bK3']) r.open(register(b), phone, noConnection)!.send(answer(register(b), 200));
    assert.equal(r.size, 2);
    assert.ok(r.open(register('z9hG4bK1'), phone, noConnection), 'the oldest went first');
    now = 40_000; // kept at least keepMs: generations turn over lazily, on the next request
    assert.equal(r.open(register('z9hG4bK1'), phone, noConnection), undefined, 'still in progress');
    now = 110_000;
    assert.ok(r.open(register('z9hG4bK1'), phone, noConnection), 'expired');
    assert.equal(r.size, 1);
  });

  it('a request shut down without an answer (far over its rate) is handled anew when it comes again', () => {
    const r = replies();
    r.open(register('z9hG4bKa'), phone, noConnection)!.shutdown();
    assert.ok(r.open(register('z9hG4bKa'), phone, noConnection));
  });

  it('over TCP the answer goes out on the connection once, and nothing is kept', () => {
    const r = replies();
    const out: SipMessage[] = [];
    let released = 0;
    const cn: LibConnection = { protocol: 'TCP', send: (m) => out.push(m), release: () => void released++ };
    const tcp: SipEndpointAddress = { ...phone, transport: 'tcp' };
    const st = r.open(register('z9hG4bKa'), tcp, cn)!;
    st.send(answer(register('z9hG4bKa'), 200));
    st.send(answer(register('z9hG4bKa'), 200));
    assert.equal(out.length, 1);
    assert.equal(released, 1);
    assert.equal(r.size, 0);
    assert.ok(r.open(register('z9hG4bKa'), tcp, cn));
  });

  it('takes only RFC 3261 branches', () => {
    assert.equal(StatelessReplies.handles(register('z9hG4bKa')), true);
    assert.equal(StatelessReplies.handles(register('z9hG4bK')), false);
    assert.equal(StatelessReplies.handles(register('1234')), false);
  });
});
