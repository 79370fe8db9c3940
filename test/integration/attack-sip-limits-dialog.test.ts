import { strict as assert } from 'node:assert';
import { SourceLimits } from '../../src/app/source-limits';
import { ACCOUNTS, FakeClock, REALM, startHarness, type Harness } from '../helpers/sip-embedded-harness';
import { OFFER_SDP, RawPeer, authorization, header, nonceOf, sipRequest, statusOf, tagOf } from '../helpers/sip-raw-peer';
import { portLayout } from '../helpers/ports';

/**
 * The per-source SIP limit of the embedded stack counts new requests only: a
 * source over its budget still ends the call it has, and still reaches 112.
 * papgate's clock stands still, so nothing refills.
 */

let PORT = 0; // from portLayout() in the suite's first hook

describe('attack: SIP limit and calls in progress (embedded stack)', function () {
  before(async () => {
    ({ PORT } = await portLayout({ PORT: 0 }));
  });
  this.timeout(20_000);
  let h: Harness;
  let phone: RawPeer;

  before(async () => {
    const clock = new FakeClock();
    const limits = new SourceLimits(
      {
        sipRequestsPerSecond: 1,
        sipRequestsBurst: 4,
        ivrCallsPerMinutePerSource: 0,
        ivrCallsPerMinutePerDevice: 0,
        provisioning404PerMinute: 0,
        provisioning404Burst: 1,
        provisioningPerSecond: 0,
        provisioningBurst: 1,
        maxSources: 100,
        exempt: [],
      },
      clock,
    );
    h = await startHarness({ port: PORT, clock, limits });
    phone = await RawPeer.open();
  });
  after(async () => {
    await h?.stop();
    await phone?.close();
  });

  it('past the budget: new requests get 503 or nothing, but the BYE of the call in progress and an emergency INVITE go through', async () => {
    const via = `127.0.0.1:${phone.port}`;
    const uri = `sip:5000@127.0.0.1:${PORT}`;
    const base = { method: 'INVITE', uri, callId: 'dlg-1', fromTag: 'p1', viaHost: via, contact: `sip:dev1@${via}`, body: OFFER_SDP };
    phone.send(sipRequest({ ...base, cseq: 1, branch: 'z9hG4bKdlg1' }), PORT); // 1
    const challenge = await phone.response(401, 'INVITE');
    phone.send(
      sipRequest({ method: 'ACK', uri, callId: 'dlg-1', fromTag: 'p1', toTag: tagOf(header(challenge, 'To')), cseq: 1, viaHost: via, branch: 'z9hG4bKdlg1' }),
      PORT,
    );
    const auth = authorization({
      username: ACCOUNTS[0]!.username,
      password: ACCOUNTS[0]!.password,
      realm: REALM,
      nonce: nonceOf(challenge),
      uri,
      method: 'INVITE',
    });
    phone.send(sipRequest({ ...base, cseq: 2, extra: [auth] }), PORT); // 2
    const ok = await phone.response(200, 'INVITE');
    const toTag = tagOf(header(ok, 'To'));
    phone.send(sipRequest({ method: 'ACK', uri, callId: 'dlg-1', fromTag: 'p1', toTag, cseq: 2, viaHost: via }), PORT);

    const options = (n: number) => sipRequest({ method: 'OPTIONS', uri, callId: `opt-${n}`, fromTag: 'o', cseq: 1, viaHost: via });
    phone.send(options(1), PORT); // 3
    phone.send(options(2), PORT); // 4: the budget is spent
    await phone.take((m) => statusOf(m) === 200 && header(m, 'Call-ID') === 'opt-2');
    phone.send(options(3), PORT);
    const refused = await phone.take((m) => header(m, 'Call-ID') === 'opt-3');
    assert.equal(statusOf(refused), 503);
    assert.equal(header(refused, 'Retry-After'), '1');

    phone.send(sipRequest({ method: 'BYE', uri, callId: 'dlg-1', fromTag: 'p1', toTag, cseq: 3, viaHost: via }), PORT);
    await phone.response(200, 'BYE');
    assert.equal(await (await h.nthCall(1)).ended, 'remote-bye');

    phone.send(sipRequest({ ...base, uri: `sip:112@127.0.0.1:${PORT}`, callId: 'dlg-112', cseq: 1 }), PORT);
    const emergency = await phone.take((m) => header(m, 'Call-ID') === 'dlg-112' && (statusOf(m) ?? 0) >= 200);
    assert.equal(statusOf(emergency), 401, 'challenged as usual, not refused for its rate');
  });
});
