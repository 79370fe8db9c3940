import assert from 'node:assert/strict';
import { CLI_ACTOR } from '../../src/app/actor';
import type { DeviceView } from '../../src/app/device-view';
import type { Store } from '../../src/ports/store';
import { startPapgateHarness, PORTS, type PapgateHarness } from '../helpers/papgate-harness';
import { OFFER_SDP, RawPeer, authorization, header, nonceOf, sipRequest, statusOf, tagOf } from '../helpers/sip-raw-peer';

// Per-site emergency numbers on the embedded stack: papgate in-process in front
// of a raw UDP "gateway" that records every INVITE; phones are raw UDP peers.
// The Paris site adds 15 and 17; the head-office site adds nothing.

describe('emergency numbers of a site (embedded stack, raw SIP)', function () {
  this.timeout(60_000);
  let h: PapgateHarness;
  let gateway: RawPeer;
  let storeHangs = false;
  let paris: DeviceView;
  let headOffice: DeviceView;
  const peers: RawPeer[] = [];
  let seq = 0;

  before(async () => {
    gateway = await RawPeer.open();
    h = await startPapgateHarness({ gatewayPort: gateway.port, wrapStore: hangingWhen(() => storeHangs) });
    await h.instance.services.tenants.addSite(CLI_ACTOR, h.tenant, 'paris', 'fr', ['15', '17']);
    paris = await h.addDevice({ site: 'paris' });
    headOffice = await h.addDevice({ site: 'head-office' });
  });
  after(async () => {
    storeHangs = false;
    await h?.stop();
    await gateway?.close();
  });
  afterEach(async () => {
    storeHangs = false;
    for (const p of peers.splice(0)) await p.close();
    gateway.drain();
  });

  const peer = async () => {
    const p = await RawPeer.open();
    peers.push(p);
    return p;
  };

  function invite(p: RawPeer, number: string, d: DeviceView, o: { auth?: string; cseq?: number; callId?: string } = {}): string {
    const callId = o.callId ?? `site-em-${++seq}-${process.pid}`;
    p.send(
      sipRequest({
        method: 'INVITE',
        uri: `sip:${number}@127.0.0.1`,
        callId,
        fromTag: `t${callId}`,
        cseq: o.cseq ?? 1,
        from: `sip:${d.sipUsername}@127.0.0.1`,
        viaHost: `127.0.0.1:${p.port}`,
        contact: `sip:phone@127.0.0.1:${p.port}`,
        body: OFFER_SDP,
        extra: o.auth ? [o.auth] : [],
      }),
      PORTS.sip,
    );
    return callId;
  }

  const finalFor = (p: RawPeer, callId: string) =>
    p.take((m) => (statusOf(m) ?? 0) >= 200 && header(m, 'Call-ID') === callId, 10_000, `a final response for ${callId}`);

  /** Dials `number` as device `d` with its good credentials (after the challenge); returns the Call-ID. */
  async function provenCall(p: RawPeer, number: string, d: DeviceView): Promise<string> {
    const callId = `site-em-${++seq}-${process.pid}`;
    const challenge = await finalFor(p, invite(p, number, d, { callId }));
    assert.equal(statusOf(challenge), 401);
    const auth = authorization({
      username: d.sipUsername,
      password: d.sipPassword,
      realm: h.config.sipRealm,
      nonce: nonceOf(challenge),
      uri: `sip:${number}@127.0.0.1`,
      method: 'INVITE',
    });
    invite(p, number, d, { auth, cseq: 2, callId });
    return callId;
  }

  /** The gateway's INVITE, answered 486 so the call ends; the caller hears 486. */
  async function gatewayRefuses(p: RawPeer, callId: string): Promise<string> {
    const rq = await gateway.take((m) => m.startsWith('INVITE '), 10_000, 'an INVITE at the gateway');
    gateway.send(busy(rq), viaPort(rq));
    assert.equal(statusOf(await finalFor(p, callId)), 486);
    return rq;
  }

  it('relays a site number dialled by a proven device of that site to the gateway', async () => {
    const p = await peer();
    const callId = await provenCall(p, '17', paris);
    const rq = await gatewayRefuses(p, callId);
    assert.match(rq.split('\r\n')[0]!, /^INVITE sip:17@127\.0\.0\.1/);
    assert.equal(header(rq, 'X-Papgate-Mac'), paris.mac);
    assert.equal(header(rq, 'X-Papgate-Site'), 'paris');
    assert.equal(header(rq, 'Priority'), 'emergency');
  });

  it('still relays the global numbers for a device of a site with its own', async () => {
    const p = await peer();
    const rq = await gatewayRefuses(p, await provenCall(p, '112', paris));
    assert.match(rq.split('\r\n')[0]!, /^INVITE sip:112@127\.0\.0\.1/);
  });

  it('gives a device of another site dialling 17 the normal treatment (the IVR answers)', async () => {
    const p = await peer();
    const callId = await provenCall(p, '17', headOffice);
    const ok = await finalFor(p, callId);
    assert.equal(statusOf(ok), 200, `the IVR answers:\n${ok}`);
    assert.match(ok, /m=audio /);
    await hangUp(p, ok, callId);
    assert.deepEqual(
      gateway.drain().filter((m) => m.startsWith('INVITE ')),
      [],
      'nothing reached the gateway',
    );
  });

  it('gives an unproven caller only the global list: 17 is challenged, never relayed', async () => {
    const p = await peer();
    const r = await finalFor(p, invite(p, '17', paris));
    assert.equal(statusOf(r), 401);
    assert.deepEqual(
      gateway.drain().filter((m) => m.startsWith('INVITE ')),
      [],
    );
  });

  it('with a store that does not answer: an unproven 17 is challenged like any call, an unproven 112 is relayed', async () => {
    storeHangs = true;
    const p = await peer();
    const r = await finalFor(p, invite(p, '17', paris));
    assert.equal(statusOf(r), 401, `17 without credentials while the store hangs:\n${r}`);
    assert.deepEqual(
      gateway.drain().filter((m) => m.startsWith('INVITE ')),
      [],
    );
    const callId = invite(p, '112', paris);
    const rq = await gatewayRefuses(p, callId);
    assert.match(header(rq, 'From') ?? '', /^<sip:unverified@/);
  });

  async function hangUp(p: RawPeer, ok: string, callId: string): Promise<void> {
    const common = {
      uri: /<([^>]+)>/.exec(header(ok, 'Contact') ?? '')?.[1] ?? 'sip:17@127.0.0.1',
      callId,
      fromTag: `t${callId}`,
      to: 'sip:17@127.0.0.1',
      toTag: tagOf(header(ok, 'To')),
      viaHost: `127.0.0.1:${p.port}`,
    };
    const cseq = Number(/^(\d+)/.exec(header(ok, 'CSeq') ?? '1')?.[1]);
    p.send(sipRequest({ ...common, method: 'ACK', cseq }), PORTS.sip);
    p.send(sipRequest({ ...common, method: 'BYE', cseq: cseq + 1 }), PORTS.sip);
    await p.response(200, 'BYE', 10_000);
  }
});

/** The store with every call never answered while `hangs()` says so. */
function hangingWhen(hangs: () => boolean) {
  return (store: Store): Store =>
    new Proxy(store, {
      get(target, key) {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        if (!hangs() || key === 'close') return (value as (...a: unknown[]) => unknown).bind(target);
        return () => new Promise<never>(() => undefined);
      },
    });
}

function busy(rq: string): string {
  const h = (n: string) => header(rq, n) ?? '';
  return [
    'SIP/2.0 486 Busy Here',
    `Via: ${h('Via')}`,
    `From: ${h('From')}`,
    `To: ${h('To')};tag=gw1`,
    `Call-ID: ${h('Call-ID')}`,
    `CSeq: ${h('CSeq')}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function viaPort(rq: string): number {
  const sentBy = (header(rq, 'Via') ?? '').split(';')[0]!;
  return Number(/:(\d+)\s*$/.exec(sentBy)?.[1] ?? 5060);
}
