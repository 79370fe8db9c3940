import assert from 'node:assert/strict';
import path from 'node:path';
import { CLI_ACTOR } from '../../src/app/actor';
import { papVars, SCENARIOS_DIR, wrongDigitFor } from '../helpers/dtmf-scenarios';
import { runPhone, sippPassed, startPapgateHarness, type PapgateHarness } from '../helpers/papgate-harness';
import { requireTool } from '../helpers/required-tools';
import { signatureValid, WebhookReceiver } from '../helpers/webhook-receiver';

/**
 * The whole server (startPapgate: its own dispatcher, settings from the
 * environment) with SIPp phones calling the IVR: a wrong PAP three times and
 * a right PAP reach a real receiver as device.failed and device.successful.
 */
/** SIPp answers papgate's check-sync NOTIFY after the success with this out-of-call scenario. */
const CHECK_SYNC_OOC = ['-oocsf', path.join(SCENARIOS_DIR, 'check-sync-notify.xml')];

describe('webhooks from real IVR calls (SIPp, embedded stack)', function () {
  this.timeout(90_000);
  let h: PapgateHarness;
  let receiver: WebhookReceiver;

  before(async function () {
    requireTool(this, 'sipp', 'the IVR is called by SIPp phones');
    receiver = await WebhookReceiver.start();
    h = await startPapgateHarness({ env: { PAPGATE_WEBHOOK_POLL_SECONDS: '0.05', PAPGATE_WEBHOOK_RETRY_SECONDS: '0.05' } });
  });
  after(async () => {
    await h?.stop();
    await receiver?.close();
  });

  it('sends device.failed after three wrong PAPs and device.successful after the right one, signed', async () => {
    const { secret } = await h.instance.services.webhooks.set(CLI_ACTOR, h.tenant, receiver.url);
    const locked = await h.addDevice();
    const good = await h.addDevice({ site: 'head-office' });
    sippPassed(h, await runPhone('wrong-pap-three-times.xml', locked, { vars: { wrong: wrongDigitFor(locked.pap!) } }));
    sippPassed(h, await runPhone('auth-success-sip-info.xml', good, { vars: papVars(good.pap!), extraArgs: CHECK_SYNC_OOC }));

    await receiver.waitFor(() => receiver.accepted().length >= 2, 30_000, 'two events');
    const bodies = receiver.accepted();
    assert.deepEqual(
      bodies.map((b) => [b.mac, b.state, b.event]).sort(),
      [
        [good.mac, 'successful', 'device.successful'],
        [locked.mac, 'failed', 'device.failed'],
      ].sort(),
    );
    assert.equal(bodies.find((b) => b.mac === good.mac)!.site, 'head-office');
    for (const r of receiver.received) {
      assert.ok(signatureValid(secret!, r.headers['x-papgate-signature'], r.body));
      for (const s of [locked.pap!, good.pap!, locked.sipPassword, good.sipPassword, secret!]) assert.ok(!r.body.includes(s));
    }
    assert.ok(!h.logTail(4000).includes(secret!), 'the secret is never logged');
  });
});
