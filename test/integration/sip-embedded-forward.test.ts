import assert from 'node:assert/strict';
import { ACCOUNTS, REALM, startHarness } from '../helpers/sip-embedded-harness';
import type { Harness, SeenCall } from '../helpers/sip-embedded-harness';
import { OFFER_SDP, RawPeer, authorization, header, nonceOf, sipRequest, tagOf } from '../helpers/sip-raw-peer';
import { runSipp, startSippUas } from '../helpers/sipp';
import type { SippResult, SippUas } from '../helpers/sipp';
import { requireTool } from '../helpers/required-tools';
import { portLayout } from '../helpers/ports';

// Emergency pass-through: a SIPp UAC (the phone) calls 112 on papgate (127.0.0.1,
// PORT), which relays to a SIPp UAS acting as the emergency gateway (GATEWAY..+5).
// The caller SIPp uses CALLER..+5. Nothing listens on DEAD. The late-offer
// cases use a papgate, gateway and caller of their own (LATE). All ports are
// one free block (portLayout).
const dev1 = ACCOUNTS[0]!;
const EXTRA = { Priority: 'emergency', 'X-Papgate-Device': dev1.mac };

/** When SIPp first traced a message (-trace_msg) whose start line matches, in ms since midnight. */
function traceTime(trace: string, startLine: RegExp): number {
  for (const entry of trace.split(/^-{10,} /m)) {
    const [stamp, , , line] = entry.split(/\r?\n/);
    const t = /(\d\d):(\d\d):(\d\d(?:\.\d+)?)$/.exec(stamp ?? '');
    if (t && startLine.test(line ?? '')) return ((Number(t[1]) * 60 + Number(t[2])) * 60 + Number(t[3])) * 1000;
  }
  throw new Error(`no ${startLine} in the SIPp trace:\n${trace.slice(-3000)}`);
}

let PORT = 0,
  GATEWAY = 0,
  CALLER = 0,
  DEAD = 0; // from portLayout() in the suite's first hook
const LATE = { port: 0, gateway: 0, caller: 0 };

