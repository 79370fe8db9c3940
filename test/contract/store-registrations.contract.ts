import assert from 'node:assert/strict';
import type { Store, StoredRegistration } from '../../src/ports/store';
import { makeRegistration } from '../helpers/store-fixtures';

/** Registrations and the write probe, for every Store adapter. */
export function registrationsContract(get: () => Store): void {
  const reg = (over: Partial<StoredRegistration> = {}) => makeRegistration('pg001122334455', over);

  describe('registrations', () => {
    it('saves a binding and reads it back until it lapses', async () => {
      const store = get();
      const r = reg({ path: ['sip:lb.example.net;lr'], userAgent: 'Yealink SIP-T46U' });
      await store.saveRegistration(r, 1_000);
      assert.deepEqual(await store.getRegistration(r.username, 9_999), r);
      assert.equal(await store.getRegistration(r.username, 10_000), null);
      assert.equal(await store.getRegistration('nobody', 1_000), null);
    });

    it('replaces the binding of the same account, one per account', async () => {
      const store = get();
      await store.saveRegistration(reg(), 1_000);
      const moved = reg({ contact: 'sip:x@203.0.113.9', sourceAddress: '203.0.113.9', sourcePort: 5060, sourceTransport: 'tcp', cseq: 2, expiresAt: 20_000 });
      await store.saveRegistration(moved, 2_000);
      assert.deepEqual(await store.getRegistration(moved.username, 2_000), moved);
    });

    it('stores every one of many saves made at once, the later of two for one account winning', async () => {
      const store = get();
      const many = Array.from({ length: 200 }, (_, i) => reg({ username: `pgbatch${i}`, cseq: i }));
      // The second save of one account starts once its first is stored (as a phone's refresh follows its REGISTER),
      // while the other saves are still in flight: two started at the same instant have no defined order on a pool.
      const first = many.map((r) => store.saveRegistration(r, 1_000));
      await first[7];
      await Promise.all([...first, store.saveRegistration(reg({ username: 'pgbatch7', cseq: 999 }), 1_000)]);
      for (const r of many.filter((x) => x.username !== 'pgbatch7')) assert.deepEqual(await store.getRegistration(r.username, 1_000), r);
      assert.equal((await store.getRegistration('pgbatch7', 1_000))?.cseq, 999);
    });

    it('keeps a binding made over SIP over TLS as TLS (requests to the phone must use its TLS connection)', async () => {
      const store = get();
      const r = reg({ contact: 'sip:pg001122334455@198.51.100.7:5061;transport=tls', sourcePort: 40112, sourceTransport: 'tls' });
      await store.saveRegistration(r, 1_000);
      assert.deepEqual(await store.getRegistration(r.username, 1_000), r);
    });

    it('deletes a binding, saying whether there was one', async () => {
      const store = get();
      await store.saveRegistration(reg(), 1_000);
      assert.equal(await store.deleteRegistration('pg001122334455'), true);
      assert.equal(await store.deleteRegistration('pg001122334455'), false);
      assert.equal(await store.getRegistration('pg001122334455', 1_000), null);
    });

    it('keeps odd but legal values intact (quotes, unicode, long paths)', async () => {
      const store = get();
      const r = reg({ contact: 'sip:"o\'hara"@[2001:db8::1]:5060', path: ['sip:a;lr', 'sip:b;lr', 'sip:ü;lr'], userAgent: 'Phone "X" ü' });
      await store.saveRegistration(r, 0);
      assert.deepEqual(await store.getRegistration(r.username, 0), r);
    });
  });

  describe('ping', () => {
    it('resolves on a store that can write', async () => {
      await get().ping();
    });
  });
}
