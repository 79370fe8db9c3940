import assert from 'node:assert/strict';
import { WebhookDispatcher } from '../../src/app/webhook-dispatcher';
import { systemClock } from '../../src/ports/clock';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import type { Store } from '../../src/ports/store';
import { openPostgresStore } from '../../src/store/postgres';
import { createHttpSender } from '../../src/webhooks/http-sender';
import { describePostgres } from '../helpers/postgres';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';
import { WebhookReceiver } from '../helpers/webhook-receiver';

/**
 * Two nodes (two pools, as two papgate processes have) on one PostgreSQL
 * database deliver one outbox: no event is claimed by both, and with a
 * receiver that always accepts, each event is posted exactly once.
 */
describePostgres('webhook outbox shared by two nodes (PostgreSQL)', (pg) => {
  let stores: Store[] = [];
  let receiver: WebhookReceiver | null = null;
  const dispatchers: WebhookDispatcher[] = [];

  afterEach(async () => {
    for (const d of dispatchers.splice(0)) await d.stop();
    await receiver?.close();
    receiver = null;
    for (const s of stores) await s.close();
    stores = [];
  });

  /** `devices` devices with `perDevice` events each, enqueued through device changes. */
  async function fill(url: string, devices: number, perDevice: number): Promise<{ tenantId: number; total: number; order: Map<string, string[]> }> {
    const db = await pg().freshDatabase();
    stores = [await openPostgresStore(db), await openPostgresStore(db)];
    const [a] = stores;
    const t = await makeTenant(a!, 'acme');
    await a!.setWebhook({ tenantId: t.id, url, secret: 'whsec_test', updatedAt: 1 });
    const list = Array.from({ length: devices }, () => makeDevice({ tenantId: t.id }));
    await a!.insertDevices(list, []);
    const order = new Map<string, string[]>();
    let n = 0;
    for (let round = 0; round < perDevice; round++) {
      for (const d of list) {
        const id = `evt_${++n}`;
        order.set(d.mac, [...(order.get(d.mac) ?? []), id]);
        await a!.mutateDevice(d.mac, (x) => ({
          next: x!,
          result: null,
          webhookEvents: [{ id, tenantId: t.id, mac: d.mac, siteId: null, state: 'failed', at: Date.now() }],
        }));
      }
    }
    return { tenantId: t.id, total: n, order };
  }

  it('never hands one delivery to both nodes claiming at once', async () => {
    const { total } = await fill('http://127.0.0.1:9/', 40, 1);
    const seen = new Map<number, number>();
    for (let round = 0; round < 20; round++) {
      const now = Date.now();
      const claims = await Promise.all(stores.map((s) => s.claimWebhookDeliveries(now, { leaseUntil: now + 60_000, limit: 3, perTenant: 100 })));
      claims.forEach((rows, node) =>
        rows.forEach((r) => {
          assert.equal(seen.get(r.seq), undefined, `seq ${r.seq} claimed by node ${seen.get(r.seq)} and node ${node}`);
          seen.set(r.seq, node);
        }),
      );
    }
    assert.equal(seen.size, total, 'every delivery claimed once');
  });

  it('delivers each event exactly once, in order per device, with two dispatchers', async function () {
    this.timeout(60_000);
    receiver = await WebhookReceiver.start();
    const { total, order } = await fill(receiver.url, 10, 4);
    for (const store of stores) {
      const d = new WebhookDispatcher(
        {
          store,
          clock: systemClock,
          random: cryptoRandom,
          log: silentLogger,
          sender: createHttpSender({ connectTimeoutMs: 2000, totalTimeoutMs: 5000, maxResponseBytes: 4096, allowPrivateTargets: true }),
        },
        { backoff: { firstDelayMs: 20, maxDelayMs: 200, maxAttempts: 20, maxAgeMs: 3600_000 }, concurrency: 4, perTenant: 6, pollMs: 20, leaseMs: 30_000 },
      );
      dispatchers.push(d);
      d.start();
    }
    await receiver.waitFor(() => receiver!.received.length >= total, 45_000, `${total} deliveries`);
    await new Promise((r) => setTimeout(r, 300)); // a duplicate, if any, would arrive now
    const ids = receiver.received.map((x) => JSON.parse(x.body).id as string);
    assert.equal(ids.length, total, 'no event posted twice');
    assert.equal(new Set(ids).size, total);
    for (const [mac, expected] of order) {
      assert.deepEqual(
        receiver.received
          .map((x) => JSON.parse(x.body))
          .filter((b) => b.mac === mac)
          .map((b) => b.id),
        expected,
      );
    }
  });
});
