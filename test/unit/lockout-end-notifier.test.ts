import { strict as assert } from 'node:assert';
import { checkSyncToRegistration, LockoutEndNotifier } from '../../src/app/lockout-end-notifier';
import type { Device } from '../../src/domain/types';
import { silentLogger } from '../../src/ports/logger';
import type { NotifyTarget, Registration } from '../../src/ports/signalling';
import { makeDevice } from '../helpers/store-fixtures';

/** The scheduler alone: a map of devices for a store, a list for the check-syncs sent. */
describe('lock-out end notifier', () => {
  const devices = new Map<string, Device>();
  let sent: string[] = [];
  let notifier: LockoutEndNotifier;

  const locked = (until: number, vendor: Device['vendor'] = 'yealink') => {
    const d = makeDevice({ vendor, auth: { state: 'failed', failures: 3, lockouts: 1, lockedUntil: until } });
    devices.set(d.mac, d);
    return d;
  };
  const make = (maxPending?: number) =>
    new LockoutEndNotifier({
      store: { getDevice: async (mac) => devices.get(mac) ?? null },
      clock: { now: () => Date.now() },
      log: silentLogger,
      sendCheckSync: async (d) => {
        sent.push(d.mac);
        return true;
      },
      maxPending,
    });
  /** Waits (bounded) until no timer is pending and the last announcement had time to run. */
  async function settled(n: LockoutEndNotifier): Promise<void> {
    for (let i = 0; i < 200 && n.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(n.size, 0, 'timers still pending');
    await new Promise((r) => setTimeout(r, 20));
  }

  beforeEach(() => {
    devices.clear();
    sent = [];
    notifier = make();
  });
  afterEach(() => notifier.stop());

  it('announces a lock-out that ends as stored', async () => {
    const d = locked(Date.now() + 30);
    notifier.lockedOut(d.mac, d.auth.lockedUntil!);
    assert.equal(notifier.size, 1);
    await settled(notifier);
    assert.deepEqual(sent, [d.mac]);
  });

  it('stays quiet for a device reset, authenticated, re-locked or deleted meanwhile', async () => {
    const reset = locked(Date.now() + 30);
    const authenticated = locked(Date.now() + 30);
    const relocked = locked(Date.now() + 30);
    const deleted = locked(Date.now() + 30);
    for (const d of [reset, authenticated, relocked, deleted]) notifier.lockedOut(d.mac, d.auth.lockedUntil!);
    devices.set(reset.mac, { ...reset, auth: { ...reset.auth, state: 'needed', lockedUntil: null } });
    devices.set(authenticated.mac, { ...authenticated, auth: { ...authenticated.auth, state: 'successful', lockedUntil: null } });
    devices.set(relocked.mac, { ...relocked, auth: { ...relocked.auth, lockedUntil: relocked.auth.lockedUntil! + 60_000 } });
    devices.delete(deleted.mac);
    await settled(notifier);
    assert.deepEqual(sent, []);
  });

  it('keeps one timer per device: a new lock-out replaces the pending one', async () => {
    const d = locked(Date.now() + 60_000);
    notifier.lockedOut(d.mac, d.auth.lockedUntil!);
    const sooner = Date.now() + 20;
    devices.set(d.mac, { ...d, auth: { ...d.auth, lockedUntil: sooner } });
    notifier.lockedOut(d.mac, sooner);
    assert.equal(notifier.size, 1);
    await settled(notifier);
    assert.deepEqual(sent, [d.mac]);
  });

  it('holds at most maxPending timers; stop() clears them and takes no more', async () => {
    notifier = make(2);
    const ds = [locked(Date.now() + 60_000), locked(Date.now() + 60_000), locked(Date.now() + 60_000)];
    for (const d of ds) notifier.lockedOut(d.mac, d.auth.lockedUntil!);
    assert.equal(notifier.size, 2);
    notifier.stop();
    assert.equal(notifier.size, 0);
    notifier.lockedOut(ds[0]!.mac, Date.now());
    assert.equal(notifier.size, 0);
  });

  it('a lock-out longer than a timer can wait is waited for in steps, not fired at once', async () => {
    const d = locked(Date.now() + 40 * 86_400_000);
    notifier.lockedOut(d.mac, d.auth.lockedUntil!);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(notifier.size, 1);
    assert.deepEqual(sent, []);
  });

  it("sends the vendor's check-sync event to the registered contact, and nothing without a registration", async () => {
    const d = makeDevice({ vendor: 'snom' });
    const calls: [NotifyTarget, string][] = [];
    const reg: Registration = {
      username: d.sipUsername,
      contact: 'sip:u@10.0.0.7:5062',
      source: { address: '192.0.2.1', port: 5062, transport: 'udp' },
      expiresAt: Date.now() + 60_000,
    };
    const signalling = (r: Registration | undefined) => ({
      registration: async () => r,
      notify: async (t: NotifyTarget, e: string) => {
        calls.push([t, e]);
        return 200;
      },
    });
    assert.equal(await checkSyncToRegistration(signalling(undefined), d), false);
    assert.equal(await checkSyncToRegistration(signalling(reg), d), true);
    assert.deepEqual(calls, [[{ uri: reg.contact, via: reg.source, username: d.sipUsername }, 'check-sync;reboot=false']]);
  });
});
