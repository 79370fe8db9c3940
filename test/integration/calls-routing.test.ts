import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { CLI_ACTOR } from '../../src/app/actor';
import type { DeviceView } from '../../src/app/device-view';
import {
  block,
  earPort,
  PORTS,
  runPhone,
  sippPassed,
  sleep,
  startPapgateHarness,
  startRtpEar,
  type PapgateHarness,
  type PhoneOptions,
  type RtpEar,
} from '../helpers/papgate-harness';
import { startSippUas, type SippResult, type SippUas } from '../helpers/sipp';
import { requireTool } from '../helpers/required-tools';

// Section 8 of docs/behaviour.md beyond the PIN dialogue: emergency pass-through (any state),
// refusals (wrong SIP password, no common codec), CANCEL before the answer,
// and a caller hanging up mid-prompt. papgate in-process on 127.0.0.1:PORTS.sip,
// phones (SIPp UAC) on PORTS.phone, the emergency gateway (SIPp UAS) on PORTS.gateway.

describe('calls: routing, refusals and hang-ups over SIPp (embedded stack)', function () {
  this.timeout(60_000);
  let h: PapgateHarness;
  let ear: RtpEar;
  let gateway: SippUas | null = null;

  before(async function () {
    requireTool(this, 'sipp', 'calls are placed by SIPp phones');
    h = await startPapgateHarness();
  });
  after(async () => {
    await h?.stop();
  });
  beforeEach(async () => {
    ear = await startRtpEar(earPort(PORTS.phone));
  });
  afterEach(async () => {
    await gateway?.stop();
    gateway = null;
    await ear?.close();
  });

  const phone = (scenario: string, device: DeviceView, o: PhoneOptions = {}) => runPhone(scenario, device, o);
  const passed = (r: SippResult, who?: string) => sippPassed(h, r, who);
  const startGateway = async (scenario: string) => {
    gateway = await startSippUas({ scenario, localPort: PORTS.gateway, timeoutSec: 30 });
    return gateway;
  };

  async function newDeviceAtSite(): Promise<DeviceView> {
    return h.addDevice({ site: 'head-office' });
  }

  async function assertEmergencyPassedThrough(d: DeviceView, dial: string): Promise<void> {
    const attemptsBefore = (await h.attempts(d.mac)).length;
    const gw = await startGateway('emergency-gateway-uas.xml');
    const r = await phone('emergency-passthrough.xml', d, { vars: { dial } });
    passed(r, 'phone');
    const g = await gw.done;
    passed(g, 'gateway');
    assert.match(r.logs, /answered by the gateway: s=emergency-gateway/);
    assert.match(g.logs, new RegExp(`gateway INVITE: number=${dial} mac= ?${d.mac} tenant= ?${h.tenant} site= ?head-office offer=m=audio \\d+ RTP/AVP`));
    assert.match(g.logs, /gateway got the BYE/);
    assert.equal(h.mediaStats().sessions, 0, 'no IVR: papgate is not in the media path');
    assert.equal(ear.packets(), 0, 'papgate sent no RTP of its own');
    assert.equal((await h.attempts(d.mac)).length, attemptsBefore, 'no PAP attempt');
  }

  it('an emergency number goes to the gateway with X-Papgate-Mac/Tenant/Site; the answer and the BYE are relayed', async () => {
    const d = await newDeviceAtSite();
    await assertEmergencyPassedThrough(d, '112');
    assert.equal((await h.device(d.mac)).state, 'needed');
  });

  it('an emergency call passes through even when the device is blocked', async () => {
    const d = await newDeviceAtSite();
    await block(h, d);
    assert.equal((await h.device(d.mac)).state, 'blocked');
    await assertEmergencyPassedThrough(d, '110');
  });

  it('a CANCEL before the answer (gateway still ringing): 200 for the CANCEL, 487, relayed to the gateway', async () => {
    const d = await newDeviceAtSite();
    const gw = await startGateway('emergency-gateway-rings.xml');
    const r = await phone('cancel-before-answer.xml', d, { vars: { dial: '911' } });
    passed(r, 'phone');
    const g = await gw.done;
    passed(g, 'gateway');
    assert.match(r.logs, /200 for CANCEL, 487 for INVITE/);
    assert.match(g.logs, /gateway: INVITE cancelled/);
  });

  it('the gateway hangs up: its BYE, sent along the route set, reaches the phone (200)', async () => {
    const d = await newDeviceAtSite();
    const gw = await startGateway('emergency-gateway-hangs-up.xml');
    const r = await phone('sip-emergency-caller-remote-bye.xml', d, { vars: { dial: '112' } });
    passed(r, 'phone');
    const g = await gw.done;
    passed(g, 'gateway');
    assert.match(g.logs, new RegExp(`gateway INVITE: number=112 mac= ?${d.mac}`));
    assert.match(g.logs, /gateway hung up/);
  });

  it('a wrong SIP password gets 403 after the challenge: no IVR, no RTP, no PAP attempt', async () => {
    const d = await h.addDevice();
    const r = await phone('unauthenticated-caller-refused.xml', d, { password: `${d.sipPassword}x` });
    passed(r);
    assert.match(r.logs, /403 for INVITE/);
    await sleep(200);
    assert.equal(ear.packets(), 0);
    assert.equal(h.mediaStats().sessions, 0);
    assert.deepEqual(await h.attempts(d.mac), []);
  });

  it('an offer with G.729 only gets 488: no IVR, no RTP', async () => {
    const d = await h.addDevice();
    const r = await phone('no-common-codec-488.xml', d);
    passed(r);
    assert.match(r.logs, /488 for INVITE/);
    await sleep(200);
    assert.equal(ear.packets(), 0);
    assert.equal(h.mediaStats().sessions, 0);
    assert.equal((await h.device(d.mac)).state, 'needed');
  });

  it('a caller hanging up mid-prompt gets 200 for the BYE; papgate closes the media session and frees its RTP port', async () => {
    const d = await h.addDevice();
    const r = await phone('caller-hangs-up-mid-prompt.xml', d);
    passed(r);
    const port = Number(/rtp port (\d+)/.exec(r.logs)?.[1]);
    assert.ok(port >= PORTS.rtpMin && port <= PORTS.rtpMax, `papgate's RTP port from the answer (${port})`);
    const heard = ear.streams();
    assert.equal(heard.length, 1);
    assert.equal(heard[0]!.prompts[0]?.name, 'enter-pin', 'the PIN prompt was playing');
    await h.mediaIdle();
    const packets = ear.packets();
    await sleep(300);
    assert.equal(ear.packets(), packets, 'no RTP after the BYE');
    await assertUdpPortFree(port);
    assert.deepEqual(await h.attempts(d.mac), [], 'hanging up is not an attempt');
    assert.equal((await h.instance.services.devices.show(CLI_ACTOR, d.mac)).failures, 0);
  });
});

