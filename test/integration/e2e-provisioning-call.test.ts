import assert from 'node:assert/strict';
import path from 'node:path';
import { CLI_ACTOR } from '../../src/app/actor';
import { papPcaps, SCENARIOS_DIR } from '../helpers/dtmf-scenarios';
import {
  earPort,
  PORTS,
  runPhone,
  shippedPromptExcerpt,
  sippPassed,
  startPapgateHarness,
  startRtpEar,
  type PapgateHarness,
  type RtpEar,
} from '../helpers/papgate-harness';
import { requireTool } from '../helpers/required-tools';

// The whole journey of one Yealink phone (sections 7 and 8 of docs/behaviour.md): the admin
// adds it; its first fetch gets the minimal configuration (papgate's SIP
// account, "Authentication needed", hot-line *89); the phone calls the
// hot-line with that account and types its PAP (RFC 4733) over the shipped
// voice prompts; papgate sends check-sync; the phone's next fetch from the same
// IP gets its real lines and a per-device URL with its identity secret.

/** `key = value` lines of a Yealink .cfg. */
function cfg(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(' = ');
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 3));
  }
  return m;
}

describe('e2e: provisioning, the *89 call with the PAP, then the full configuration', function () {
  this.timeout(60_000);
  let h: PapgateHarness;
  let ear: RtpEar;

  before(async function () {
    requireTool(this, 'sipp', 'the phone is a SIPp UAC');
    requireTool(this, 'sipp-dtmf-pcaps', "the PAP is replayed from SIPp's RFC 4733 captures");
    h = await startPapgateHarness({ prompts: 'shipped' });
    ear = await startRtpEar(earPort(PORTS.phone));
  });
  after(async () => {
    await ear?.close();
    await h?.stop();
  });

  it('minimal configuration, PAP call, check-sync, full configuration from the same IP', async () => {
    const added = await h.addDevice({ vendor: 'yealink', model: 'T46S', site: 'head-office' });
    await h.instance.services.devices.setLines(CLI_ACTOR, added.mac, [
      { server: 'sip.example.net:5062', user: '4711', authName: 'auth4711', password: 'Line-Secret-4711', displayName: 'Alice' },
    ]);
    const fetchConfig = async (urlPath: string) => {
      const res = await fetch(`${h.instance.provisioningUrl}${urlPath}`, { headers: { 'user-agent': `Yealink SIP-T46S 66.86.0.15 ${added.mac}` } });
      assert.equal(res.status, 200, `GET ${urlPath}`);
      return res.text();
    };

    // 1. The phone's first fetch: the minimal configuration.
    const minimalText = await fetchConfig(`/${added.mac}.cfg`);
    const minimal = cfg(minimalText);
    assert.equal(minimal.get('account.1.label'), 'Authentication needed');
    assert.equal(minimal.get('account.1.user_name'), added.sipUsername);
    assert.equal(minimal.get('account.1.password'), added.sipPassword);
    assert.equal(minimal.get('account.1.sip_server.1.address'), '127.0.0.1');
    assert.equal(minimal.get('account.1.sip_server.1.port'), String(PORTS.sip));
    assert.equal(minimal.get('features.hotline_number'), '*89');
    assert.ok(!minimalText.includes('Line-Secret-4711'), 'no real line in the minimal configuration');
    assert.equal((await h.device(added.mac)).lastProvisionedIp, '127.0.0.1');

    // 2. The phone calls the hot-line with the account it was given and types the PAP.
    const account = { sipUsername: minimal.get('account.1.user_name')!, sipPassword: minimal.get('account.1.password')! };
    const r = await runPhone('auth-success-rfc4733.xml', account, {
      files: papPcaps(added.pap!),
      vars: { dial: minimal.get('features.hotline_number')! },
      extraArgs: ['-oocsf', path.join(SCENARIOS_DIR, 'check-sync-notify.xml')],
    });
    sippPassed(h, r);
    assert.match(r.logs, new RegExp(`check-sync NOTIFY: event= ?check-sync to=<sip:${account.sipUsername}@`));
    const heard = ear.streams()[0];
    assert.ok(heard && heard.soundFrames > 50, `the voice prompts were played (${heard?.soundFrames} frames of sound)`);
    assert.ok(heard.audio.includes(shippedPromptExcerpt('en', 'enter-pin')), 'the phone heard prompts/en/enter-pin.wav');
    assert.ok(heard.audio.includes(shippedPromptExcerpt('en', 'success', 1000)), 'the phone heard prompts/en/success.wav');
    assert.equal((await h.device(added.mac)).state, 'successful');

    // 3. check-sync makes the phone fetch again, from the same IP: the full configuration.
    const fullText = await fetchConfig(`/${added.mac}.cfg`);
    const full = cfg(fullText);
    assert.equal(full.get('account.1.user_name'), '4711');
    assert.equal(full.get('account.1.auth_name'), 'auth4711');
    assert.equal(full.get('account.1.password'), 'Line-Secret-4711');
    assert.equal(full.get('account.1.sip_server.1.address'), 'sip.example.net');
    assert.equal(full.get('account.1.sip_server.1.port'), '5062');
    assert.equal(full.get('account.1.label'), 'Alice');
    assert.ok(!fullText.includes('Authentication needed'), 'no label of the minimal configuration');
    assert.ok(!fullText.includes(added.sipUsername), "no trace of papgate's own SIP account");
    const url = full.get('static.auto_provision.server.url') ?? '';
    const secret = /^http:\/\/127\.0\.0\.1:8080\/p\/([A-Za-z0-9_-]{20,})\/$/.exec(url)?.[1];
    assert.ok(secret, `per-device provisioning URL with the identity secret (${url})`);

    // 4. Later fetches through that URL keep getting the full configuration.
    const again = cfg(await fetchConfig(`/p/${secret}/${added.mac}.cfg`));
    assert.equal(again.get('account.1.user_name'), '4711');
    const view = await h.device(added.mac);
    assert.equal(view.state, 'successful');
    assert.equal(view.pap, null);
  });

  it('a phone at a site whose locale is German hears the German prompt', async () => {
    await h.instance.services.tenants.addSite(CLI_ACTOR, h.tenant, 'berlin', 'de');
    const d = await h.addDevice({ site: 'berlin' });
    const r = await runPhone('caller-hangs-up-mid-prompt.xml', d);
    sippPassed(h, r);
    const heard = ear.streams().at(-1)!;
    assert.ok(heard.audio.includes(shippedPromptExcerpt('de', 'enter-pin')), 'prompts/de/enter-pin.wav');
    assert.ok(!heard.audio.includes(shippedPromptExcerpt('en', 'enter-pin')), 'not the English one');
  });

  it("a phone at a site whose locale is French hears the French prompt, not the tenant's", async () => {
    await h.instance.services.tenants.addSite(CLI_ACTOR, h.tenant, 'paris', 'fr');
    const d = await h.addDevice({ site: 'paris' });
    const r = await runPhone('caller-hangs-up-mid-prompt.xml', d);
    sippPassed(h, r);
    const heard = ear.streams().at(-1)!;
    assert.ok(heard.audio.includes(shippedPromptExcerpt('fr', 'enter-pin')), 'prompts/fr/enter-pin.wav');
    for (const other of ['en', 'de', 'es', 'it', 'nl', 'pl'] as const) {
      assert.ok(!heard.audio.includes(shippedPromptExcerpt(other, 'enter-pin')), `not prompts/${other}/enter-pin.wav`);
    }
  });
});
