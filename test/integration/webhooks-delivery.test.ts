import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_ACTOR } from '../../src/app/actor';
import type { AppDeps } from '../../src/app/deps';
import { Provisioning } from '../../src/app/provisioning';
import { createServices, type AdminServices } from '../../src/app/services';
import { WebhookDispatcher, type DispatcherSettings } from '../../src/app/webhook-dispatcher';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import type { Store } from '../../src/ports/store';
import { openSqliteStore } from '../../src/store/sqlite';
import { createHttpSender } from '../../src/webhooks/http-sender';
import { issue, makeCa } from '../helpers/test-certificates';
import { signatureValid, WebhookReceiver } from '../helpers/webhook-receiver';

/** Real time plus an offset the test moves forward (lock-outs end without waiting). */
const clock = {
  offset: 0,
  now() {
    return Date.now() + this.offset;
  },
};

const SETTINGS: DispatcherSettings = {
  backoff: { firstDelayMs: 20, maxDelayMs: 200, maxAttempts: 50, maxAgeMs: 24 * 3600_000 },
  concurrency: 8,
  perTenant: 4,
  pollMs: 25,
  leaseMs: 30_000,
};

interface World {
  dir: string;
  store: Store;
  deps: AppDeps;
  s: AdminServices;
  provisioning: Provisioning;
  dispatchers: WebhookDispatcher[];
  receivers: WebhookReceiver[];
}

async function openWorld(dir = mkdtempSync(join(tmpdir(), 'papgate-webhooks-'))): Promise<World> {
  const store = await openSqliteStore(join(dir, 'p.db'));
  const deps: AppDeps = { store, clock, random: cryptoRandom, policy: DEFAULT_POLICY, log: silentLogger };
  const provisioning = new Provisioning(deps, {
    publicUrl: 'http://prov.example',
    sip: { server: 'sip.example', port: 5060, transport: 'udp' },
    emergencyNumbers: ['112'],
    hotline: '*89',
    minimalResyncSeconds: 300,
    fullResyncSeconds: 14400,
  });
  return { dir, store, deps, s: createServices(deps), provisioning, dispatchers: [], receivers: [] };
}

type SenderSettings = { connectTimeoutMs: number; totalTimeoutMs: number; allowPrivateTargets: boolean; extraCaPem?: string };

function dispatch(
  w: World,
  over: Partial<DispatcherSettings> = {},
  sender: SenderSettings = { connectTimeoutMs: 2000, totalTimeoutMs: 5000, allowPrivateTargets: true },
) {
  const d = new WebhookDispatcher({ ...w.deps, sender: createHttpSender({ ...sender, maxResponseBytes: 4096 }) }, { ...SETTINGS, ...over });
  w.dispatchers.push(d);
  d.start();
  return d;
}

async function receiver(w: World, ...args: Parameters<typeof WebhookReceiver.start>) {
  const r = await WebhookReceiver.start(...args);
  w.receivers.push(r);
  return r;
}

async function closeWorld(w: World, removeDir = true) {
  for (const d of w.dispatchers.splice(0)) await d.stop();
  for (const r of w.receivers.splice(0)) await r.close();
  await w.store.close();
  if (removeDir) rmSync(w.dir, { recursive: true, force: true });
}

let macs = 0;
async function device(w: World, tenant: string, site?: string) {
  const mac = `02:00:5e:10:${(++macs >> 8).toString(16).padStart(2, '0')}:${(macs & 0xff).toString(16).padStart(2, '0')}`;
  return w.s.devices.create(CLI_ACTOR, { tenant, mac, vendor: 'yealink', model: 'T46U', ...(site ? { site } : {}) });
}

/** Wrong PAPs until the device locks (or blocks): what a caller typing at the IVR gets. */
async function lockOut(w: World, mac: string, pap: string) {
  const wrong = pap === '000000' ? '111111' : '000000';
  for (let i = 0; i < DEFAULT_POLICY.maxFailures; i++) await w.s.authentication.attempt(mac, wrong, '198.51.100.9');
}