describe('calls: an emergency call while the store is down (embedded stack)', function () {
  this.timeout(60_000);
  let h: PapgateHarness;
  let gateway: SippUas | null = null;

  before(async function () {
    requireTool(this, 'sipp', 'calls are placed by SIPp phones');
    h = await startPapgateHarness();
  });
  after(async () => {
    await gateway?.stop();
    await h?.stop(); // closes the store a second time: papgate logs that and goes on
  });

  it("still reaches the gateway: no challenge, papgate's own From and the source instead of device headers, answer and BYE relayed", async () => {
    const d = await h.addDevice();
    await h.instance.store.close();
    gateway = await startSippUas({ scenario: 'emergency-gateway-uas-anonymous.xml', localPort: PORTS.gateway, timeoutSec: 30 });
    const r = await runPhone('emergency-store-down-passthrough.xml', d, { vars: { dial: '999' } });
    sippPassed(h, r, 'phone');
    const g = await gateway.done;
    sippPassed(h, g, 'gateway');
    assert.match(r.logs, /answered by the gateway: s=emergency-gateway/);
    assert.match(g.logs, /gateway INVITE: number=999 mac= tenant= offer=m=audio \d+ RTP\/AVP/);
    // Not the phone's From: papgate's own, and where the call came from instead.
    assert.match(g.logs, new RegExp(`from= ?<sip:unverified@127\\.0\\.0\\.1>;tag=\\S+ source= ?127\\.0\\.0\\.1:${PORTS.phone}`));
    assert.match(g.logs, /gateway got the BYE/);
  });
});

function assertUdpPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', (e) => reject(new Error(`RTP port ${port} is still bound: ${e.message}`)));
    s.bind({ port, address: '127.0.0.1', exclusive: true }, () => s.close(() => resolve()));
  });
}
