import assert from 'node:assert/strict';
import type { Store } from '../../src/ports/store';
import type { NewWebhookEvent } from '../../src/ports/webhooks';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';
import { expectError } from './expect-error';

/** Webhook configuration and the delivery outbox, for every Store adapter. */
export function webhooksContract(get: () => Store): void {
  let ids = 0;
  const event = (tenantId: number, mac: string, over: Partial<NewWebhookEvent> = {}): NewWebhookEvent => ({
    id: `evt-${++ids}`,
    tenantId,
    mac,
    siteId: null,
    state: 'blocked',
    at: 1_000,
    ...over,
  });
  /** Enqueues through a device change, as the use cases do: the only way in. */
  const enqueue = async (store: Store, mac: string, events: NewWebhookEvent[]) => {
    await store.mutateDevice(mac, (d) => ({ next: d!, result: null, webhookEvents: events }));
  };
  const limits = (over: Partial<{ leaseUntil: number; limit: number; perTenant: number }> = {}) => ({
    leaseUntil: 60_000,
    limit: 100,
    perTenant: 100,
    ...over,
  });
  const hook = (tenantId: number) => ({ tenantId, url: 'https://hooks.example/papgate', secret: 'whsec_x', updatedAt: 5 });
  /** A tenant with a webhook, one device, and one event of it waiting (due at 1,000). */
  const oneEventPending = async () => {
    const store = get();
    const t = await makeTenant(store, 'acme');
    const d = makeDevice({ tenantId: t.id });
    await store.insertDevices([d], []);
    await store.setWebhook(hook(t.id));
    await enqueue(store, d.mac, [event(t.id, d.mac)]);
    return { store, t, d };
  };

  describe('webhooks', () => {
    it('saves, replaces, reads and deletes a tenant webhook', async () => {
      const store = get();
      const t = await makeTenant(store, 'acme');
      assert.equal(await store.getWebhook(t.id), null);
      await store.setWebhook(hook(t.id));
      assert.deepEqual(await store.getWebhook(t.id), hook(t.id));
      await store.setWebhook({ ...hook(t.id), url: 'http://other.example/', updatedAt: 6 });
      assert.equal((await store.getWebhook(t.id))!.url, 'http://other.example/');
      assert.equal(await store.deleteWebhook(t.id), true);
      assert.equal(await store.deleteWebhook(t.id), false);
      assert.equal(await store.getWebhook(t.id), null);
    });

    it('refuses a webhook for an unknown tenant', async () => {
      await expectError(get().setWebhook(hook(999_999)), 'not_found', /no tenant/);
    });

    it('enqueues events with the device change, only for tenants with a webhook', async () => {
      const store = get();
      const a = await makeTenant(store, 'acme');
      const b = await makeTenant(store, 'other');
      const da = makeDevice({ tenantId: a.id });
      const db = makeDevice({ tenantId: b.id });
      await store.insertDevices([da, db], []);
      await store.setWebhook(hook(a.id));
      await enqueue(store, da.mac, [event(a.id, da.mac, { state: 'failed', siteId: null })]);
      await enqueue(store, db.mac, [event(b.id, db.mac)]);
      const listed = await store.listWebhookDeliveries(a.id, 10);
      assert.equal(listed.length, 1);
      assert.deepEqual(
        { ...listed[0]!, seq: 0 },
        {
          seq: 0,
          id: listed[0]!.id,
          tenantId: a.id,
          mac: da.mac,
          siteId: null,
          state: 'failed',
          at: 1_000,
          status: 'pending',
          attempts: 0,
          nextAttemptAt: 1_000,
          lastResult: null,
          finishedAt: null,
        },
      );
      assert.deepEqual(await store.listWebhookDeliveries(b.id, 10), []);
    });

    it('drops the events of a change that throws', async () => {
      const store = get();
      const t = await makeTenant(store, 'acme');
      const d = makeDevice({ tenantId: t.id });
      await store.insertDevices([d], []);
      await store.setWebhook(hook(t.id));
      await assert.rejects(
        store.mutateDevice(d.mac, () => {
          throw new Error('no');
        }),
      );
      await store
        .mutateDevice(d.mac, (x) => ({ next: { ...x!, tenantId: 999_999 }, result: null, webhookEvents: [event(t.id, d.mac)] }))
        .catch(() => undefined);
      assert.deepEqual(await store.listWebhookDeliveries(t.id, 10), []);
    });

    it('claims due deliveries once, oldest first per device, and leases them', async () => {
      const store = get();
      const t = await makeTenant(store, 'acme');
      const d1 = makeDevice({ tenantId: t.id });
      const d2 = makeDevice({ tenantId: t.id });
      await store.insertDevices([d1, d2], []);
      await store.setWebhook(hook(t.id));
      await enqueue(store, d1.mac, [event(t.id, d1.mac, { state: 'failed' }), event(t.id, d1.mac, { state: 'blocked' })]);
      await enqueue(store, d2.mac, [event(t.id, d2.mac, { state: 'successful', at: 2_000 })]);
      assert.deepEqual(await store.claimWebhookDeliveries(999, limits()), [], 'nothing due yet');
      const first = await store.claimWebhookDeliveries(2_000, limits());
      assert.deepEqual(
        first.map((x) => [x.mac, x.state, x.attempts]),
        [
          [d1.mac, 'failed', 1],
          [d2.mac, 'successful', 1],
        ],
      );
      assert.deepEqual(await store.claimWebhookDeliveries(2_000, limits()), [], 'leased, and the second of d1 waits for the first');
      await store.finishWebhookDelivery({ seq: first[0]!.seq, status: 'delivered', lastResult: 'HTTP 204', at: 2_100 });
      const next = await store.claimWebhookDeliveries(2_200, limits());
      assert.deepEqual(
        next.map((x) => [x.mac, x.state]),
        [[d1.mac, 'blocked']],
      );
    });

    it('retries at the recorded time and takes over an expired lease', async () => {
      const { store, t } = await oneEventPending();
      const [c] = await store.claimWebhookDeliveries(1_000, limits({ leaseUntil: 5_000 }));
      await store.finishWebhookDelivery({ seq: c!.seq, status: 'pending', lastResult: 'HTTP 500', at: 1_100, nextAttemptAt: 3_000 });
      assert.deepEqual(await store.claimWebhookDeliveries(2_999, limits()), []);
      const [again] = await store.claimWebhookDeliveries(3_000, limits({ leaseUntil: 4_000 }));
      assert.equal(again!.attempts, 2);
      assert.equal(again!.lastResult, 'HTTP 500');
      assert.deepEqual(await store.claimWebhookDeliveries(3_999, limits()), [], 'lease still runs');
      const [taken] = await store.claimWebhookDeliveries(4_000, limits());
      assert.equal(taken!.attempts, 3, "a crashed claimer's lease ran out");
      await store.finishWebhookDelivery({ seq: taken!.seq, status: 'failed', lastResult: 'gave up', at: 4_100 });
      const [done] = await store.listWebhookDeliveries(t.id, 1);
      assert.deepEqual([done!.status, done!.finishedAt, done!.lastResult], ['failed', 4_100, 'gave up']);
      assert.deepEqual(await store.claimWebhookDeliveries(10_000, limits()), []);
    });

    it('a claim given back counts no attempt, and keeps its lease until the outcome ends it', async () => {
      const { store, t } = await oneEventPending();
      const [sent] = await store.claimWebhookDeliveries(1_000, limits({ leaseUntil: 2_000 }));
      // Its lease runs out while its request is still out: the same caller claims it again and gives that claim back.
      const [again] = await store.claimWebhookDeliveries(2_000, limits({ leaseUntil: 3_000 }));
      assert.equal(again!.seq, sent!.seq);
      assert.equal(again!.attempts, 2);
      await store.releaseWebhookClaim(again!.seq);
      assert.deepEqual(await store.claimWebhookDeliveries(2_500, limits()), [], 'the lease stays: not claimed at every poll');
      await store.finishWebhookDelivery({ seq: sent!.seq, status: 'pending', lastResult: 'HTTP 500', at: 2_600, nextAttemptAt: 2_700 });
      const [retry] = await store.claimWebhookDeliveries(2_700, limits());
      assert.equal(retry!.attempts, 2, 'one attempt made, this is the second');
      await store.releaseWebhookClaim(retry!.seq);
      await store.releaseWebhookClaim(retry!.seq);
      const [listed] = await store.listWebhookDeliveries(t.id, 1);
      assert.equal(listed!.attempts, 0, 'never below zero');
    });

    it('keeps a tenant within its share, counting leases in flight', async () => {
      const store = get();
      const t = await makeTenant(store, 'acme');
      const u = await makeTenant(store, 'other');
      const devices = [1, 2, 3].map(() => makeDevice({ tenantId: t.id }));
      const theirs = makeDevice({ tenantId: u.id });
      await store.insertDevices([...devices, theirs], []);
      await store.setWebhook(hook(t.id));
      await store.setWebhook(hook(u.id));
      for (const d of devices) await enqueue(store, d.mac, [event(t.id, d.mac)]);
      await enqueue(store, theirs.mac, [event(u.id, theirs.mac)]);
      const first = await store.claimWebhookDeliveries(1_000, limits({ perTenant: 2 }));
      assert.deepEqual(
        first.map((x) => x.tenantId),
        [t.id, t.id, u.id],
      );
      assert.deepEqual(await store.claimWebhookDeliveries(1_000, limits({ perTenant: 2 })), [], 'two of acme in flight');
      assert.equal((await store.claimWebhookDeliveries(1_000, limits({ perTenant: 3 }))).length, 1);
    });

    it('deleting the webhook drops pending deliveries and keeps finished ones', async () => {
      const { store, t, d } = await oneEventPending();
      const [c] = await store.claimWebhookDeliveries(1_000, limits());
      await store.finishWebhookDelivery({ seq: c!.seq, status: 'delivered', lastResult: 'HTTP 200', at: 1_001 });
      await enqueue(store, d.mac, [event(t.id, d.mac, { state: 'successful' })]);
      assert.equal(await store.deleteWebhook(t.id), true);
      assert.deepEqual(
        (await store.listWebhookDeliveries(t.id, 10)).map((x) => x.status),
        ['delivered'],
      );
    });
  });
}
