import assert from 'node:assert/strict';
import type { DeviceView } from '../../src/app/device-view';
import type { Registration } from '../../src/ports/signalling';
import { startPapgateHarness, until, type PapgateHarness } from '../helpers/papgate-harness';
import { baresipMissing, startBaresip, type Baresip, type TracedSipMessage } from '../helpers/softphone';
import { requireTool } from '../helpers/required-tools';
import { portLayout } from '../helpers/ports';

// Section 8 of docs/behaviour.md against a real soft-phone instead of SIPp: baresip (Debian's
// `baresip-core`), headless on 127.0.0.1, registers to papgate's embedded SIP
// service with the device's digest credentials, dials *89 and types the PAP +
// '#' as RFC 4733 telephone-events (baresip's `sndcode` command over its
// ctrl_tcp interface). What the phone sent and received is read from its own
// SIP trace; what papgate made of it from papgate's registrar and store.
//
// Ports (127.0.0.1 only), offsets in one free block: papgate SIP +0, papgate
// RTP +80..99; the phones use +10..29, +30..49 and +50..69 (SIP, TLS, control, RTP).

/** A PAP of the same length with every digit different from the right one. */
const wrongPap = (pap: string) => [...pap].map((c) => String((Number(c) + 1) % 10)).join('');

let PAPGATE_SIP = 0,
  PHONE_A = 0,
  PHONE_B = 0,
  PHONE_C = 0,
  RTP_MIN = 0,
  RTP_MAX = 0; // from portLayout() in the suite's first hook