describe('embedded SIP stack: emergency pass-through', function () {
  before(async () => {
    ({ PORT, GATEWAY, CALLER, DEAD } = await portLayout({ PORT: 0, GATEWAY: 10, CALLER: 20, DEAD: 99 }));
    Object.assign(LATE, await portLayout({ port: 0, gateway: 10, caller: 20 }));
  });
  this.timeout(30_000);
  let h: Harness;
  let gateway: SippUas | undefined;
  const forwards: Array<Promise<void>> = [];

  before(function () {
    requireTool(this, 'sipp', 'the phone and the emergency gateway are SIPp');
  });
  const start = async (gatewayUri: string, o: { forwardNoResponseMs?: number; port?: number; t1Ms?: number } = {}) => {
    forwards.length = 0;
    h = await startHarness({
      port: o.port ?? PORT,
      forwardNoResponseMs: o.forwardNoResponseMs,
      t1Ms: o.t1Ms,
      onCall: (seen: SeenCall) => {
        forwards.push(seen.call.forward(gatewayUri, EXTRA, { kind: 'device', username: dev1.username }));
      },
    });
  };
  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
    await h?.stop();
  });

  const passed = (who: string, r: SippResult) => assert.equal(r.code, 0, `${who} SIPp failed (${r.code}):\n${r.errors}\n${r.messages.slice(-4000)}`);
  const caller = (scenario: string, port = PORT, localPort = CALLER) =>
    runSipp({
      scenario,
      target: `127.0.0.1:${port}`,
      localPort,
      timeoutSec: 10,
      auth: { username: dev1.username, password: dev1.password },
      vars: { user: dev1.username, dial: '112' },
    });

  it("relays the INVITE with the extra headers and SDP, the answer back, and the caller's BYE to the gateway", async () => {
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

  it("late offer (INVITE without SDP): holds the gateway's ACK and sends it with the answer from the caller's ACK", async () => {
    await start(`sip:112@127.0.0.1:${LATE.gateway}`, { port: LATE.port });
    gateway = await startSippUas({ scenario: 'sip-gateway-uas-late-offer.xml', localPort: LATE.gateway, timeoutSec: 10 });
    passed('caller', await caller('sip-emergency-caller-late-offer.xml', LATE.port, LATE.caller));
    const gw = await gateway.done;
    passed('gateway', gw);
    assert.match(gw.logs, /gateway got answer o=phone-late-answer 4242 4242 IN IP type= ?application\/sdp/);
    await forwards[0];
    assert.equal(await (await h.nthCall(1)).ended, 'remote-bye');
  });

  it('late offer: when the caller never ACKs, ACKs the gateway without a body, BYEs it and ends the call', async () => {
    await start(`sip:112@127.0.0.1:${LATE.gateway}`, { port: LATE.port, t1Ms: 40 }); // 64*T1 = 2.56 s
    gateway = await startSippUas({ scenario: 'sip-gateway-uas-late-offer-no-ack.xml', localPort: LATE.gateway, timeoutSec: 10 });
    const phone = await RawPeer.open();
    try {
      const callId = `late-no-ack-${process.pid}`;
      const uri = `sip:112@127.0.0.1:${LATE.port}`;
      const invite = (cseq: number, extra: string[] = [], branch?: string) =>
        sipRequest({
          method: 'INVITE',
          uri,
          callId,
          fromTag: 'l1',
          cseq,
          viaHost: `127.0.0.1:${phone.port}`,
          branch,
          contact: `sip:dev1@127.0.0.1:${phone.port}`,
          extra,
        });
      phone.send(invite(1, [], 'z9hG4bKlate1'), LATE.port);
      const challenge = await phone.response(401, 'INVITE');
      phone.send(
        sipRequest({
          method: 'ACK',
          uri,
          callId,
          fromTag: 'l1',
          toTag: tagOf(header(challenge, 'To')),
          cseq: 1,
          viaHost: `127.0.0.1:${phone.port}`,
          branch: 'z9hG4bKlate1',
        }),
        LATE.port,
      );
      phone.send(
        invite(2, [authorization({ username: dev1.username, password: dev1.password, realm: REALM, nonce: nonceOf(challenge), uri, method: 'INVITE' })]),
        LATE.port,
      );
      assert.match(await phone.response(200, 'INVITE', 5000), /o=gateway-late-offer /);
      // no ACK: papgate gives up after 64*T1 and hangs up on us
      const bye = await phone.request('BYE', 8000);
      phone.send(
        ['SIP/2.0 200 OK', ...['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((n) => `${n}: ${header(bye, n)}`), 'Content-Length: 0', '', ''].join('\r\n'),
        LATE.port,
      );
      const gw = await gateway.done;
      passed('gateway', gw);
      const held = (traceTime(gw.messages, /^ACK /) - traceTime(gw.messages, /^SIP\/2\.0 200 OK/) + 86_400_000) % 86_400_000;
      assert.ok(held > 2000, `the gateway's ACK waited ${Math.round(held)} ms, not the 2.56 s until papgate gives up on the caller`);
      assert.equal(await (await h.nthCall(1)).ended, 'timeout');
    } finally {
      await phone.close();
    }
  });

  it("relays the gateway's BYE to the caller", async () => {
    await start(`sip:112@127.0.0.1:${GATEWAY}`);
    gateway = await startSippUas({ scenario: 'sip-gateway-uas-hangs-up.xml', localPort: GATEWAY, timeoutSec: 10 });
    passed('caller', await caller('sip-emergency-caller-remote-bye.xml'));
    passed('gateway', await gateway.done);
    await forwards[0];
    assert.equal(await (await h.nthCall(1)).ended, 'remote-bye');
  });

  it("relays the ringing and the caller's CANCEL to the gateway", async () => {
    await start(`sip:112@127.0.0.1:${GATEWAY}`);
    gateway = await startSippUas({ scenario: 'sip-gateway-uas-cancelled.xml', localPort: GATEWAY, timeoutSec: 10 });
    passed('caller', await caller('sip-emergency-caller-cancels.xml'));
    passed('gateway', await gateway.done);
    await forwards[0];
    assert.equal(await (await h.nthCall(1)).ended, 'remote-cancel');
  });

  it('answers 503 when the gateway does not respond', async () => {
    await start(`sip:112@127.0.0.1:${DEAD}`, { forwardNoResponseMs: 400 });
    const phone = await RawPeer.open();
    try {
      const callId = `dead-gw-${process.pid}`;
      const uri = `sip:112@127.0.0.1:${PORT}`;
      const invite = (cseq: number, extra: string[] = [], branch?: string) =>
        sipRequest({
          method: 'INVITE',
          uri,
          callId,
          fromTag: 'e1',
          cseq,
          viaHost: `127.0.0.1:${phone.port}`,
          branch,
          contact: `sip:dev1@127.0.0.1:${phone.port}`,
          body: OFFER_SDP,
          extra,
        });
      phone.send(invite(1, [], 'z9hG4bKdead1'), PORT);
      const challenge = await phone.response(401, 'INVITE');
      phone.send(
        sipRequest({
          method: 'ACK',
          uri,
          callId,
          fromTag: 'e1',
          toTag: tagOf(header(challenge, 'To')),
          cseq: 1,
          viaHost: `127.0.0.1:${phone.port}`,
          branch: 'z9hG4bKdead1',
        }),
        PORT,
      );
      phone.send(
        invite(2, [authorization({ username: dev1.username, password: dev1.password, realm: REALM, nonce: nonceOf(challenge), uri, method: 'INVITE' })]),
        PORT,
      );
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
        seen.call.forward(`sip:112@127.0.0.1:${DEAD}`, { 'X-Evil': 'a\r\nVia: injected' }, { kind: 'unverified' }).catch((e: Error) => {
          refusals.push(e);
          seen.call.reject(500);
        });
      },
    });
    const r = await runSipp({
      scenario: 'sip-unauthenticated-invite-refused.xml',
      target: `127.0.0.1:${PORT}`,
      localPort: CALLER,
      timeoutSec: 5,
      auth: { username: dev1.username, password: dev1.password },
      vars: { user: dev1.username, dial: '112' },
    });
    assert.notEqual(r.code, 0, "the scenario expects 403 but gets the handler's 500");
    assert.match(r.messages, /SIP\/2.0 500/);
    assert.equal(refusals.length, 1);
    assert.match(refusals[0]!.message, /line breaks/);
  });
});
