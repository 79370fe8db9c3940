import { strict as assert } from 'node:assert';
import { Registrar, type RegisterRequest } from '../../src/app/registrar';

class FakeClock {
  private t = 1_700_000_000_000;
  now() { return this.t; }
  advance(ms: number) { this.t += ms; }
}

describe('registrar', () => {
  const clock = new FakeClock();
  const make = () => new Registrar({ clock, minExpires: 60, maxExpires: 3600, defaultExpires: 3600 });
  let cseq = 0;
  const req = (o: Partial<RegisterRequest> = {}): RegisterRequest => ({
    username: 'dev1', contact: { uri: 'sip:dev1@10.0.0.5:5060', expires: undefined }, expiresHeader: '300', callId: 'c1', cseq: ++cseq,
    source: { transport: 'udp', address: '203.0.113.7', port: 40000 }, userAgent: 'Yealink SIP-T46G', ...o,
  });

  it('binds with the Expires header, the contact parameter winning, clamped to the maximum', () => {
    const r = make();
    assert.deepEqual(r.register(req()), { kind: 'ok', binding: r.lookup('dev1'), expiresSec: 300 });
    assert.equal(r.lookup('dev1')?.expiresAt, clock.now() + 300_000);
    assert.equal(r.lookup('dev1')?.source.address, '203.0.113.7');
    const res = r.register(req({ contact: { uri: 'sip:dev1@10.0.0.5:5060', expires: '7200' } }));
    assert.equal(res.kind === 'ok' && res.expiresSec, 3600);
  });

  it('answers 423 below the minimum, removes on 0 and on Contact: *, and rejects out-of-order CSeq', () => {
    const r = make();
    assert.deepEqual(r.register(req({ expiresHeader: '30' })), { kind: 'too-brief', minExpires: 60 });
    r.register(req());
    assert.equal(r.register(req({ cseq: 1 })).kind, 'out-of-order');
    assert.deepEqual(r.register(req({ expiresHeader: '0' })), { kind: 'ok', binding: undefined, expiresSec: 0 });
    assert.equal(r.lookup('dev1'), undefined);
    r.register(req());
    assert.equal(r.register(req({ contact: '*', expiresHeader: '60' })).kind, 'bad');
    r.register(req({ contact: '*', expiresHeader: '0' }));
    assert.equal(r.lookup('dev1'), undefined);
    assert.equal(r.register(req({ expiresHeader: 'soon' })).kind, 'bad');
  });

  it('lets a binding expire lazily by the clock', () => {
    const r = make();
    r.register(req({ expiresHeader: '60' }));
    clock.advance(59_999);
    assert.ok(r.lookup('dev1'));
    clock.advance(1);
    assert.equal(r.lookup('dev1'), undefined);
  });
});