describe('interop: a real soft-phone (baresip) registers, calls *89 and types its PAP', function () {
  before(async () => {
    ({ PAPGATE_SIP, PHONE_A, PHONE_B, PHONE_C, RTP_MIN, RTP_MAX } = await portLayout({
      PAPGATE_SIP: 0,
      PHONE_A: 10,
      PHONE_B: 30,
      PHONE_C: 50,
      RTP_MIN: 80,
      RTP_MAX: 99,
    }));
  });
  this.timeout(90_000);
  let h: PapgateHarness | undefined;
  let phone: Baresip | undefined;

  before(async function () {
    requireTool(this, 'baresip', 'a real soft-phone registers, calls *89 and types its PAP', baresipMissing());
    h = await startPapgateHarness({
      gatewayPort: null,
      env: { PAPGATE_SIP_PORT: String(PAPGATE_SIP), PAPGATE_RTP_PORT_MIN: String(RTP_MIN), PAPGATE_RTP_PORT_MAX: String(RTP_MAX) },
    });
  });
  afterEach(async () => {
    await phone?.stop();
    phone = undefined;
  });
  after(async () => {
    await phone?.stop();
    await h?.stop();
  });

  /** Starts baresip as the device and waits until papgate has its registration. */
  async function registeredPhone(d: DeviceView, basePort: number): Promise<{ phone: Baresip; reg: Registration }> {
    const harness = h!;
    phone = await startBaresip({ username: d.sipUsername, password: d.sipPassword, registrar: `127.0.0.1:${PAPGATE_SIP}`, basePort });
    const p = phone;
    const reg = await until(() => harness.instance.signalling!.registration(d.sipUsername), 'REGISTER accepted by papgate', harness).catch((e: Error) => {
      throw new Error(`${e.message}\n--- baresip ---\n${p.output()}`);
    });
    // papgate answered the digest-authenticated REGISTER with 200, and baresip took it.
    await p.waitSip((m) => m.direction === 'in' && m.status === 200 && /REGISTER/.test(m.headers.cseq ?? ''), '200 OK to the REGISTER at the phone');
    assert.match(reg.contact, new RegExp(`^sip:[^@]+@127\\.0\\.0\\.1:${basePort}\\b`), 'the registered Contact is the phone');
    return { phone: p, reg };
  }

  /** The BYE of this call: sent by papgate, answered by the phone, and the phone sent none. */
  async function assertPapgateHungUp(p: Baresip, callId: string): Promise<void> {
    const ofCall = (m: TracedSipMessage) => m.headers['call-id'] === callId;
    const bye = await p.waitSip((m) => ofCall(m) && m.direction === 'in' && m.method === 'BYE', `BYE from papgate for call ${callId}`);
    assert.equal(bye.from, `127.0.0.1:${PAPGATE_SIP}`);
    await p.waitSip((m) => ofCall(m) && m.direction === 'out' && m.status === 200 && /BYE/.test(m.headers.cseq ?? ''), "the phone's 200 to the BYE");
    assert.ok(!p.sipTrace().some((m) => ofCall(m) && m.direction === 'out' && m.method === 'BYE'), 'the phone did not hang up itself');
  }

  it('right PAP: REGISTER, *89, PAP + # as RFC 4733; papgate hangs up, the device is successful, the phone gets check-sync', async () => {
    const harness = h!;
    const d = await harness.addDevice();
    const { phone: p, reg } = await registeredPhone(d, PHONE_A);

    const callId = await p.dial('*89');
    // papgate's answer SDP was usable: its RTP (the prompt) reached the phone.
    await p.waitEvent('CALL_RTPESTAB', (e) => e.id === callId);
    await p.sendDigits(`${d.pap}#`);
    const closed = await p.waitEvent('CALL_CLOSED', (e) => e.id === callId, 20_000);
    await assertPapgateHungUp(p, callId);

    const state = await until(
      async () => {
        const v = await harness.device(d.mac);
        return v.state === 'successful' ? v.state : undefined;
      },
      'device state successful',
      harness,
    );
    assert.equal(state, 'successful');
    assert.deepEqual(
      (await harness.attempts(d.mac)).map((e) => e.outcome),
      ['success'],
    );

    // The check-sync NOTIFY reaches the phone at the Contact it registered.
    const notify = await p.waitSip((m) => m.direction === 'in' && m.method === 'NOTIFY', 'check-sync NOTIFY at the phone');
    assert.equal(notify.headers.event, 'check-sync');
    assert.match(notify.headers['subscription-state'] ?? '', /^terminated\b/);
    assert.equal(notify.firstLine, `NOTIFY ${reg.contact} SIP/2.0`);
    assert.match(notify.headers.to ?? '', new RegExp(`<sip:${d.sipUsername}@127\\.0\\.0\\.1`));
    assert.equal(notify.from, `127.0.0.1:${PAPGATE_SIP}`);
    // baresip has no check-sync handler and says so (481); a desk phone would re-provision.
    const answer = await p.waitSip(
      (m) => m.direction === 'out' && m.status !== null && m.headers['call-id'] === notify.headers['call-id'],
      "the phone's answer to the NOTIFY",
    );
    assert.ok(answer.status! >= 200, `final answer to the NOTIFY (${answer.firstLine})`);
    assert.ok(closed.param, 'baresip reported why the call closed');
  });

  it('an authenticated phone calling again (stale configuration): papgate hangs up and sends check-sync again', async () => {
    const harness = h!;
    const d = await harness.addDevice();
    await harness.instance.services.authentication.attempt(d.mac, d.pap!, '127.0.0.1');
    assert.equal((await harness.device(d.mac)).state, 'successful');
    const { phone: p, reg } = await registeredPhone(d, PHONE_C);

    const callId = await p.dial('*89');
    await p.waitEvent('CALL_CLOSED', (e) => e.id === callId, 20_000);
    await assertPapgateHungUp(p, callId);
    const notify = await p.waitSip((m) => m.direction === 'in' && m.method === 'NOTIFY', 'check-sync NOTIFY at the phone');
    assert.equal(notify.headers.event, 'check-sync');
    assert.equal(notify.firstLine, `NOTIFY ${reg.contact} SIP/2.0`);
    assert.equal((await harness.device(d.mac)).state, 'successful');
    assert.equal((await harness.attempts(d.mac)).length, 1, 'the call recorded no PAP attempt');
  });

  it('wrong PAP three times in one call: papgate announces the lock-out, hangs up, the device is failed, no check-sync', async () => {
    const harness = h!;
    const d = await harness.addDevice();
    const { phone: p } = await registeredPhone(d, PHONE_B);
    const wrong = wrongPap(d.pap!);
    const tries = harness.config.maxFailures;

    const callId = await p.dial('*89');
    for (let i = 1; i <= tries; i++) {
      await p.sendDigits(`${wrong}#`);
      // Type the next entry once papgate has judged this one (it is not a timing assertion: the wait is bounded).
      await until(async () => ((await harness.attempts(d.mac)).length >= i ? true : undefined), `PAP attempt ${i} recorded`, harness);
    }
    await p.waitEvent('CALL_CLOSED', (e) => e.id === callId, 20_000);
    await assertPapgateHungUp(p, callId);

    const view = await harness.device(d.mac);
    assert.equal(view.state, 'failed');
    const outcomes = (await harness.attempts(d.mac)).map((e) => e.outcome);
    assert.deepEqual(outcomes, [...Array<string>(tries - 1).fill('wrong'), 'locked']);
    assert.ok(!p.sipTrace().some((m) => m.method === 'NOTIFY'), 'no check-sync after a lock-out');
  });
});
