import assert from 'node:assert/strict';
import { ACCOUNTS, startHarness } from '../helpers/sip-embedded-harness';
import type { Harness } from '../helpers/sip-embedded-harness';
import { runSipp } from '../helpers/sipp';
import type { SippOptions, SippResult } from '../helpers/sipp';
import { requireTool } from '../helpers/required-tools';
import { portLayout } from '../helpers/ports';

// Real SIPp against a real EmbeddedSignalling on 127.0.0.1 (UDP and TCP, a
// free port); SIPp uses the next ports of the same block.
const dev1 = ACCOUNTS[0]!;

let PORT = 0,
  SIPP_PORT = 0; // from portLayout() in the suite's first hook

describe('embedded SIP stack against SIPp', function () {
  before(async () => {
    ({ PORT, SIPP_PORT } = await portLayout({ PORT: 0, SIPP_PORT: 10 }));
  });
  this.timeout(30_000);
  let h: Harness;

  before(function () {
    requireTool(this, 'sipp', 'the embedded SIP stack is driven by SIPp');
  });
  beforeEach(async () => {
    h = await startHarness({ port: PORT, tcp: true, minExpires: 60 });
  });
  afterEach(async () => {
    await h?.stop();
  });

  const sipp = (o: Partial<SippOptions> & { scenario: string }) => runSipp({ target: `127.0.0.1:${PORT}`, localPort: SIPP_PORT, timeoutSec: 10, ...o });
  const passed = (r: SippResult) => assert.equal(r.code, 0, `SIPp failed (${r.code}):\n${r.errors}\n${r.messages.slice(-3000)}`);
  const asDev1 = { auth: { username: dev1.username, password: dev1.password } };

  it('answers OPTIONS with 200, Allow and received/rport in the Via', async () => {
    const r = await sipp({ scenario: 'sip-options.xml' });
    passed(r);
    assert.match(r.logs, /allow=INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER/);
    assert.match(r.logs, new RegExp(`rport=rport=${SIPP_PORT}`));
  });

  it('answers OPTIONS over TCP too', async () => {
    passed(await sipp({ scenario: 'sip-options.xml', transport: 't1' }));
  });

  it('challenges REGISTER, binds it with the asked expiry, refuses one below Min-Expires with 423', async () => {
    const before = Date.now();
    const r = await sipp({ scenario: 'sip-register-digest.xml', ...asDev1, vars: { user: dev1.username } });
    passed(r);
    assert.match(r.logs, /min-expires=60/);
    const reg = await h.sig.registration(dev1.username);
    assert.ok(reg, 'the account is registered');
    assert.equal(reg.contact, `sip:${dev1.username}@127.0.0.1:${SIPP_PORT};transport=UDP`);
    assert.deepEqual(reg.source, { transport: 'udp', address: '127.0.0.1', port: SIPP_PORT });
    assert.equal(reg.userAgent, 'SIPp register test');
    assert.ok(reg.expiresAt >= before + 119_000 && reg.expiresAt <= Date.now() + 121_000, `expiresAt ${reg.expiresAt}`);
    assert.equal(await h.sig.registration(ACCOUNTS[1]!.username), undefined);
  });

  it('registers over TCP and remembers the TCP flow as the source', async () => {
    const r = await sipp({ scenario: 'sip-register-digest.xml', transport: 't1', ...asDev1, vars: { user: dev1.username } });
    passed(r);
    const reg = await h.sig.registration(dev1.username);
    assert.equal(reg?.source.transport, 'tcp');
    assert.equal(reg?.source.address, '127.0.0.1');
  });

  it('refuses REGISTER with a wrong password with 403 and binds nothing', async () => {
    const r = await sipp({
      scenario: 'sip-register-wrong-password-403.xml',
      auth: { username: dev1.username, password: 'not-the-password' },
      vars: { user: dev1.username },
    });
    passed(r);
    assert.equal(await h.sig.registration(dev1.username), undefined);
  });

  it('refuses a REGISTER for another account with 403 even with valid credentials', async () => {
    const r = await sipp({ scenario: 'sip-register-wrong-password-403.xml', ...asDev1, vars: { user: ACCOUNTS[1]!.username } });
    passed(r);
    assert.equal(await h.sig.registration(ACCOUNTS[1]!.username), undefined);
  });

  it('answers an unsupported method with 405 and Allow', async () => {
    const r = await sipp({ scenario: 'sip-unknown-method-405.xml' });
    passed(r);
    assert.match(r.logs, /allow=INVITE/);
  });

  it('answers BYE and INFO for an unknown dialog with 481', async () => {
    passed(await sipp({ scenario: 'sip-bye-unknown-dialog-481.xml' }));
  });

  it('refuses an INVITE without valid credentials (401, then 403 for a wrong password) and never calls the handler', async () => {
    const r = await sipp({
      scenario: 'sip-unauthenticated-invite-refused.xml',
      auth: { username: dev1.username, password: 'wrong' },
      vars: { user: dev1.username, dial: '5000' },
    });
    passed(r);
    assert.match(r.logs, /challenge=Digest realm="papgate.test", nonce=/);
    assert.equal(h.calls.length, 0);
  });

  it('ends a ringing call on CANCEL: 200 for the CANCEL, 487 for the INVITE, ended remote-cancel', async () => {
    const r = await sipp({ scenario: 'sip-cancel-before-answer.xml', ...asDev1, vars: { user: dev1.username, dial: '9001' } });
    passed(r);
    assert.match(r.logs, /200 for CANCEL/);
    assert.match(r.logs, /487 for INVITE/);
    const seen = await h.nthCall(1);
    assert.equal(seen.call.dialled, '9001');
    assert.equal(seen.call.account?.username, dev1.username);
    assert.equal(await seen.ended, 'remote-cancel');
  });

  it('delivers SIP INFO DTMF to the call handler and ends the call on BYE', async () => {
    const r = await sipp({ scenario: 'sip-info-dtmf.xml', ...asDev1, vars: { user: dev1.username, dial: '5000' } });
    passed(r);
    const seen = await h.nthCall(1);
    assert.deepEqual(seen.digits, ['1', '#', '5', '*']);
    assert.equal(await seen.ended, 'remote-bye');
    await seen.answered; // resolved by the ACK
    assert.match(seen.call.offerSdp ?? '', /m=audio \d+ RTP\/AVP 0 101/);
    assert.equal(seen.call.source.port, SIPP_PORT);
  });

  it('runs a whole call over TCP', async () => {
    const r = await sipp({ scenario: 'sip-info-dtmf.xml', transport: 't1', ...asDev1, vars: { user: dev1.username, dial: '5000' } });
    passed(r);
    const seen = await h.nthCall(1);
    assert.equal(seen.call.source.transport, 'tcp');
    assert.deepEqual(seen.digits, ['1', '#', '5', '*']);
    assert.equal(await seen.ended, 'remote-bye');
  });
});
