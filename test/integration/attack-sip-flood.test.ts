import { strict as assert } from 'node:assert';
import { PORTS, startPapgateHarness, type PapgateHarness } from '../helpers/papgate-harness';
import { RawPhone } from '../helpers/raw-sip-phone';
import { RawPeer, header, sipRequest, statusOf } from '../helpers/sip-raw-peer';

/**
 * Attacks on the per-source SIP limits, over real UDP on loopback against a
 * whole papgate: 127.0.0.1 is the attacker, 127.0.0.2 an honest phone.
 */

const FLOOD = Number(process.env.FLOOD ?? 3000);

async function rateLimited(h: PapgateHarness, limit: string, action: string): Promise<number> {
  const m = await h.instance.metrics.rateLimited.get();
  return m.values.find((v) => v.labels.limit === limit && v.labels.action === action)?.value ?? 0;
}

/** Collects what the peer receives until nothing more comes for `quietMs` (bounded by `maxMs`). */
async function collectUntilQuiet(peer: RawPeer, quietMs: number, maxMs: number): Promise<string[]> {
  const got: string[] = [];
  for (let waited = 0; waited < maxMs; waited += quietMs) {
    await new Promise((r) => setTimeout(r, quietMs));
    const fresh = peer.drain();
    if (fresh.length === 0 && got.length > 0) break;
    got.push(...fresh);
  }
  return got;
}

describe('attack: SIP request flood from one source', function () {
  this.timeout(120_000);
  let h: PapgateHarness;
  let attacker: RawPeer;
  let phone: RawPhone;

  before(async () => {
    h = await startPapgateHarness({
      gatewayPort: null,
      env: { PAPGATE_LIMIT_SIP_PER_SECOND: '50', PAPGATE_LIMIT_SIP_BURST: '100' },
    });
    attacker = await RawPeer.open('127.0.0.1');
    phone = await RawPhone.open('127.0.0.2', PORTS.sip, h.config.sipRealm);
  });

  after(async () => {
    await attacker?.close();
    await phone?.close();
    await h?.stop();
  });

  it('limits the flooding source (503 + Retry-After, then silence) while another phone registers and calls, and an emergency INVITE still gets through', async () => {
    const device = await h.addDevice();
    const via = `127.0.0.1:${attacker.port}`;
    for (let i = 0; i < FLOOD; i++) {
      // Paced in small batches: a loop of 3,000 datagrams at once would mostly be lost in the socket buffer.
      if (i % 40 === 39) await new Promise((r) => setTimeout(r, 5));
      const method = i % 2 === 0 ? 'OPTIONS' : 'REGISTER';
      attacker.send(
        sipRequest({
          method,
          uri: `sip:127.0.0.1:${PORTS.sip}`,
          callId: `flood-${i}`,
          fromTag: 'f',
          cseq: 1,
          viaHost: via,
          from: 'sip:nobody@127.0.0.1',
          to: 'sip:nobody@127.0.0.1',
          contact: `sip:nobody@${via}`,
        }),
        PORTS.sip,
      );
    }
    // Straight after the flood, with the source's budget spent: an emergency call is never refused for its rate.
    attacker.send(
      sipRequest({
        method: 'INVITE',
        uri: `sip:112@127.0.0.1:${PORTS.sip}`,
        callId: 'flood-emergency',
        fromTag: 'e',
        cseq: 1,
        viaHost: via,
        contact: `sip:nobody@${via}`,
        body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 15998 RTP/AVP 0\r\n',
      }),
      PORTS.sip,
    );

    // The honest phone on another address, during the flood's aftermath.
    assert.equal(await phone.register(device), 200, 'the other phone registers');
    assert.equal(await phone.call(device, h.config.hotline), 200, 'the other phone reaches the IVR');

    const replies = await collectUntilQuiet(attacker, 500, 20_000);
    const finals = replies.filter((m) => (statusOf(m) ?? 0) >= 200 && !(header(m, 'Call-ID') ?? '').includes('emergency'));
    const refused = finals.filter((m) => statusOf(m) === 503);
    const served = finals.filter((m) => statusOf(m) === 200 || statusOf(m) === 401);
    console.log(
      `      flood of ${FLOOD}: ${served.length} served, ${refused.length} got 503, ${FLOOD - finals.length} unanswered;` +
        ` limiter: ${await rateLimited(h, 'sip_requests', 'answered')} refused, ${await rateLimited(h, 'sip_requests', 'dropped')} dropped`,
    );
    assert.ok(refused.length > 0, 'some flood requests got 503');
    for (const r of refused) assert.match(header(r, 'Retry-After') ?? '', /^[1-9][0-9]*$/, 'every 503 says when to retry');
    assert.ok(served.length < FLOOD / 2, `most of the flood was not served (${served.length} of ${FLOOD})`);
    assert.ok(finals.length < FLOOD, 'far over the limit, papgate stays silent');
    assert.ok((await rateLimited(h, 'sip_requests', 'answered')) > 0);
    assert.ok((await rateLimited(h, 'sip_requests', 'dropped')) > 0, 'silence comes from the limiter, not only from lost datagrams');

    const emergency = replies.find((m) => header(m, 'Call-ID') === 'flood-emergency' && (statusOf(m) ?? 0) >= 200);
    assert.ok(emergency, 'the emergency INVITE was answered');
    assert.equal(statusOf(emergency), 401, 'the emergency INVITE was admitted as usual (challenged), not refused for its rate');
  });
});
