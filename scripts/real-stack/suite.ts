import path from 'node:path';
import { CLI_ACTOR } from '../../src/app/actor';
import type { DeviceView } from '../../src/app/device-view';
import { papPcaps, papVars, SCENARIOS_DIR, soxAvailable, wrongDigitFor, writeInbandDtmf } from '../../test/helpers/dtmf-scenarios';
import { block, lockOut, PORTS, runPhone, sleep, type PapgateHarness, type PhoneOptions } from '../../test/helpers/papgate-harness';
import { baresipMissing, startBaresip } from '../../test/helpers/softphone';
import { runSipp, startSippUas, type SippResult } from '../../test/helpers/sipp';

/**
 * The scenario suite both stacks run: every papgate-level SIPp scenario (the
 * phone against papgate's SIP address, the emergency gateway as a SIPp UAS),
 * the SIP-layer ones that hold on both stacks, and the baresip interop call.
 * Each case gets fresh devices; a case throws when it failed.
 */

export interface SuiteCase {
  name: string;
  run(h: PapgateHarness): Promise<void>;
}

const CHECK_SYNC_OOC = ['-oocsf', path.join(SCENARIOS_DIR, 'check-sync-notify.xml')];

function passed(r: SippResult, who = 'phone'): void {
  if (r.code === 0) return;
  throw new Error(`${who} failed (exit ${r.code}): ${r.errors.slice(-1500)}\n--- last messages ---\n${r.messages.slice(-2500)}`);
}

const phone = async (scenario: string, d: DeviceView, o: PhoneOptions = {}) => passed(await runPhone(scenario, d, o));

const atSite = (h: PapgateHarness) => h.addDevice({ site: 'head-office' });

/** The emergency call `caller` with the gateway scenario `gateway` answering at PORTS.gateway. */
async function emergency(h: PapgateHarness, caller: string, gateway: string, d: DeviceView, dial = '112'): Promise<void> {
  const gw = await startSippUas({ scenario: gateway, localPort: PORTS.gateway, timeoutSec: 30 });
  try {
    passed(await runPhone(caller, d, { vars: { dial } }));
    passed(await gw.done, 'gateway');
  } finally {
    await gw.stop();
  }
}

/** SIP-layer scenarios aimed at papgate's SIP address without a device's defaults. */
const sip = (o: Omit<Parameters<typeof runSipp>[0], 'target'>) => runSipp({ localPort: PORTS.phone, timeoutSec: 20, ...o, target: `127.0.0.1:${PORTS.sip}` });

