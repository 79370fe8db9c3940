import assert from 'node:assert/strict';
import path from 'node:path';
import { attempt, type AttemptOutcome } from '../../src/domain/auth';
import { policyFrom } from '../../src/main';
import type { DeviceView } from '../../src/app/device-view';
import { papPcaps, papVars, SCENARIOS_DIR, wrongDigitFor, writeInbandDtmf } from '../helpers/dtmf-scenarios';
import {
  block,
  earPort,
  lockOut,
  PORTS,
  PROMPT_SECONDS,
  runPhone,
  sippPassed,
  startPapgateHarness,
  startRtpEar,
  type PapgateHarness,
  type PhoneOptions,
  type RtpEar,
} from '../helpers/papgate-harness';
import type { SippResult } from '../helpers/sipp';
import { requireTool } from '../helpers/required-tools';

// Section 8 of docs/behaviour.md, the PIN dialogue, end to end: papgate in-process (real
// SQLite file, embedded SIP + media on 127.0.0.1:PORTS.sip, RTP PORTS.rtpMin..rtpMax)
// against SIPp phones on PORTS.phone (ear on earPort()). Prompts are test tones, one
// frequency per prompt, so the ear can tell which announcement papgate played.

const CHECK_SYNC_OOC = ['-oocsf', path.join(SCENARIOS_DIR, 'check-sync-notify.xml')];
const FRAMES_PER_SECOND = 50;

