import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { basename } from 'node:path';
import { Authentication } from '../../src/app/authentication';
import { AuthCallHandler, emergencyTarget, type AuthCallHandlerDeps } from '../../src/app/call-handler';
import { PromptLibrary, shippedPromptsDir } from '../../src/app/prompt-library';
import { SipGate } from '../../src/app/sip-gate';
import { DEFAULT_EMERGENCY_NUMBERS } from '../../src/domain/dialplan';
import { invalid } from '../../src/domain/errors';
import { DEFAULT_IVR_SETTINGS } from '../../src/domain/ivr';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import type { Device, Vendor } from '../../src/domain/types';
import { systemClock } from '../../src/ports/clock';
import type { Logger } from '../../src/ports/logger';
import { NoCommonCodec, type MediaEngine, type MediaSession } from '../../src/ports/media';
import { cryptoRandom } from '../../src/ports/random';
import type { CallEndReason, ForwardedCaller, InboundCall, NotifyTarget, Registration, SipAccount } from '../../src/ports/signalling';
import type { Store } from '../../src/ports/store';
import { openSqliteStore } from '../../src/store/sqlite';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';

/** Port fake: prompts play out on the next turn of the event loop unless cut. */
class AutoSession extends EventEmitter implements MediaSession {
  readonly answerSdp = 'v=0\r\nanswer\r\n';
  readonly plays: string[][] = [];
  closed = false;
  private current = 0;
  play(files: string[]): void {
    this.plays.push(files.map((f) => `${basename(f.replace(/\/[^/]+$/, ''))}/${basename(f, '.wav')}`));
    const id = ++this.current;
    setImmediate(() => {
      if (this.current === id) {
        this.current = 0;
        this.emit('playbackFinished', false);
      }
    });
  }
  stopPlayback(): void {
    if (this.current === 0) return;
    this.current = 0;
    setImmediate(() => this.emit('playbackFinished', true));
  }
  press(keys: string): void {
    for (const k of keys) this.emit('digit', k, 'rfc4733');
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Port fake of an INVITE, recording what the handler did with it. */
class FakeCall extends EventEmitter implements InboundCall {
  readonly callId = `call-${Math.random().toString(36).slice(2)}`;
  readonly fromUser: string;
  source = { address: '198.51.100.9', port: 5062, transport: 'udp' as const };
  readonly contact: string | undefined = 'sip:dev@198.51.100.9:5062';
  readonly userAgent = 'Yealink SIP-T46U';
  offerSdp: string | undefined = 'v=0\r\noffer\r\n';
  rejected: number | null = null;
  answered: string | null = null;
  hangups = 0;
  forwarded: { target: string; headers: Record<string, string>; caller: ForwardedCaller } | null = null;
  forwardError: Error | null = null;
  /** When set, forward() stays in the call until this resolves (a call in progress). */
  forwardHolds: Promise<void> | null = null;
  private over = false;
  constructor(
    readonly dialled: string,
    readonly account: SipAccount | null,
  ) {
    super();
    this.fromUser = account?.username ?? 'anonymous';
  }
  async answer(sdp: string): Promise<void> {
    this.answered = sdp;
  }
  reject(status: number): void {
    this.rejected = status;
    this.end('local-hangup');
  }
  async hangup(): Promise<void> {
    this.hangups++;
    this.end('local-hangup');
  }
  async forward(target: string, headers: Record<string, string>, caller: ForwardedCaller): Promise<void> {
    if (this.forwardError) throw this.forwardError;
    this.forwarded = { target, headers, caller };
    if (this.forwardHolds) await this.forwardHolds;
    this.end('remote-bye');
  }
  end(reason: CallEndReason): void {
    if (this.over) return;
    this.over = true;
    this.emit('ended', reason);
  }
}

class FakeMedia implements MediaEngine {
  readonly sessions: AutoSession[] = [];
  failWith: Error | null = null;
  /** When set, createSession waits for it. */
  gate: Promise<void> | null = null;
  requests = 0;
  /** The SIP source address each session was asked for with. */
  readonly signallingAddresses: (string | undefined)[] = [];
  async createSession(opts: { signallingAddress?: string }): Promise<MediaSession> {
    this.requests++;
    this.signallingAddresses.push(opts.signallingAddress);
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    const s = new AutoSession();
    this.sessions.push(s);
    return s;
  }
  async close(): Promise<void> {}
}

function recordingLogger(lines: string[]): Logger {
  const rec = (level: string) => (obj: object | string, msg?: string) => {
    lines.push(`${level} ${JSON.stringify(obj, (_k, v) => (v instanceof Error ? v.message : v))} ${msg ?? ''}`);
  };
  const log: Logger = { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error'), child: () => log };
  return log;
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const prompts = new PromptLibrary([shippedPromptsDir()]);

async function setup(opts: { vendor?: Vendor; device?: Partial<Device>; gateway?: string | null; maxCallMs?: number } = {}) {
  const store = await openSqliteStore(':memory:');
  const tenant = await makeTenant(store, 'acme', { locale: 'de' });
  const site = await store.createSite({ tenantId: tenant.id, name: 'Berlin HQ', locale: null });
  const device = makeDevice({ tenantId: tenant.id, siteId: site.id, vendor: opts.vendor ?? 'yealink', ...opts.device });
  await store.insertDevices([device], []);
  const account: SipAccount = { username: device.sipUsername, password: device.sipPassword, mac: device.mac, tenantId: tenant.id };
  const logLines: string[] = [];
  const log = recordingLogger(logLines);
  const media = new FakeMedia();
  const notifies: { target: NotifyTarget; event: string }[] = [];
  const registrations = new Map<string, Registration>();
  const deps: AuthCallHandlerDeps = {
    auth: new Authentication({ store, clock: systemClock, random: cryptoRandom, policy: DEFAULT_POLICY, log }),
    media,
    signalling: {
      async notify(target, event) {
        notifies.push({ target, event });
        return 200;
      },
      registration: async (u) => registrations.get(u),
    },
    gate: new SipGate({
      realm: 'papgate',
      emergencyNumbers: DEFAULT_EMERGENCY_NUMBERS,
      nonceTtlMs: 60_000,
      lookupAccount: async () => null,
      clock: systemClock,
      random: cryptoRandom,
    }),
    store,
    prompts,
    emergencyGateway: opts.gateway === undefined ? 'sip:gw.example.net:5060;transport=tcp' : opts.gateway,
    ivr: { ...DEFAULT_IVR_SETTINGS },
    maxCallMs: opts.maxCallMs ?? 60_000,
    log,
  };
  return { store, device, account, media, notifies, registrations, logLines, deps, handler: new AuthCallHandler(deps) };
}

describe('AuthCallHandler', () => {
  const stores: Store[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });
  const track = <T extends { store: Store }>(t: T): T => {
    stores.push(t.store);
    return t;
  };

  describe('emergency calls', () => {
    it('forwards to the gateway with the number as user part and the device, tenant and site', async () => {
      const t = track(await setup());
      const call = new FakeCall('112', t.account);
      await t.handler.handle(call);
      assert.deepEqual(call.forwarded, {
        target: 'sip:112@gw.example.net:5060;transport=tcp',
        headers: { Priority: 'emergency', 'X-Papgate-Mac': t.device.mac, 'X-Papgate-Tenant': 'acme', 'X-Papgate-Site': 'Berlin HQ' },
        caller: { kind: 'device', username: t.account.username },
      });
      assert.equal(call.answered, null);
    });

    it('forwards even when the store is down, and when the account is unknown', async () => {
      const t = track(await setup());
      await t.store.close();
      const call = new FakeCall('911', t.account);
      await t.handler.handle(call);
      assert.deepEqual(call.forwarded?.headers, { Priority: 'emergency', 'X-Papgate-Mac': t.device.mac });
      const anonymous = new FakeCall('999', null);
      await t.handler.handle(anonymous);
      assert.deepEqual(anonymous.forwarded?.headers, { Priority: 'emergency', 'X-Papgate-Source': '198.51.100.9:5062' });
      assert.deepEqual(anonymous.forwarded?.caller, { kind: 'unverified' });
    });

    it('holds at most two unproven emergency calls per source IP at once; devices are never limited', async () => {
      const t = track(await setup());
      let release!: () => void;
      const holds = new Promise<void>((r) => {
        release = r;
      });
      const call = (account: SipAccount | null, address = '198.51.100.9') => {
        const c = new FakeCall('112', account);
        c.source = { ...c.source, address };
        c.forwardHolds = holds;
        return { c, done: t.handler.handle(c) };
      };
      const first = [call(null), call(null)];
      const third = call(null);
      await third.done;
      assert.equal(third.c.rejected, 503, 'a third unproven call from the source');
      assert.equal(third.c.forwarded, null);
      const other = call(null, '203.0.113.5');
      const devices = [call(t.account), call(t.account), call(t.account)];
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 20));
      assert.ok(other.c.forwarded, 'another source has slots of its own');
      for (const d of devices) assert.ok(d.c.forwarded && d.c.rejected === null, 'a device call is never limited');
      release();
      await Promise.all([...first, other, ...devices].map((x) => x.done));
      const again = call(null);
      await again.done;
      assert.ok(again.c.forwarded, 'the slots are free again once the calls ended');
      assert.match(t.logLines.join('\n'), /too many unproven emergency calls/);
    });

    it('does not wait for a store that hangs', async () => {
      const t = track(await setup());
      t.deps.store = Object.assign(Object.create(t.store) as Store, { getTenantById: () => new Promise<never>(() => {}) });
      const call = new FakeCall('110', t.account);
      await new AuthCallHandler(t.deps).handle(call);
      assert.equal(call.forwarded?.target, 'sip:110@gw.example.net:5060;transport=tcp');
    });

    it('answers 503 and logs an error when no gateway is configured, or forwarding fails', async () => {
      const t = track(await setup({ gateway: null }));
      const call = new FakeCall('112', t.account);
      await t.handler.handle(call);
      assert.equal(call.rejected, 503);
      assert.match(t.logLines.join('\n'), /^error .*EMERGENCY CALL CANNOT BE ROUTED/m);
      const u = track(await setup());
      const failing = new FakeCall('112', u.account);
      failing.forwardError = new Error('transport down');
      await u.handler.handle(failing);
      assert.equal(failing.rejected, 503);
      assert.match(u.logLines.join('\n'), /^error .*transport down/m);
    });
  });

  describe('authentication calls', () => {
    it('refuses a call without an account (403) or whose device is gone (403)', async () => {
      const t = track(await setup());
      const call = new FakeCall('*89', null);
      await t.handler.handle(call);
      assert.equal(call.rejected, 403);
      await t.store.deleteDevice(t.device.mac, { at: 1, tenantId: null, mac: t.device.mac, sourceIp: null, actor: 'cli', action: 'delete', outcome: 'ok' });
      const gone = new FakeCall('*89', t.account);
      await t.handler.handle(gone);
      assert.equal(gone.rejected, 403);
    });

    it('refuses an INVITE without an offer (488), a codec mismatch (488), a malformed offer (400), a broken engine (503)', async () => {
      const t = track(await setup());
      const noOffer = new FakeCall('*89', t.account);
      noOffer.offerSdp = undefined;
      await t.handler.handle(noOffer);
      assert.equal(noOffer.rejected, 488);
      const cases: [Error, number][] = [
        [new NoCommonCodec('no PCMU/PCMA'), 488],
        [invalid('sdp', 'no m= line'), 400],
        [new Error('no RTP port free'), 503],
      ];
      for (const [err, status] of cases) {
        t.media.failWith = err;
        const call = new FakeCall('*89', t.account);
        await t.handler.handle(call);
        assert.equal(call.rejected, status, err.message);
        assert.equal(call.answered, null);
      }
    });

    it('a right PIN: answers, confirms, hangs up, then sends the check-sync to the registered contact', async () => {
      const t = track(await setup());
      t.registrations.set(t.account.username, {
        username: t.account.username,
        contact: 'sip:dev@10.0.0.5:5060',
        expiresAt: Date.now() + 60_000,
        source: { address: '203.0.113.5', port: 40000, transport: 'udp' },
      });
      const call = new FakeCall('*89', t.account);
      const handled = t.handler.handle(call);
      await waitFor(() => t.media.sessions.length === 1, 'the media session');
      const session = t.media.sessions[0]!;
      assert.equal(call.answered, session.answerSdp);
      assert.deepEqual(t.media.signallingAddresses, ['198.51.100.9'], 'the media session knows where the SIP came from');
      session.press('123456#');
      await handled;
      assert.deepEqual(session.plays, [['de/enter-pin'], ['de/success']]);
      assert.equal(call.hangups, 1);
      assert.ok(session.closed);
      assert.deepEqual(t.notifies, [
        {
          event: 'check-sync',
          target: { uri: 'sip:dev@10.0.0.5:5060', via: { address: '203.0.113.5', port: 40000, transport: 'udp' }, username: t.account.username },
        },
      ]);
      assert.equal((await t.store.getDevice(t.device.mac))!.auth.state, 'successful');
      assert.ok(!t.logLines.join('\n').includes('123456'), 'the PIN is never logged');
    });

    it("without a registration, the check-sync goes to the call's Contact and source, with the vendor's event", async () => {
      const t = track(
        await setup({
          vendor: 'snom',
          device: { auth: { state: 'successful', pap: null, failures: 0, lockouts: 0, lockedUntil: null, suspendedUntil: null } },
        }),
      );
      const call = new FakeCall('1234', t.account);
      await t.handler.handle(call);
      assert.deepEqual(t.media.sessions[0]!.plays, [['de/already-authenticated']]);
      assert.deepEqual(t.notifies, [
        {
          event: 'check-sync;reboot=false',
          target: { uri: call.contact, via: call.source, username: t.account.username },
        },
      ]);
    });

    it('a suspended device needs no PIN: it is told to reload and gets a check-sync', async () => {
      const t = track(
        await setup({
          device: { auth: { state: 'needed', pap: '123456', failures: 0, lockouts: 0, lockedUntil: null, suspendedUntil: Date.now() + 600_000 } },
        }),
      );
      const call = new FakeCall('*89', t.account);
      await t.handler.handle(call);
      assert.deepEqual(t.media.sessions[0]!.plays, [['de/already-authenticated']]);
      assert.equal(t.notifies.length, 1);
      assert.equal((await t.store.getDevice(t.device.mac))!.auth.pap, '123456', 'no attempt was made');
    });

    it('a PAP dialled as the number never reaches the log (only emergency numbers are logged)', async () => {
      const t = track(await setup());
      const call = new FakeCall('123456', t.account);
      const handled = t.handler.handle(call);
      await waitFor(() => t.media.sessions.length === 1, 'the media session');
      call.emit('ended', 'remote-bye');
      await handled;
      assert.ok(t.logLines.length > 0, 'the call was logged');
      assert.ok(!t.logLines.join('\n').includes('123456'), 'the dialled PAP is not in the log');
    });

    it('refuses a third IVR call from one device while two are in progress (486), never an emergency call', async () => {
      const t = track(await setup());
      const calls = [new FakeCall('*89', t.account), new FakeCall('*89', t.account)];
      const handled = calls.map((c) => t.handler.handle(c));
      await waitFor(() => t.media.sessions.length === 2, 'two sessions');
      const third = new FakeCall('*89', t.account);
      await t.handler.handle(third);
      assert.equal(third.rejected, 486);
      const emergency = new FakeCall('112', t.account);
      await t.handler.handle(emergency);
      assert.ok(emergency.forwarded, 'the emergency call still goes through');
      for (const c of calls) c.emit('ended', 'remote-bye');
      await Promise.all(handled);
      const fourth = new FakeCall('*89', t.account);
      const h4 = t.handler.handle(fourth);
      await waitFor(() => t.media.sessions.length === 3, 'a new session once the others ended');
      fourth.emit('ended', 'remote-bye');
      await h4;
    });

    it('three wrong PINs lock the device out', async () => {
      const t = track(await setup());
      const call = new FakeCall('*89', t.account);
      const handled = t.handler.handle(call);
      await waitFor(() => t.media.sessions.length === 1, 'the media session');
      const session = t.media.sessions[0]!;
      for (let i = 1; i <= 3; i++) {
        session.press('000000#');
        await waitFor(() => session.plays.length === i + 1, `answer to wrong PIN ${i}`);
      }
      await handled;
      assert.deepEqual(session.plays.slice(1), [['de/wrong-pin', 'de/enter-pin'], ['de/wrong-pin', 'de/enter-pin'], ['de/locked-out']]);
      assert.equal((await t.store.getDevice(t.device.mac))!.auth.state, 'failed');
      assert.deepEqual(t.notifies, []);
    });

    it('blocked device: announces it and hangs up, no check-sync', async () => {
      const t = track(
        await setup({ device: { auth: { state: 'blocked', pap: '123456', failures: 3, lockouts: 3, lockedUntil: null, suspendedUntil: null } } }),
      );
      const call = new FakeCall('*89', t.account);
      await t.handler.handle(call);
      assert.deepEqual(t.media.sessions[0]!.plays, [['de/blocked']]);
      assert.equal(call.hangups, 1);
      assert.deepEqual(t.notifies, []);
    });

    it('store down: answers anyway, in English, says the service is unavailable and hangs up', async () => {
      const t = track(await setup());
      await t.store.close();
      const call = new FakeCall('*89', t.account);
      await t.handler.handle(call);
      assert.deepEqual(t.media.sessions[0]!.plays, [['en/service-unavailable']]);
      assert.equal(call.hangups, 1);
    });

    it('the phone hanging up mid-dialogue ends everything cleanly', async () => {
      const t = track(await setup());
      const call = new FakeCall('*89', t.account);
      const handled = t.handler.handle(call);
      await waitFor(() => t.media.sessions.length === 1, 'the media session');
      t.media.sessions[0]!.press('12');
      call.end('remote-bye');
      await handled;
      assert.equal(call.hangups, 0);
      assert.ok(t.media.sessions[0]!.closed);
    });

    it('a CANCEL while the session is being made: no answer, the session is closed', async () => {
      const t = track(await setup());
      let release!: () => void;
      t.media.gate = new Promise((r) => {
        release = r;
      });
      const call = new FakeCall('*89', t.account);
      const handled = t.handler.handle(call);
      await waitFor(() => t.media.requests === 1, 'the session request');
      call.end('remote-cancel');
      release();
      await handled;
      assert.equal(call.answered, null);
      assert.ok(t.media.sessions[0]!.closed);
    });

    it('hangs up at the maximum call time, and when the media goes silent', async () => {
      const t = track(await setup({ maxCallMs: 20 }));
      const call = new FakeCall('*89', t.account);
      await t.handler.handle(call);
      assert.equal(call.hangups, 1);
      const u = track(await setup());
      const silent = new FakeCall('*89', u.account);
      const handled = u.handler.handle(silent);
      await waitFor(() => u.media.sessions.length === 1, 'the media session');
      u.media.sessions[0]!.emit('inactive');
      await handled;
      assert.equal(silent.hangups, 1);
    });
  });
});

describe('emergencyTarget', () => {
  it('puts the number in the user part, keeping port and parameters', () => {
    assert.equal(emergencyTarget('sip:gw.example.net', '112'), 'sip:112@gw.example.net');
    assert.equal(emergencyTarget('sip:gw.example.net:5070;transport=tcp', '911'), 'sip:911@gw.example.net:5070;transport=tcp');
    assert.equal(emergencyTarget('SIPS:[2001:db8::1]:5061', '999'), 'sips:999@[2001:db8::1]:5061');
  });

  it('replaces a user part the gateway URI already has, and escapes #', () => {
    assert.equal(emergencyTarget('sip:emergency@192.0.2.1', '110'), 'sip:110@192.0.2.1');
    assert.equal(emergencyTarget('sip:192.0.2.1', '*112#'), 'sip:*112%23@192.0.2.1');
  });

  it('refuses what is not a SIP URI or not a number', () => {
    assert.throws(() => emergencyTarget('http://gw.example.net', '112'), /not a SIP URI/);
    assert.throws(() => emergencyTarget('sip:', '112'), /not a SIP URI/);
    assert.throws(() => emergencyTarget('sip:gw.example.net', '11 2'), /not a dialable number/);
    assert.throws(() => emergencyTarget('sip:gw.example.net', ''), /not a dialable number/);
  });
});