export const SUITE: SuiteCase[] = [
  { name: 'sip-options.xml', run: async () => passed(await sip({ scenario: 'sip-options.xml' })) },
  {
    name: 'sip-register-digest.xml',
    run: async (h) => {
      const d = await h.addDevice();
      passed(await sip({ scenario: 'sip-register-digest.xml', auth: { username: d.sipUsername, password: d.sipPassword }, vars: { user: d.sipUsername } }));
    },
  },
  {
    name: 'sip-register-wrong-password-403.xml',
    run: async (h) => {
      const [a, b] = [await h.addDevice(), await h.addDevice()];
      passed(
        await sip({
          scenario: 'sip-register-wrong-password-403.xml',
          auth: { username: a.sipUsername, password: a.sipPassword },
          vars: { user: b.sipUsername },
        }),
      );
    },
  },
  { name: 'sip-unknown-method-405.xml', run: async () => passed(await sip({ scenario: 'sip-unknown-method-405.xml' })) },
  { name: 'sip-bye-unknown-dialog-481.xml', run: async () => passed(await sip({ scenario: 'sip-bye-unknown-dialog-481.xml' })) },
  {
    name: 'unauthenticated-caller-refused.xml',
    run: async (h) => {
      const d = await h.addDevice();
      await phone('unauthenticated-caller-refused.xml', d, { password: `${d.sipPassword}x` });
    },
  },
  {
    name: 'auth-success-rfc4733.xml',
    run: async (h) => {
      const d = await h.addDevice();
      await phone('auth-success-rfc4733.xml', d, { files: papPcaps(d.pap!), extraArgs: CHECK_SYNC_OOC });
      await expectState(h, d, 'successful');
    },
  },
  {
    name: 'auth-success-sip-info.xml',
    run: async (h) => {
      const d = await h.addDevice();
      await phone('auth-success-sip-info.xml', d, { vars: papVars(d.pap!), extraArgs: CHECK_SYNC_OOC });
      await expectState(h, d, 'successful');
    },
  },
  {
    name: 'auth-success-inband.xml',
    run: async (h) => {
      if (!soxAvailable()) throw new Error('sox is not installed');
      const d = await h.addDevice();
      const removeTones = writeInbandDtmf(`${d.pap!}#`);
      await phone('auth-success-inband.xml', d, { extraArgs: CHECK_SYNC_OOC }).finally(removeTones);
      await expectState(h, d, 'successful');
    },
  },
  {
    name: 'empty-entry-and-star-then-success.xml',
    run: async (h) => {
      const d = await h.addDevice();
      await phone('empty-entry-and-star-then-success.xml', d, { vars: papVars(d.pap!), extraArgs: CHECK_SYNC_OOC });
      await expectState(h, d, 'successful');
    },
  },
  {
    name: 'wrong-pap-three-times.xml',
    run: async (h) => {
      const d = await h.addDevice();
      await phone('wrong-pap-three-times.xml', d, { vars: { wrong: wrongDigitFor(d.pap!) } });
      await expectState(h, d, 'failed');
    },
  },
  {
    name: 'call-in-failed-state.xml',
    run: async (h) => {
      const d = await h.addDevice();
      await lockOut(h, d);
      await phone('call-in-failed-state.xml', d, { vars: papVars(d.pap!) });
    },
  },
  {
    name: 'call-in-blocked-state.xml',
    run: async (h) => {
      const d = await h.addDevice();
      await block(h, d);
      await phone('call-in-blocked-state.xml', d, { vars: papVars(d.pap!) });
    },
  },
  {
    name: 'call-in-successful-state-resyncs.xml',
    run: async (h) => {
      const d = await h.addDevice();
      await h.instance.services.authentication.attempt(d.mac, d.pap!, '127.0.0.1');
      await phone('call-in-successful-state-resyncs.xml', d, { extraArgs: CHECK_SYNC_OOC });
    },
  },
  {
    name: 'parallel-guesses.xml',
    run: async (h) => {
      const d = await h.addDevice();
      const calls = 4;
      await phone('parallel-guesses.xml', d, {
        vars: { wrong: wrongDigitFor(d.pap!) },
        calls,
        rate: 100,
        extraArgs: ['-l', String(calls), '-rp', '1000'],
      });
    },
  },
  { name: 'caller-hangs-up-mid-prompt.xml', run: async (h) => phone('caller-hangs-up-mid-prompt.xml', await h.addDevice()) },
  { name: 'no-common-codec-488.xml', run: async (h) => phone('no-common-codec-488.xml', await h.addDevice()) },
  { name: 'no-input-goodbye.xml', run: async (h) => phone('no-input-goodbye.xml', await h.addDevice(), { timeoutSec: 90 }) },
  { name: 'emergency-passthrough.xml', run: async (h) => emergency(h, 'emergency-passthrough.xml', 'emergency-gateway-uas.xml', await atSite(h)) },
  {
    name: 'emergency-passthrough.xml (blocked device)',
    run: async (h) => {
      const d = await atSite(h);
      await block(h, d);
      await emergency(h, 'emergency-passthrough.xml', 'emergency-gateway-uas.xml', d, '110');
    },
  },
  { name: 'cancel-before-answer.xml', run: async (h) => emergency(h, 'cancel-before-answer.xml', 'emergency-gateway-rings.xml', await atSite(h), '911') },
  {
    name: 'sip-emergency-caller-remote-bye.xml',
    run: async (h) => emergency(h, 'sip-emergency-caller-remote-bye.xml', 'emergency-gateway-hangs-up.xml', await atSite(h)),
  },
  { name: 'baresip interop (RFC 4733 PAP, check-sync)', run: baresipInterop },
];

async function expectState(h: PapgateHarness, d: DeviceView, state: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const now = (await h.instance.services.devices.show(CLI_ACTOR, d.mac)).state;
    if (now === state) return;
    await sleep(100);
  }
  throw new Error(`device ${d.mac} is not ${state}`);
}

/** baresip registers, dials *89, types PAP + # (RFC 4733); papgate hangs up and sends check-sync. */
async function baresipInterop(h: PapgateHarness): Promise<void> {
  const missing = baresipMissing();
  if (missing) throw new Error(missing);
  const d = await h.addDevice();
  const p = await startBaresip({ username: d.sipUsername, password: d.sipPassword, registrar: `127.0.0.1:${PORTS.sip}`, basePort: 18510 });
  try {
    await p.waitSip((m) => m.direction === 'in' && m.status === 200 && /REGISTER/.test(m.headers.cseq ?? ''), '200 to the REGISTER');
    const callId = await p.dial('*89');
    await p.waitEvent('CALL_RTPESTAB', (e) => e.id === callId, 15_000);
    await p.sendDigits(`${d.pap}#`);
    await p.waitEvent('CALL_CLOSED', (e) => e.id === callId, 20_000);
    await p.waitSip((m) => m.headers['call-id'] === callId && m.direction === 'in' && m.method === 'BYE', 'BYE from papgate');
    const notify = await p.waitSip((m) => m.direction === 'in' && m.method === 'NOTIFY', 'check-sync NOTIFY', 15_000);
    if (notify.headers.event !== 'check-sync') throw new Error(`NOTIFY Event: ${notify.headers.event}`);
    await expectState(h, d, 'successful');
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- baresip ---\n${p.output(3000)}`);
  } finally {
    await p.stop();
  }
}
