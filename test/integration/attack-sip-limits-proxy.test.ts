import { strict as assert } from 'node:assert';
import { SourceLimits } from '../../src/app/source-limits';
import { FakeClock, startHarness, type Harness } from '../helpers/sip-embedded-harness';
import { RawPeer, header, sipRequest, statusOf } from '../helpers/sip-raw-peer';

/**
 * Behind papgate's own SIP proxy (a load balancer) every phone's requests
 * arrive from the proxy's one address. The per-source SIP limit must count
 * each phone (the hop below the proxy's Via), else one noisy phone, or just
 * a busy site, spends the budget of all of them. A packet from anywhere
 * else is counted by its own address, whatever its Vias claim. The clock
 * stands still, so nothing refills.
 */

const BURST = 3;

describe('attack: SIP limit behind a trusted proxy (embedded stack)', function () {
  this.timeout(20_000);
  let h: Harness;
  let proxy: RawPeer;
  let stranger: RawPeer;
  let seq = 0;

  before(async () => {
    const clock = new FakeClock();
    const limits = new SourceLimits(
      {
        sipRequestsPerSecond: 1,
        sipRequestsBurst: BURST,
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
    // The proxy is 127.0.0.1; the stranger sends from 127.0.0.2 (any 127/8 address is loopback).
    h = await startHarness({ port: 0, clock, limits, trustedProxies: ['127.0.0.1'] });
    proxy = await RawPeer.open();
    stranger = await RawPeer.open('127.0.0.2');
  });
  after(async () => {
    await h?.stop();
    await proxy?.close();
    await stranger?.close();
  });

  /** OPTIONS as relayed by the proxy for the phone at `phoneIp` (no phone Via: from the proxy itself). */
  const options = (from: RawPeer, phoneIp: string | null) => {
    const host = from === proxy ? '127.0.0.1' : '127.0.0.2';
    const callId = `opt-${++seq}`;
    const phoneVia = phoneIp ? [`Via: SIP/2.0/UDP ${phoneIp}:5060;branch=z9hG4bKphone${seq};rport=5060`] : [];
    from.send(
      sipRequest({
        method: 'OPTIONS',
        uri: `sip:127.0.0.1:${h.sig.port}`,
        callId,
        fromTag: 'o',
        cseq: 1,
        viaHost: `${host}:${from.port}`,
        extra: phoneVia,
      }),
      h.sig.port,
    );
    return from.take((m) => header(m, 'Call-ID') === callId, 3000, `the answer to ${callId}`).then(statusOf, () => 'no answer');
  };

  it('one phone over its budget is refused; another phone behind the same proxy is not', async () => {
    for (let i = 0; i < BURST; i++) assert.equal(await options(proxy, '198.51.100.1'), 200, `request ${i + 1} within the burst`);
    assert.equal(await options(proxy, '198.51.100.1'), 503, 'the noisy phone is over its budget');
    for (let i = 0; i < BURST; i++) assert.equal(await options(proxy, '198.51.100.2'), 200, 'a second phone has a budget of its own');
    assert.equal(await options(proxy, null), 200, "the proxy's own requests (OPTIONS probes) have their own budget");
  });

  it('a sender that is not a trusted proxy is counted by its own address, whatever Vias it adds', async () => {
    const answers = [];
    for (let i = 0; i < BURST + 1; i++) answers.push(await options(stranger, `203.0.113.${i + 1}`));
    assert.deepEqual(answers.slice(0, BURST), Array(BURST).fill(200));
    assert.equal(answers[BURST], 503, 'forged Vias do not buy it more budget');
  });
});
