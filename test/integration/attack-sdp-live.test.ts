import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DeviceView } from '../../src/app/device-view';
import { PORTS, startPapgateHarness, type PapgateHarness } from '../helpers/papgate-harness';
import { FUZZ_SEED, fuzzedOffer } from '../helpers/fuzz-sdp';
import { RawPeer, authorization, header, nonceOf, sipRequest, statusOf, tagOf } from '../helpers/sip-raw-peer';

// Fuzzed SDP offers in real, authenticated INVITEs to papgate (in-process, SIP
// on 127.0.0.1:PORTS.sip/UDP): every one gets 200 (then ACK and BYE), 400 or 488,
// never a crash or silence; afterwards papgate still answers OPTIONS and a
// real REGISTER.

const OFFERS = 300;
const ALLOWED = new Set([200, 400, 488]);

describe('attack: fuzzed SDP offers over SIP (seeded)', function () {
  this.timeout(120_000);
  let h: PapgateHarness;
  let phone: RawPeer;
  let device: DeviceView;
  let nonce = '';
  let nc = 0;
  let n = 0;

  before(async () => {
    h = await startPapgateHarness({ env: { PAPGATE_MAX_CALLS_PER_DEVICE: '1000' } });
    device = await h.addDevice();
    phone = await RawPeer.open();
  });
  after(async () => {
    await phone?.close();
    await h?.stop();
  });

  interface Sent {
    callId: string;
    fromTag: string;
    branch: string;
    cseq: number;
    uri: string;
  }

  function send(method: string, o: { body?: string; auth?: boolean; uri?: string; sent?: Sent; toTag?: string; cseq?: number; branch?: string } = {}): Sent {
    const s: Sent = o.sent ?? { callId: `fuzz-${++n}-${process.pid}`, fromTag: `f${n}`, branch: '', cseq: 1, uri: o.uri ?? 'sip:*89@127.0.0.1' };
    const branch = o.branch ?? `z9hG4bK${Math.random().toString(36).slice(2)}`;
    const cseq = o.cseq ?? s.cseq;
    phone.send(
      sipRequest({
        method,
        uri: s.uri,
        callId: s.callId,
        fromTag: s.fromTag,
        cseq,
        branch,
        toTag: o.toTag,
        from: `sip:${device.sipUsername}@127.0.0.1`,
        to: method === 'REGISTER' ? `sip:${device.sipUsername}@127.0.0.1` : 'sip:*89@127.0.0.1',
        viaHost: `127.0.0.1:${phone.port}`,
        contact: `sip:${device.sipUsername}@127.0.0.1:${phone.port}`,
        body: o.body,
        contentType: 'application/sdp',
        extra: o.auth
          ? [
              authorization({
                username: device.sipUsername,
                password: device.sipPassword,
                realm: h.config.sipRealm,
                nonce,
                uri: s.uri,
                method,
                nc: ++nc,
              }),
            ]
          : [],
      }),
      PORTS.sip,
    );
    return { ...s, branch, cseq };
  }

  const final = (s: Sent, method: string) =>
    phone.take(
      (m) => (statusOf(m) ?? 0) >= 200 && header(m, 'Call-ID') === s.callId && header(m, 'CSeq') === `${s.cseq} ${method}`,
      15_000,
      `a final response to ${method} ${s.callId}`,
    );

  it(`answers ${OFFERS} fuzzed offers with 200, 400 or 488, and stays up`, async () => {
    const challenge = await final(send('INVITE'), 'INVITE');
    assert.equal(statusOf(challenge), 401);
    nonce = nonceOf(challenge);
    const tally: Record<number, number> = {};
    const offers = fc.sample(fuzzedOffer, { seed: FUZZ_SEED + 1, numRuns: OFFERS });
    for (const body of offers) {
      const inv = send('INVITE', { body, auth: true });
      const rs = await final(inv, 'INVITE');
      const status = statusOf(rs)!;
      tally[status] = (tally[status] ?? 0) + 1;
      assert.ok(ALLOWED.has(status), `offer ${JSON.stringify(body)} got:\n${rs}\n--- papgate log ---\n${h.logTail(20)}`);
      const toTag = tagOf(header(rs, 'To'));
      if (status !== 200) {
        send('ACK', { sent: inv, toTag, branch: inv.branch });
        continue;
      }
      send('ACK', { sent: inv, toTag });
      const bye = send('BYE', { sent: inv, toTag, cseq: inv.cseq + 1 });
      assert.equal(statusOf(await final(bye, 'BYE')), 200);
    }
    await h.mediaIdle(10_000);
    const options = send('OPTIONS', { uri: 'sip:127.0.0.1' });
    assert.equal(statusOf(await final(options, 'OPTIONS')), 200);
    const reg = send('REGISTER', { uri: 'sip:127.0.0.1', auth: true });
    assert.equal(statusOf(await final(reg, 'REGISTER')), 200, 'a real REGISTER after the batch');
    console.log(`      SDP over SIP (seed ${FUZZ_SEED + 1}): ${OFFERS} offers, answers ${JSON.stringify(tally)}, 0 crashes`);
  });
});
