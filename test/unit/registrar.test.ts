import { strict as assert } from 'node:assert';
import { InMemoryRegistrations, Registrar, type RegisterRequest } from '../../src/app/registrar';
import type { StoredRegistration } from '../../src/ports/store';

class FakeClock {
  private t = 1_700_000_000_000;
  now() {
    return this.t;
  }
  advance(ms: number) {
    this.t += ms;
  }
}

/** The in-memory store, counting writes (what a refresh costs). */
class CountingRegistrations extends InMemoryRegistrations {
  saves = 0;
  override async saveRegistration(r: StoredRegistration, now: number): Promise<void> {
    this.saves++;
    return super.saveRegistration(r, now);
  }
}

describe('registrar', () => {
  const clock = new FakeClock();
  let store: CountingRegistrations;
  const make = () => new Registrar({ store, clock, minExpires: 60, maxExpires: 3600, defaultExpires: 3600 });
  let cseq = 0;
  const req = (o: Partial<RegisterRequest> = {}): RegisterRequest => ({
    username: 'dev1',
    contact: { uri: 'sip:dev1@10.0.0.5:5060', expires: undefined },
    expiresHeader: '300',
    callId: 'c1',
    cseq: ++cseq,
    source: { transport: 'udp', address: '203.0.113.7', port: 40000 },
    userAgent: 'Yealink SIP-T46G',
    path: [],
    ...o,
  });
  beforeEach(() => {
    store = new CountingRegistrations();
  });

  it('binds with the Expires header, the contact parameter winning, clamped to the maximum', async () => {
    const r = make();
    assert.deepEqual(await r.register(req()), { kind: 'ok', binding: await r.lookup('dev1'), expiresSec: 300, changed: true });
    assert.equal((await r.lookup('dev1'))?.expiresAt, clock.now() + 300_000);
    assert.equal((await r.lookup('dev1'))?.source.address, '203.0.113.7');
    const res = await r.register(req({ contact: { uri: 'sip:dev1@10.0.0.5:5060', expires: '7200' } }));
    assert.equal(res.kind === 'ok' && res.expiresSec, 3600);
  });

  it('answers 423 below the minimum, removes on 0 and on Contact: *, and rejects out-of-order CSeq', async () => {
    const r = make();
    assert.deepEqual(await r.register(req({ expiresHeader: '30' })), { kind: 'too-brief', minExpires: 60 });
    await r.register(req());
    assert.equal((await r.register(req({ cseq: 1 }))).kind, 'out-of-order');
    assert.deepEqual(await r.register(req({ expiresHeader: '0' })), { kind: 'ok', binding: undefined, expiresSec: 0, changed: true });
    assert.equal(await r.lookup('dev1'), undefined);
    await r.register(req());
    assert.equal((await r.register(req({ contact: '*', expiresHeader: '60' }))).kind, 'bad');
    await r.register(req({ contact: '*', expiresHeader: '0' }));
    assert.equal(await r.lookup('dev1'), undefined);
    assert.equal((await r.register(req({ expiresHeader: 'soon' }))).kind, 'bad');
  });

  it('says whether the binding changed: new, moved or removed yes; a refresh, even with a new Call-ID, no', async () => {
    const r = make();
    const changed = async (o: Partial<RegisterRequest>) => {
      const res = await r.register(req(o));
      assert.equal(res.kind, 'ok');
      return res.kind === 'ok' && res.changed;
    };
    assert.equal(await changed({}), true, 'first binding');
    assert.equal(await changed({}), false, 'plain refresh');
    assert.equal(await changed({ callId: 'c2', userAgent: 'other' }), false, 'a new Call-ID to the same place');
    assert.equal(await changed({ source: { transport: 'udp', address: '203.0.113.8', port: 40000 } }), true, 'moved source');
    assert.equal(await changed({ path: ['sip:10.0.0.1;lr'] }), true, 'now through a proxy');
    assert.equal(await changed({ contact: undefined }), false, 'a query');
    assert.equal(await changed({ expiresHeader: '0' }), true, 'removed');
    assert.equal(await changed({ expiresHeader: '0' }), false, 'removing nothing');
  });

  it('lets a binding expire lazily by the clock', async () => {
    const r = make();
    await r.register(req({ expiresHeader: '60' }));
    clock.advance(59_999);
    assert.ok(await r.lookup('dev1'));
    clock.advance(1);
    assert.equal(await r.lookup('dev1'), undefined);
  });

  it('a binding made through one node is seen, refreshed and removed through another (one store)', async () => {
    const nodeA = make();
    const nodeB = make();
    await nodeA.register(req({ path: ['sip:10.0.0.1;lr'] }));
    assert.deepEqual((await nodeB.lookup('dev1'))?.path, ['sip:10.0.0.1;lr']);
    assert.equal((await nodeB.register(req({ cseq: cseq - 1 }))).kind, 'out-of-order', 'CSeq order holds across nodes');
    await nodeB.register(req({ expiresHeader: '0' }));
    assert.equal(await nodeA.lookup('dev1'), undefined);
  });

  it('a refresh that changes only the expiry is written once less than half the interval is left', async () => {
    const r = make();
    await r.register(req({ expiresHeader: '300' }));
    assert.equal(store.saves, 1);
    for (let i = 0; i < 5; i++) {
      clock.advance(20_000); // 100 s in: 200 s of 300 left, more than half
      const res = await r.register(req({ expiresHeader: '300' }));
      assert.equal(res.kind === 'ok' && res.expiresSec, 300, 'the phone is told the full interval');
    }
    assert.equal(store.saves, 1, 'plain refreshes with more than half left: no write');
    clock.advance(50_001); // 150.001 s in: less than half left
    await r.register(req({ expiresHeader: '300' }));
    assert.equal(store.saves, 2);
    assert.equal((await r.lookup('dev1'))?.expiresAt, clock.now() + 300_000);
  });

  it('writes at once when the contact, source or Path changes', async () => {
    const r = make();
    await r.register(req());
    await r.register(req({ contact: { uri: 'sip:dev1@10.0.0.6:5060', expires: undefined } }));
    await r.register(
      req({ contact: { uri: 'sip:dev1@10.0.0.6:5060', expires: undefined }, source: { transport: 'udp', address: '203.0.113.7', port: 40001 } }),
    );
    await r.register(
      req({
        contact: { uri: 'sip:dev1@10.0.0.6:5060', expires: undefined },
        source: { transport: 'udp', address: '203.0.113.7', port: 40001 },
        path: ['sip:lb.example.net;lr'],
      }),
    );
    assert.equal(store.saves, 4);
    assert.deepEqual((await r.lookup('dev1'))?.path, ['sip:lb.example.net;lr']);
  });
});
