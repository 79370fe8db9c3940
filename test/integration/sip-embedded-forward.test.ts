import assert from 'node:assert/strict';
import { ACCOUNTS, REALM, startHarness } from '../helpers/sip-embedded-harness';
import type { Harness, SeenCall } from '../helpers/sip-embedded-harness';
import { OFFER_SDP, RawPeer, authorization, header, nonceOf, sipRequest, tagOf } from '../helpers/sip-raw-peer';
import { runSipp, sippAvailable, startSippUas } from '../helpers/sipp';
import type { SippResult, SippUas } from '../helpers/sipp';

// Emergency pass-through: a SIPp UAC (the phone) calls 112 on papgate (127.0.0.1:15200),
// which relays to a SIPp UAS acting as the emergency gateway (15210-15215).
// The caller SIPp uses 15220-15225. Nothing listens on 15299.
const PORT = 15200;
const GATEWAY = 15210;
const CALLER = 15220;
const DEAD = 15299;
const dev1 = ACCOUNTS[0]!;
const EXTRA = { Priority: 'emergency', 'X-Papgate-Device': dev1.mac };

describe('embedded SIP stack: emergency pass-through', function () {
  this.timeout(30_000);
  let h: Harness;
  let gateway: SippUas | undefined;
  const forwards: Array<Promise<void>> = [];

  before(function () {
    if (!sippAvailable()) this.skip();
  });
  const start = async (gatewayUri: string, forwardNoResponseMs?: number) => {
    forwards.length = 0;
    h = await startHarness({
      port: PORT, forwardNoResponseMs,
      onCall: (seen: SeenCall) => { forwards.push(seen.call.forward(gatewayUri, EXTRA)); },
    });
  };
  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
    await h?.stop();
  });

  const passed = (who: string, r: SippResult) =>
    assert.equal(r.code, 0, `${who} SIPp failed (${r.code}):\n${r.errors}\n${r.messages.slice(-4000)}`);
  const caller = (scenario: string) => runSipp({
    scenario, target: `127.0.0.1:${PORT}`, localPort: CALLER, timeoutSec: 10,
    auth: { username: dev1.username, password: dev1.password }, vars: { user: dev1.username, dial: '112' },
  });

  it('relays the INVITE with the extra headers and SDP, the answer back, and the caller\'s BYE to the gateway', async () => {
    await start(`sip:112@127.0.0.1:${GATEWAY}`);
    gateway = await startSippUas({ scenario: 'sip-gateway-uas.xml', localPort: GATEWAY, timeoutSec: 10 });
    passed('caller', await caller('sip-emergency-caller.xml'));
    const gw = await gateway.done;
    passed('gateway', gw);
    assert.match(gw.logs, new RegExp(`gateway got INVITE sip:112@127.0.0.1:${GATEWAY} SIP/2.0 priority=emergency device=${dev1.mac}`));
    const seen = await h.nthCall(1);
    assert.equal(seen.call.dialled, '112');
    await forwards[0];
    assert.equal(await seen.ended, 'remote-bye');
  });

  it('relays the gateway\'s BYE to the caller', async () => {
    await start(`sip:112@127.0.0.1:${GATEWAY}`);
    gateway = await startSippUas({ scenario: 'sip-gateway-uas-hangs-up.xml', localPort: GATEWAY, timeoutSec: 10 });
    passed('caller', await caller('sip-emergency-caller-remote-bye.xml'));
    passed('gateway', await gateway.done);
    await forwards[0];
    assert.equal(await (await h.nthCall(1)).ended, 'remote-bye');
  });

  it('relays the ringing and the caller\'s CANCEL to the gateway', async () => {
    await start(`sip:112@127.0.0.1:${GATEWAY}`);
    gateway = await startSippUas({ scenario: 'sip-gateway-uas-cancelled.xml', localPort: GATEWAY, timeoutSec: 10 });
    passed('caller', await caller('sip-emergency-caller-cancels.xml'));
    passed('gateway', await gateway.done);
    await forwards[0];
    assert.equal(await (await h.nthCall(1)).ended, 'remote-cancel');
  });

  it('answers 503 when the gateway does not respond', async () => {
    await start(`sip:112@127.0.0.1:${DEAD}`, 400);
    const phone = await RawPeer.open();
    try {
      const callId = `dead-gw-${process.pid}`;
      const uri = `sip:112@127.0.0.1:${PORT}`;
      const invite = (cseq: number, extra: string[] = [], branch?: string) => sipRequest({
        method: 'INVITE', uri, callId, fromTag: 'e1', cseq, viaHost: `127.0.0.1:${phone.port}`, branch,
        contact: `sip:dev1@127.0.0.1:${phone.port}`, body: OFFER_SDP, extra,
      });
      phone.send(invite(1, [], 'z9hG4bKdead1'), PORT);
      const challenge = await phone.response(401, 'INVITE');
      phone.send(sipRequest({ method: 'ACK', uri, callId, fromTag: 'e1', toTag: tagOf(header(challenge, 'To')), cseq: 1, viaHost: `127.0.0.1:${phone.port}`, branch: 'z9hG4bKdead1' }), PORT);
      phone.send(invite(2, [authorization({ username: dev1.username, password: dev1.password, realm: REALM, nonce: nonceOf(challenge), uri, method: 'INVITE' })]), PORT);
      const refused = await phone.response(503, 'INVITE', 5000);
      assert.ok(tagOf(header(refused, 'To')), 'the final response carries a To tag');
      await forwards[0];
      assert.equal(await (await h.nthCall(1)).ended, 'error');
    } finally {
      await phone.close();
    }
  });

  it('refuses extra headers that would break the message', async () => {
    const refusals: Error[] = [];
    h = await startHarness({
      port: PORT,
      onCall: (seen) => {
        seen.call.forward(`sip:112@127.0.0.1:${DEAD}`, { 'X-Evil': 'a\r\nVia: injected' }).catch((e: Error) => {
          refusals.push(e);
          seen.call.reject(500);
        });
      },
    });
    const r = await runSipp({
      scenario: 'sip-unauthenticated-invite-refused.xml', target: `127.0.0.1:${PORT}`, localPort: CALLER, timeoutSec: 5,
      auth: { username: dev1.username, password: dev1.password }, vars: { user: dev1.username, dial: '112' },
    });
    assert.notEqual(r.code, 0, 'the scenario expects 403 but gets the handler\'s 500');
    assert.match(r.messages, /SIP\/2.0 500/);
    assert.equal(refusals.length, 1);
    assert.match(refusals[0]!.message, /line breaks/);
  });
});