describe('calls: the authentication IVR over SIPp (embedded stack)', function () {
  this.timeout(60_000);
  let h: PapgateHarness;
  let ear: RtpEar;

  before(async function () {
    requireTool(this, 'sipp', 'the IVR is called by SIPp phones');
    h = await startPapgateHarness();
  });
  after(async () => {
    await h?.stop();
  });
  beforeEach(async () => {
    ear = await startRtpEar(earPort(PORTS.phone));
  });
  afterEach(async () => {
    await ear?.close();
  });

  const phone = (scenario: string, device: DeviceView, o: PhoneOptions = {}) => runPhone(scenario, device, o);
  const passed = (r: SippResult) => sippPassed(h, r);

  /** papgate's RTP as the phone heard it: one clean stream of G.711 in 20 ms packets (talkspurts, nothing between). */
  function assertCleanRtp(): void {
    const streams = ear.streams();
    assert.equal(streams.length, 1, `one RTP stream expected, heard ${streams.length}`);
    const s = streams[0]!;
    assert.deepEqual([...s.payloadTypes], [0], 'PCMU only');
    assert.ok(s.packets >= 10, `papgate sent RTP (${s.packets} packets)`);
    assert.equal(s.sequenceBreaks, 0, 'sequence numbers follow each other');
    assert.equal(
      s.timestampBreaks,
      0,
      `timestamps advance by whole 20 ms frames within a talkspurt, forward between (frames skipped: ${h.mediaStats().framesSkipped})`,
    );
  }

  async function assertSuccessAndCheckSync(r: SippResult, mac: string, username: string): Promise<void> {
    passed(r);
    assert.match(r.logs, new RegExp(`check-sync NOTIFY: event= ?check-sync to=<sip:${username}@127\\.0\\.0\\.1> subscription-state=terminated`));
    assert.match(r.logs, new RegExp(`uri=sip:${username}@127\\.0\\.0\\.1:${PORTS.phone}`), 'the NOTIFY goes to the Contact');
    const after = await h.device(mac);
    assert.equal(after.state, 'successful');
    assert.equal(after.pap, null, 'the PAP is gone');
    assert.deepEqual(
      (await h.attempts(mac)).map((e) => e.outcome),
      ['success'],
    );
    await h.mediaIdle();
  }

  it('a right PAP typed as RFC 4733 events (barge-in): confirmed, BYE, check-sync NOTIFY; the device is successful', async function () {
    requireTool(this, 'sipp-dtmf-pcaps', "the PAP is replayed from SIPp's RFC 4733 captures");
    const d = await h.addDevice();
    const r = await phone('auth-success-rfc4733.xml', d, { files: papPcaps(d.pap!), extraArgs: CHECK_SYNC_OOC });
    await assertSuccessAndCheckSync(r, d.mac, d.sipUsername);
    assert.match(r.logs, /answered: m=audio \d+ RTP\/AVP 0 101/);
    assertCleanRtp();
    const prompts = ear.streams()[0]!.prompts;
    assert.deepEqual(
      prompts.map((p) => p.name),
      ['enter-pin', 'success'],
    );
    assert.ok(
      prompts[0]!.frames < PROMPT_SECONDS['enter-pin'] * FRAMES_PER_SECOND - 10,
      `the first digit cut the PIN prompt (${prompts[0]!.frames} frames played)`,
    );
    assert.ok(prompts[1]!.frames >= PROMPT_SECONDS.success * FRAMES_PER_SECOND - 1, 'the confirmation played in full');
  });

  it('a right PAP typed as SIP INFO (application/dtmf-relay): confirmed, BYE, check-sync NOTIFY', async () => {
    const d = await h.addDevice();
    const r = await phone('auth-success-sip-info.xml', d, { vars: papVars(d.pap!), extraArgs: CHECK_SYNC_OOC });
    await assertSuccessAndCheckSync(r, d.mac, d.sipUsername);
    assertCleanRtp();
    assert.deepEqual(ear.promptsHeard(), ['enter-pin', 'success']);
  });

  it('a right PAP typed in-band (DTMF tones in PCMU audio): confirmed, BYE, check-sync NOTIFY', async function () {
    requireTool(this, 'sox', 'sox renders the in-band DTMF tones');
    const d = await h.addDevice();
    const removeTones = writeInbandDtmf(`${d.pap!}#`);
    const r = await phone('auth-success-inband.xml', d, { extraArgs: CHECK_SYNC_OOC }).finally(removeTones);
    await assertSuccessAndCheckSync(r, d.mac, d.sipUsername);
    assert.match(r.logs, /answered: m=audio \d+ RTP\/AVP 0 /);
    // papgate's RTP follows the phone's packets (symmetric RTP), so the ear only hears the start
    assert.ok(ear.packets() > 0, 'papgate sent RTP to the offered port');
    assert.equal(ear.streams()[0]!.prompts[0]?.name, 'enter-pin');
  });

  it('a bare # is no attempt and * clears the entry: then the right PAP succeeds, and only that was an attempt', async () => {
    const d = await h.addDevice();
    const r = await phone('empty-entry-and-star-then-success.xml', d, { vars: papVars(d.pap!), extraArgs: CHECK_SYNC_OOC });
    await assertSuccessAndCheckSync(r, d.mac, d.sipUsername);
    assertCleanRtp();
    assert.deepEqual(
      ear.promptsHeard(),
      ['enter-pin', 'enter-pin', 'enter-pin', 'success'],
      `# and * each started the prompt again: ${JSON.stringify(ear.streams()[0]?.prompts)}`,
    );
  });

  it('three wrong PAPs in one call: asked again twice, then the lock-out announcement and BYE; the device is failed', async () => {
    const d = await h.addDevice();
    const r = await phone('wrong-pap-three-times.xml', d, { vars: { wrong: wrongDigitFor(d.pap!) } });
    passed(r);
    assert.match(r.logs, /papgate hung up after wrong PAP number 3/);
    assert.doesNotMatch(r.logs, /BYE before the third/);
    assertCleanRtp();
    assert.deepEqual(ear.promptsHeard(), ['enter-pin', 'wrong-pin', 'enter-pin', 'wrong-pin', 'enter-pin', 'locked-out']);
    const after = await h.device(d.mac);
    assert.equal(after.state, 'failed');
    assert.equal(after.failures, 3);
    assert.equal(after.lockouts, 1);
    assert.ok(after.lockedUntil, 'a lock-out deadline is set');
    assert.equal(after.pap, d.pap, 'the PAP stays valid for after the lock-out');
    assert.deepEqual(
      (await h.attempts(d.mac)).map((e) => e.outcome),
      ['wrong', 'wrong', 'locked'],
    );
    await h.mediaIdle();
  });

  it('a device in `failed` state: "not possible right now", BYE; typed digits are not taken, even the right PAP', async () => {
    const d = await h.addDevice();
    await lockOut(h, d);
    assert.equal((await h.device(d.mac)).state, 'failed');

    const r = await phone('call-in-failed-state.xml', d, { vars: papVars(d.pap!) });
    passed(r);
    assertCleanRtp();
    assert.deepEqual(ear.promptsHeard(), ['auth-not-possible']);
    assert.equal((await h.device(d.mac)).state, 'failed');
    assert.equal((await h.attempts(d.mac)).length, h.config.maxFailures, 'no attempt recorded by the call');
    await h.mediaIdle();
  });

  it('a device in `blocked` state: "blocked, ask the admin", BYE; the right PAP is not taken', async () => {
    const d = await h.addDevice();
    await block(h, d);
    assert.equal((await h.device(d.mac)).state, 'blocked');
    const recorded = (await h.attempts(d.mac)).length;

    const r = await phone('call-in-blocked-state.xml', d, { vars: papVars(d.pap!) });
    passed(r);
    assertCleanRtp();
    assert.deepEqual(ear.promptsHeard(), ['blocked']);
    assert.equal((await h.device(d.mac)).state, 'blocked');
    assert.equal((await h.attempts(d.mac)).length, recorded, 'no attempt recorded by the call');
    await h.mediaIdle();
  });

  it('a device already `successful` (stale phone): "authenticated, will reload", BYE, check-sync NOTIFY', async () => {
    const d = await h.addDevice();
    assert.equal((await h.instance.services.authentication.attempt(d.mac, d.pap!, '127.0.0.1')).outcome, 'success');
    const r = await phone('call-in-successful-state-resyncs.xml', d, { extraArgs: CHECK_SYNC_OOC });
    passed(r);
    assert.match(r.logs, new RegExp(`check-sync NOTIFY: event= ?check-sync to=<sip:${d.sipUsername}@127\\.0\\.0\\.1>`));
    assertCleanRtp();
    assert.deepEqual(ear.promptsHeard(), ['already-authenticated']);
    assert.equal((await h.device(d.mac)).state, 'successful');
    await h.mediaIdle();
  });

  it('parallel calls of one device guessing at once get no more wrong guesses than one call would', async () => {
    const d = await h.addDevice();
    const calls = 4;
    const r = await phone('parallel-guesses.xml', d, {
      vars: { wrong: wrongDigitFor(d.pap!) },
      calls,
      rate: 100,
      extraArgs: ['-l', String(calls), '-rp', '1000'],
    });
    passed(r);
    assert.equal(r.logs.match(/papgate hung up after guess/g)?.length, calls, 'papgate hung up on every call');

    const outcomes = (await h.attempts(d.mac)).map((e) => e.outcome as AttemptOutcome);
    // The same number of attempts made one after the other, through the pure state machine:
    const sequential: AttemptOutcome[] = [];
    let rec: Parameters<typeof attempt>[0] = {
      state: 'needed',
      pap: d.pap!,
      failures: 0,
      lockouts: 0,
      lockedUntil: null,
      suspendedUntil: null,
    };
    for (let i = 0; i < outcomes.length; i++) {
      const step = attempt(rec, wrongDigitFor(d.pap!).repeat(6), h.clock.now(), policyFrom(h.config));
      sequential.push(step.outcome);
      rec = step.auth;
    }
    assert.deepEqual(outcomes, sequential, `parallel outcomes ${outcomes.join(',')}`);
    assert.equal(outcomes.filter((o) => o === 'wrong').length, h.config.maxFailures - 1);
    assert.equal(outcomes.filter((o) => o === 'locked').length, 1);
    assert.ok(outcomes.length > h.config.maxFailures, 'some guesses came after the lock-out');
    assert.ok(outcomes.slice(h.config.maxFailures).every((o) => o === 'already-failed'));
    const after = await h.device(d.mac);
    assert.equal(after.state, 'failed');
    assert.equal(after.failures, h.config.maxFailures);
    assert.equal(after.lockouts, 1);
    assert.equal(new Set(ear.streams().map((s) => s.from)).size, calls, 'each call had its own RTP port');
    await h.mediaIdle();
  });
});

describe('calls: a caller who types nothing (short IVR timers)', function () {
  this.timeout(60_000);
  let h: PapgateHarness;
  let ear: RtpEar;

  before(async function () {
    requireTool(this, 'sipp', 'the IVR is called by SIPp phones');
    h = await startPapgateHarness({ env: { PAPGATE_IVR_FIRST_DIGIT_SECONDS: '0.5', PAPGATE_IVR_REPROMPTS: '2' } });
    ear = await startRtpEar(earPort(PORTS.phone));
  });
  after(async () => {
    await ear?.close();
    await h?.stop();
  });

  it('hears the PIN prompt, then it again after each silence (2 repeats), then goodbye and BYE; no attempt', async () => {
    const d = await h.addDevice();
    const r = await runPhone('no-input-goodbye.xml', d);
    sippPassed(h, r);
    assert.deepEqual(ear.promptsHeard(), ['enter-pin', 'enter-pin', 'enter-pin', 'goodbye']);
    assert.deepEqual(await h.attempts(d.mac), []);
    assert.equal((await h.device(d.mac)).state, 'needed');
    await h.mediaIdle();
  });
});
