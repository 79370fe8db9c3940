import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { DeviceView } from '../../src/app/device-view';
import type { Store } from '../../src/ports/store';
import { startPapgateHarness, PORTS, type PapgateHarness } from '../helpers/papgate-harness';
import { OFFER_SDP, RawPeer, authorization, header, nonceOf, sipRequest, statusOf } from '../helpers/sip-raw-peer';

// The emergency gateway is for devices. papgate in-process (SIP on 127.0.0.1:PORTS.sip,
// UDP) in front of a raw UDP "gateway" that records every INVITE; callers are raw
// UDP peers that forge whatever they like. The store sits behind a wrapper the
// test can make hang or fail, as a locked or broken database would.

type StoreMode = 'ok' | 'hang' | 'fail';

/** The store with every call answered, never answered, or failed, as `mode()` says now. */
function switchableStore(mode: () => StoreMode) {
  return (store: Store): Store =>
    new Proxy(store, {
      get(target, key) {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        const m = mode();
        if (m === 'ok' || key === 'close') return (value as (...a: unknown[]) => unknown).bind(target);
        return m === 'hang' ? () => new Promise<never>(() => undefined) : () => Promise.reject(new Error('store unavailable (test)'));
      },
    });
}

/** A response to a request we got, as the gateway sends it. */
function responseTo(rq: string, status: number, reason: string, toTag = 'gw1'): string {
  const h = (n: string) => header(rq, n) ?? '';
  const to = /;tag=/.test(h('To')) ? h('To') : `${h('To')};tag=${toTag}`;
  return [
    `SIP/2.0 ${status} ${reason}`,
    `Via: ${h('Via')}`,
    `From: ${h('From')}`,
    `To: ${to}`,
    `Call-ID: ${h('Call-ID')}`,
    `CSeq: ${h('CSeq')}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('emergency gate under attack (embedded stack, raw SIP)', function () {
  this.timeout(60_000);
  let h: PapgateHarness;
  let gateway: RawPeer;
  let mode: StoreMode = 'ok';
  let device: DeviceView;
  const peers: RawPeer[] = [];
  let seq = 0;

  before(async () => {
    gateway = await RawPeer.open();
    h = await startPapgateHarness({ gatewayPort: gateway.port, wrapStore: switchableStore(() => mode) });
    device = await h.addDevice({ site: 'head-office' });
  });
  after(async () => {
    mode = 'ok';
    await h?.stop();
    await gateway?.close();
  });
  afterEach(async () => {
    mode = 'ok';
    for (const p of peers.splice(0)) await p.close();
  });

  const peer = async () => {
    const p = await RawPeer.open();
    peers.push(p);
    return p;
  };

  /** Sends an INVITE to 112; returns its Call-ID. */
  function invite(p: RawPeer, o: { callId?: string; auth?: string; from?: string; extra?: string[]; cseq?: number } = {}): string {
    const callId = o.callId ?? `attack-${++seq}-${process.pid}`;
    p.send(
      sipRequest({
        method: 'INVITE',
        uri: 'sip:112@127.0.0.1',
        callId,
        fromTag: `t${seq}`,
        cseq: o.cseq ?? 1,
        from: o.from ?? `sip:${device.sipUsername}@127.0.0.1`,
        viaHost: `127.0.0.1:${p.port}`,
        contact: `sip:phone@127.0.0.1:${p.port}`,
        body: OFFER_SDP,
        extra: [...(o.auth ? [o.auth] : []), ...(o.extra ?? [])],
      }),
      PORTS.sip,
    );
    return callId;
  }

  /** The final response (>= 200) to an INVITE. */
  const finalFor = (p: RawPeer, callId: string) =>
    p.take((m) => (statusOf(m) ?? 0) >= 200 && header(m, 'Call-ID') === callId, 10_000, `a final response for ${callId}`);

  const seenAtGateway = new Set<string>();
  /** The next INVITE at the gateway of a call it has not seen yet (retransmissions are skipped). */
  async function newInviteAtGateway(): Promise<string> {
    const rq = await gateway.take((m) => m.startsWith('INVITE ') && !seenAtGateway.has(header(m, 'Call-ID') ?? ''), 10_000, 'a new INVITE');
    seenAtGateway.add(header(rq, 'Call-ID') ?? '');
    return rq;
  }

  /** A fresh nonce of papgate's, from a challenge to a plain INVITE. */
  async function freshNonce(p: RawPeer): Promise<string> {
    const callId = invite(p);
    const challenge = await finalFor(p, callId);
    assert.equal(statusOf(challenge), 401);
    return nonceOf(challenge);
  }

  const authFor = (nonce: string, o: { username?: string; password?: string } = {}) =>
    authorization({
      username: o.username ?? device.sipUsername,
      password: o.password ?? device.sipPassword,
      realm: h.config.sipRealm,
      nonce,
      uri: 'sip:112@127.0.0.1',
      method: 'INVITE',
    });

  it('challenges forged credentials (unknown user, wrong response, nonsense nonce) and forwards nothing of them', async () => {
    const p = await peer();
    const nonce = await freshNonce(p);
    const forged = [
      authFor(nonce, { username: 'nobody-we-know' }),
      authFor(nonce, { password: 'not-the-password' }),
      authFor('bm9uc2Vuc2Utbm9uY2U'),
      'Authorization: Digest username="admin", realm="x", nonce="1", uri="sip:112@127.0.0.1", response="0"',
    ];
    for (const auth of forged) {
      const r = await finalFor(p, invite(p, { auth }));
      assert.equal(statusOf(r), 401, `forged credentials got:\n${r}`);
      assert.match(header(r, 'WWW-Authenticate') ?? '', /^Digest /);
    }
    // The device's own call is the first INVITE the gateway ever sees.
    const nonce2 = await freshNonce(p);
    const callId = invite(p, { auth: authFor(nonce2), cseq: 2 });
    const atGateway = await newInviteAtGateway();
    assert.equal(header(atGateway, 'X-Papgate-Mac'), device.mac, "the first INVITE at the gateway is the device's");
    gateway.send(responseTo(atGateway, 486, 'Busy Here'), viaPort(atGateway));
    assert.equal(statusOf(await finalFor(p, callId)), 486);
  });

  it("forwards a device's call with its identity: MAC, tenant, site, and a From of its own account", async () => {
    const p = await peer();
    const nonce = await freshNonce(p);
    const callId = invite(p, {
      auth: authFor(nonce),
      from: '"Police" <sip:110@evil.example>',
      extra: ['P-Asserted-Identity: <sip:boss@evil.example>'],
    });
    const rq = await newInviteAtGateway();
    assert.equal(header(rq, 'X-Papgate-Mac'), device.mac);
    assert.equal(header(rq, 'X-Papgate-Tenant'), h.tenant);
    assert.equal(header(rq, 'X-Papgate-Site'), 'head-office');
    assert.equal(header(rq, 'X-Papgate-Source'), undefined);
    assert.match(header(rq, 'From') ?? '', new RegExp(`^<sip:${device.sipUsername}@127\\.0\\.0\\.1>`));
    assert.doesNotMatch(rq, /evil\.example|Police/);
    gateway.send(responseTo(rq, 486, 'Busy Here'), viaPort(rq));
    assert.equal(statusOf(await finalFor(p, callId)), 486);
  });

  for (const storeMode of ['hang', 'fail'] as const) {
    it(`with a store that ${storeMode === 'hang' ? 'does not answer' : 'fails'}: an unproven call goes through as papgate's "unverified", with its source; a third at once from the source gets 503`, async () => {
      mode = storeMode;
      const callers = [await peer(), await peer(), await peer()];
      const forgedIdentity = {
        from: '"Police HQ" <sip:110@evil.example>',
        extra: ['P-Asserted-Identity: "Boss" <sip:boss@evil.example>', 'X-Papgate-Mac: 001565ffffff', 'X-Papgate-Source: 10.9.9.9:1'],
        auth: authFor('Zm9yZ2Vk', { username: 'nobody' }),
      };
      const held: string[] = [];
      const latencies: number[] = [];
      const callIds: string[] = [];
      for (const c of callers.slice(0, 2)) {
        const sentAt = performance.now();
        callIds.push(invite(c, forgedIdentity));
        const rq = await newInviteAtGateway();
        latencies.push(performance.now() - sentAt);
        held.push(rq);
        gateway.send(responseTo(rq, 180, 'Ringing'), viaPort(rq));
        assert.equal(header(rq, 'X-Papgate-Source'), `127.0.0.1:${c.port}`);
        assert.match(header(rq, 'From') ?? '', /^<sip:unverified@127\.0\.0\.1>;tag=/);
        assert.equal(header(rq, 'P-Asserted-Identity'), undefined);
        assert.equal(header(rq, 'X-Papgate-Mac'), undefined, 'no device identity the caller chose');
        assert.doesNotMatch(rq, /evil\.example|Police|Boss|10\.9\.9\.9/);
      }
      const third = await finalFor(callers[2]!, invite(callers[2]!, forgedIdentity));
      assert.equal(statusOf(third), 503, 'a third unproven call from one source at once');
      // The gateway ends the two held calls; each caller hears it.
      for (const rq of held) gateway.send(responseTo(rq, 486, 'Busy Here'), viaPort(rq));
      for (const [i, c] of callers.slice(0, 2).entries()) assert.equal(statusOf(await finalFor(c, callIds[i]!)), 486);
      console.log(`      store ${storeMode}: INVITE to the gateway in ${latencies.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    });
  }
});

/** The port in the top Via of a request we got (where papgate wants our responses). */
function viaPort(rq: string): number {
  const sentBy = (header(rq, 'Via') ?? '').split(';')[0]!;
  return Number(/:(\d+)\s*$/.exec(sentBy)?.[1] ?? 5060);
}