describe('webhooks: deliveries to a real receiver', function () {
  this.timeout(60_000);
  let w: World;
  beforeEach(async () => {
    clock.offset = 0;
    w = await openWorld();
    await w.s.tenants.create(CLI_ACTOR, 'acme');
    await w.s.tenants.addSite(CLI_ACTOR, 'acme', 'head-office');
    await w.s.tenants.create(CLI_ACTOR, 'other');
  });
  afterEach(async () => closeWorld(w));

  it('announces failed, blocked and successful from PAP attempts and provisioning, signed, without secrets', async () => {
    const r = await receiver(w);
    const { secret } = await w.s.webhooks.set(CLI_ACTOR, 'acme', r.url);
    assert.match(secret!, /^whsec_[A-Za-z0-9_-]{43}$/);
    const locked = await device(w, 'acme', 'head-office');
    const blocked = await device(w, 'acme');
    const good = await device(w, 'acme');
    const trusted = await device(w, 'acme');
    const elsewhere = await device(w, 'other');
    dispatch(w);

    await lockOut(w, locked.mac, locked.pap!);
    for (let i = 0; i < DEFAULT_POLICY.maxLockouts; i++) {
      await lockOut(w, blocked.mac, blocked.pap!);
      clock.offset += DEFAULT_POLICY.lockoutMs + 1;
    }
    assert.equal((await w.s.authentication.attempt(good.mac, good.pap!, '203.0.113.5')).outcome, 'success');
    assert.equal((await w.s.authentication.attempt(good.mac, good.pap!, '203.0.113.5')).outcome, 'already-successful');
    // The success trusted 203.0.113.5: a phone of the tenant fetching from there gets the full configuration.
    assert.equal((await w.provisioning.handle({ mac: trusted.mac, ip: '203.0.113.5', secret: null })).kind, 'full');
    await lockOut(w, elsewhere.mac, elsewhere.pap!);

    const expected = [
      [locked.mac, 'failed'],
      [blocked.mac, 'failed'],
      [blocked.mac, 'failed'],
      [blocked.mac, 'blocked'],
      [good.mac, 'successful'],
      [trusted.mac, 'successful'],
    ];
    await r.waitFor(() => r.accepted().length >= expected.length);
    const bodies = r.accepted();
    assert.deepEqual(bodies.map((b) => [b.mac, b.state]).sort(), expected.sort());
    for (const got of r.received) {
      assert.ok(signatureValid(secret!, got.headers['x-papgate-signature'], got.body), 'signature verifies');
      const body = JSON.parse(got.body) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ['at', 'event', 'id', 'mac', 'site', 'state', 'tenant']);
      assert.equal(body.tenant, 'acme');
      assert.equal(body.event, `device.${String(body.state)}`);
      assert.equal(got.headers['x-papgate-event-id'], body.id);
      assert.equal(got.headers['content-type'], 'application/json');
    }
    assert.equal(bodies.find((b) => b.mac === locked.mac)!.site, 'head-office');
    assert.equal(bodies.find((b) => b.mac === good.mac)!.site, null);
    assert.equal(new Set(bodies.map((b) => b.id)).size, bodies.length, 'one id per event');

    const secrets = [secret!];
    for (const d of [locked, blocked, good, trusted]) {
      const stored = (await w.store.getDevice(d.mac))!;
      secrets.push(d.pap!, stored.sipPassword, ...stored.lines.map((l) => l.password));
      if (stored.secretHash) secrets.push(stored.secretHash);
    }
    for (const got of r.received) {
      for (const s of secrets) assert.ok(!got.body.includes(s) && !JSON.stringify(got.headers).includes(s), 'no PIN, password or secret is sent');
    }
    assert.ok(
      r.received.every((x) => JSON.parse(x.body).tenant !== 'other'),
      'a tenant without a webhook sends nothing',
    );
  });

  it('does not send an event again while its request is still out, even when the clock jumps past its lease', async () => {
    const r = await receiver(w, (n) => (n === 1 ? 'hang' : { status: 200 }));
    await w.s.webhooks.set(CLI_ACTOR, 'acme', r.url);
    const d = await device(w, 'acme');
    dispatch(w, {}, { connectTimeoutMs: 2000, totalTimeoutMs: 1500, allowPrivateTargets: true });
    await lockOut(w, d.mac, d.pap!);
    await r.waitFor(() => r.received.length === 1);
    clock.offset += 10 * SETTINGS.leaseMs; // the lease of the hanging request is over
    await new Promise((resolve) => setTimeout(resolve, 20 * SETTINGS.pollMs));
    assert.equal(r.received.length, 1, 'no second copy while the first request hangs');
    // The hanging request times out, counts as a failed attempt, and the retry is accepted once.
    await r.waitFor(() => r.accepted().length === 1);
    await new Promise((resolve) => setTimeout(resolve, 10 * SETTINGS.pollMs));
    assert.equal(r.accepted().length, 1);
    assert.equal(r.received.length, 2);
    // The claim made while the first request hung was no attempt, and is not counted as one.
    const [listed] = await w.s.webhooks.deliveries(CLI_ACTOR, 'acme', 1);
    assert.equal(listed!.attempts, 2, 'two attempts counted, as two were sent');
  });

  it('gets every event exactly once, in order per device, from a receiver failing every second request', async () => {
    const r = await receiver(w, (n) => ({ status: n % 2 === 0 ? 500 : 200 }));
    await w.s.webhooks.set(CLI_ACTOR, 'acme', r.url);
    const devices = [];
    for (let i = 0; i < 12; i++) devices.push(await device(w, 'acme'));
    const started = Date.now();
    dispatch(w);
    // Per device: failed, failed, blocked (three lock-outs); one more device succeeds.
    for (let round = 0; round < DEFAULT_POLICY.maxLockouts; round++) {
      for (const d of devices) await lockOut(w, d.mac, d.pap!);
      clock.offset += DEFAULT_POLICY.lockoutMs + 1;
    }
    const extra = await device(w, 'acme');
    await w.s.authentication.attempt(extra.mac, extra.pap!, null);
    const total = devices.length * DEFAULT_POLICY.maxLockouts + 1;
    await r.waitFor(() => r.accepted().length >= total, 45_000, `${total} accepted events`);
    const elapsed = Date.now() - started;

    const accepted = r.accepted();
    const ids = accepted.map((b) => b.id as string);
    assert.equal(new Set(ids).size, ids.length, 'no event accepted twice');
    assert.equal(ids.length, total);
    for (const d of devices) {
      assert.deepEqual(
        accepted.filter((b) => b.mac === d.mac).map((b) => b.state),
        ['failed', 'failed', 'blocked'],
        'order per device',
      );
    }
    const listed = await w.s.webhooks.deliveries(CLI_ACTOR, 'acme', 200);
    assert.ok(listed.every((x) => x.status === 'delivered'));
    const attempts = listed.map((x) => x.attempts);
    assert.ok(
      attempts.some((a) => a > 1),
      'some were retried',
    );
    assert.equal(
      r.received.length,
      attempts.reduce((a, b) => a + b, 0),
      'every attempt reached the receiver once',
    );
    console.log(
      `      [figures] ${total} events, receiver failing every 2nd request: ${accepted.length} delivered, ` +
        `${r.received.length} attempts (${(r.received.length / total).toFixed(2)} per event, max ${Math.max(...attempts)}), ` +
        `all delivered after ${elapsed} ms (retry from 20 ms, 2-core shared machine, loaded by parallel work)`,
    );
  });

  it('times out a receiver that hangs, while another tenant is served meanwhile', async () => {
    const hanging = await receiver(w, () => 'hang');
    const healthy = await receiver(w);
    await w.s.webhooks.set(CLI_ACTOR, 'acme', hanging.url);
    await w.s.webhooks.set(CLI_ACTOR, 'other', healthy.url);
    const slow = [];
    for (let i = 0; i < 4; i++) slow.push(await device(w, 'acme'));
    const fine = await device(w, 'other');
    dispatch(w, { concurrency: 4, perTenant: 2 }, { connectTimeoutMs: 2000, totalTimeoutMs: 1500, allowPrivateTargets: true });
    for (const d of slow) await lockOut(w, d.mac, d.pap!);
    await lockOut(w, fine.mac, fine.pap!);

    await healthy.waitFor(() => healthy.accepted().length === 1, 20_000, "the other tenant's event");
    await hanging.waitFor(() => hanging.received.length >= 3, 20_000, 'retries after timeouts');
    const listed = await w.s.webhooks.deliveries(CLI_ACTOR, 'acme', 10);
    assert.ok(
      listed.some((x) => x.lastResult === 'no answer within 1500 ms'),
      JSON.stringify(listed.map((x) => x.lastResult)),
    );
    assert.ok(
      listed.every((x) => x.status === 'pending'),
      'not delivered, tried again later',
    );
  });

  it('does not follow a redirect', async () => {
    const target = await receiver(w);
    const redirecting = await receiver(w, () => ({ status: 302, location: target.url }));
    await w.s.webhooks.set(CLI_ACTOR, 'acme', redirecting.url);
    const d = await device(w, 'acme');
    dispatch(w, { backoff: { ...SETTINGS.backoff, firstDelayMs: 60_000 } });
    await lockOut(w, d.mac, d.pap!);
    await redirecting.waitFor(() => redirecting.received.length === 1);
    await waitUntil(async () => (await w.s.webhooks.deliveries(CLI_ACTOR, 'acme', 1))[0]?.lastResult != null);
    const [x] = await w.s.webhooks.deliveries(CLI_ACTOR, 'acme', 1);
    assert.equal(x!.lastResult, 'HTTP 302 (redirects are not followed)');
    assert.equal(x!.status, 'pending');
    assert.equal(target.received.length, 0, 'the redirect target was never asked');
  });

  it('refuses loopback targets when private targets are denied', async () => {
    const r = await receiver(w);
    await w.s.webhooks.set(CLI_ACTOR, 'acme', r.url);
    const localhostUrl = r.url.replace('127.0.0.1', 'localhost');
    await w.s.webhooks.set(CLI_ACTOR, 'other', localhostUrl);
    const a = await device(w, 'acme');
    const b = await device(w, 'other');
    dispatch(w, { backoff: { ...SETTINGS.backoff, firstDelayMs: 60_000 } }, { connectTimeoutMs: 2000, totalTimeoutMs: 2000, allowPrivateTargets: false });
    await lockOut(w, a.mac, a.pap!);
    await lockOut(w, b.mac, b.pap!);
    await waitUntil(
      async () =>
        (await w.s.webhooks.deliveries(CLI_ACTOR, 'acme', 1))[0]?.lastResult != null &&
        (await w.s.webhooks.deliveries(CLI_ACTOR, 'other', 1))[0]?.lastResult != null,
    );
    assert.match((await w.s.webhooks.deliveries(CLI_ACTOR, 'acme', 1))[0]!.lastResult!, /refused: 127\.0\.0\.1 is not a public address/);
    assert.match((await w.s.webhooks.deliveries(CLI_ACTOR, 'other', 1))[0]!.lastResult!, /refused/);
    assert.equal(r.received.length, 0);
  });

  it("verifies an https receiver's certificate: an unknown CA is refused, a configured one is trusted", async () => {
    const ca = makeCa(w.dir);
    const pair = issue(ca, 'receiver');
    const tls = { cert: readFileSync(pair.certPath, 'utf8'), key: readFileSync(pair.keyPath, 'utf8') };
    const untrusted = await receiver(w, undefined, '/hook', tls);
    const trusted = await receiver(w, undefined, '/hook', tls);
    await w.s.webhooks.set(CLI_ACTOR, 'acme', untrusted.url);
    await w.s.webhooks.set(CLI_ACTOR, 'other', trusted.url);
    const a = await device(w, 'acme');
    const b = await device(w, 'other');
    const base = { connectTimeoutMs: 2000, totalTimeoutMs: 5000, allowPrivateTargets: true };
    const slow = { backoff: { ...SETTINGS.backoff, firstDelayMs: 60_000 } };
    dispatch(w, slow, base);
    await lockOut(w, a.mac, a.pap!);
    await waitUntil(async () => (await w.s.webhooks.deliveries(CLI_ACTOR, 'acme', 1))[0]?.lastResult != null);
    assert.match((await w.s.webhooks.deliveries(CLI_ACTOR, 'acme', 1))[0]!.lastResult!, /CERT|VERIFY|SELF_SIGNED/);
    assert.equal(untrusted.received.length, 0, 'nothing was sent to a receiver whose certificate did not verify');
    for (const d of w.dispatchers.splice(0)) await d.stop();

    dispatch(w, slow, { ...base, extraCaPem: ca.pem });
    await lockOut(w, b.mac, b.pap!);
    await trusted.waitFor(() => trusted.accepted().length === 1);
    assert.equal(trusted.accepted()[0]!.state, 'failed');
  });

  it('stops even when the store never answers a claim', async () => {
    let claims = 0;
    const hung = new Proxy(w.store, {
      get(target, key) {
        if (key === 'claimWebhookDeliveries')
          return () => {
            claims += 1;
            return new Promise<never>(() => undefined);
          };
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const d = new WebhookDispatcher(
      { ...w.deps, store: hung, sender: createHttpSender({ connectTimeoutMs: 1000, totalTimeoutMs: 1000, allowPrivateTargets: true, maxResponseBytes: 1024 }) },
      { ...SETTINGS, stopWaitMs: 200 },
    );
    d.start();
    await waitUntil(async () => claims > 0);
    await d.stop(); // resolves: a hung store call does not hang shutdown
    assert.equal(claims, 1, 'one claim, still hanging; none after stop');
  });

  it('delivers what was pending before a restart', async () => {
    const down = await receiver(w, () => ({ status: 503 }));
    await w.s.webhooks.set(CLI_ACTOR, 'acme', down.url);
    const d1 = await device(w, 'acme');
    const d2 = await device(w, 'acme');
    await lockOut(w, d1.mac, d1.pap!);
    await w.s.authentication.attempt(d2.mac, d2.pap!, null);
    dispatch(w, { backoff: { ...SETTINGS.backoff, firstDelayMs: 300 } });
    await down.waitFor(() => down.received.length >= 2);
    const ids = new Set(down.received.map((x) => JSON.parse(x.body).id as string));
    const dir = w.dir;
    await closeWorld(w, false);

    w = await openWorld(dir);
    const up = await receiver(w);
    await w.s.webhooks.set(CLI_ACTOR, 'acme', up.url);
    dispatch(w);
    await up.waitFor(() => up.accepted().length >= 2);
    assert.deepEqual(new Set(up.accepted().map((b) => b.id)), ids, 'the same events, by id');
    assert.deepEqual(
      up
        .accepted()
        .map((b) => b.state)
        .sort(),
      ['failed', 'successful'],
    );
  });
});

async function waitUntil(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
