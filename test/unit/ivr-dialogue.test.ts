import { strict as assert } from 'node:assert';
import {
  DEFAULT_IVR_SETTINGS,
  initialIvrState,
  step,
  type IvrCommand,
  type IvrEvent,
  type IvrSettings,
  type IvrState,
  type StartState,
  type VerifyOutcome,
} from '../../src/domain/ivr';

/** Feeds events one by one; returns the final state and the commands of each step. */
function run(events: IvrEvent[], settings: Partial<IvrSettings> = {}): { state: IvrState; steps: IvrCommand[][] } {
  let state = initialIvrState({ ...DEFAULT_IVR_SETTINGS, ...settings });
  const steps: IvrCommand[][] = [];
  for (const e of events) {
    const r = step(state, e);
    state = r.state;
    steps.push(r.commands);
  }
  return { state, steps };
}

const last = (r: { steps: IvrCommand[][] }) => r.steps[r.steps.length - 1]!;
const all = (r: { steps: IvrCommand[][] }) => r.steps.flat();
const start = (device: StartState = 'needed'): IvrEvent => ({ type: 'start', device });
const d = (digit: string): IvrEvent => ({ type: 'digit', digit });
const digits = (s: string): IvrEvent[] => [...s].map(d);
const finished: IvrEvent = { type: 'promptFinished' };
const hangup: IvrEvent = { type: 'hangup' };
const verified = (outcome: VerifyOutcome): IvrEvent => ({ type: 'verified', outcome });
const firstDigitTimeout: IvrEvent = { type: 'timeout', timer: 'firstDigit' };
const interDigitTimeout: IvrEvent = { type: 'timeout', timer: 'interDigit' };
const play = (...prompts: string[]) => ({ type: 'play', prompts });
const verifies = (r: { steps: IvrCommand[][] }) =>
  all(r)
    .filter((c): c is Extract<IvrCommand, { type: 'verify' }> => c.type === 'verify')
    .map((c) => c.pin);

describe('IVR dialogue', () => {
  describe('start, by device state', () => {
    it('needed: asks for the PIN and waits for the prompt to end before timing the first digit', () => {
      const r = run([start('needed')]);
      assert.deepEqual(last(r), [play('enter-pin')]);
      const r2 = run([start('needed'), finished]);
      assert.deepEqual(last(r2), [{ type: 'startTimer', timer: 'firstDigit', ms: 7000 }]);
    });

    const announcements: [StartState, string, boolean][] = [
      ['failed', 'auth-not-possible', false],
      ['blocked', 'blocked', false],
      ['successful', 'already-authenticated', true],
      ['unavailable', 'service-unavailable', false],
    ];
    for (const [device, prompt, sync] of announcements) {
      it(`${device}: announces ${prompt}, then hangs up${sync ? ' and triggers the re-fetch' : ''}`, () => {
        const r = run([start(device), finished]);
        assert.deepEqual(r.steps[0], [play(prompt)]);
        assert.deepEqual(r.steps[1], sync ? [{ type: 'hangup' }, { type: 'checkSync' }] : [{ type: 'hangup' }]);
        assert.equal(r.state.phase, 'ended');
      });
    }

    it('a second start changes nothing', () => {
      const r = run([start('needed'), start('blocked')]);
      assert.deepEqual(last(r), []);
      assert.equal(r.state.phase, 'prompting');
    });

    it('events before start are ignored', () => {
      const r = run([d('1'), finished, firstDigitTimeout, verified('success')]);
      assert.deepEqual(all(r), []);
      assert.equal(r.state.phase, 'idle');
    });
  });

  describe('collecting the PIN', () => {
    it('collects digits after the prompt, restarts the inter-digit timer per digit, and verifies on #', () => {
      const r = run([start(), finished, ...digits('042'), d('#')]);
      assert.deepEqual(r.steps[2], [
        { type: 'cancelTimer', timer: 'firstDigit' },
        { type: 'startTimer', timer: 'interDigit', ms: 5000 },
      ]);
      assert.deepEqual(r.steps[3], [
        { type: 'cancelTimer', timer: 'interDigit' },
        { type: 'startTimer', timer: 'interDigit', ms: 5000 },
      ]);
      assert.deepEqual(last(r), [
        { type: 'cancelTimer', timer: 'interDigit' },
        { type: 'verify', pin: '042' },
      ]);
      assert.equal(r.state.phase, 'verifying');
      assert.equal(r.state.entry, '');
    });

    it('barge-in: a digit during the prompt stops it and counts', () => {
      const r = run([start(), d('7')]);
      assert.deepEqual(last(r), [{ type: 'stopPlayback' }, { type: 'startTimer', timer: 'interDigit', ms: 5000 }]);
      const r2 = run([start(), d('7'), finished, ...digits('12345'), d('#')]);
      assert.deepEqual(r2.steps[2], [], 'the report of the cut prompt starts no first-digit timer');
      assert.deepEqual(verifies(r2), ['712345']);
    });

    it('barge-in works on the re-prompt after a wrong PIN too', () => {
      const r = run([start(), finished, ...digits('1#'), verified('wrong'), d('9')]);
      assert.deepEqual(r.steps[4], [play('wrong-pin', 'enter-pin')]);
      assert.deepEqual(last(r), [{ type: 'stopPlayback' }, { type: 'startTimer', timer: 'interDigit', ms: 5000 }]);
    });

    it('* clears what was typed and re-prompts', () => {
      const r = run([start(), finished, ...digits('12'), d('*')]);
      assert.deepEqual(last(r), [{ type: 'cancelTimer', timer: 'interDigit' }, play('enter-pin')]);
      assert.equal(r.state.entry, '');
      const r2 = run([start(), finished, ...digits('12'), d('*'), finished, ...digits('34'), d('#')]);
      assert.deepEqual(verifies(r2), ['34']);
    });

    it('* during the prompt stops it and plays it again', () => {
      const r = run([start(), d('*')]);
      assert.deepEqual(last(r), [{ type: 'stopPlayback' }, play('enter-pin')]);
      assert.equal(r.state.phase, 'prompting');
    });

    it('an empty entry (# alone) is not an attempt: it re-prompts', () => {
      const r = run([start(), finished, d('#')]);
      assert.deepEqual(last(r), [{ type: 'cancelTimer', timer: 'firstDigit' }, play('enter-pin')]);
      const r2 = run([start(), d('#'), d('#'), finished, d('#')]);
      assert.deepEqual(r2.steps[1], [{ type: 'stopPlayback' }, play('enter-pin')]);
      assert.deepEqual(verifies(r2), []);
    });

    it('digits beyond maxDigits are ignored', () => {
      const r = run([start(), finished, ...digits('123456'), d('#')], { maxDigits: 4 });
      assert.deepEqual(r.steps[6], [], 'the 5th digit does nothing');
      assert.deepEqual(verifies(r), ['1234']);
      const r12 = run([start(), finished, ...digits('1234567890123'), d('#')]);
      assert.deepEqual(verifies(r12), ['123456789012']);
    });

    it('ignores A-D and anything that is not a key', () => {
      const r = run([start(), d('A'), d('D'), d('x'), d(''), d('12')]);
      assert.deepEqual(all(r).slice(1), [], 'no barge-in, no timer');
      assert.equal(r.state.phase, 'prompting');
      const r2 = run([start(), finished, d('1'), d('B'), d('2'), d('#')]);
      assert.deepEqual(verifies(r2), ['12']);
    });
  });

  describe('verification', () => {
    const toVerifying = [start(), finished, ...digits('123456'), d('#')];

    it('ignores digits, # and timers while verifying: verify is sent once per entry', () => {
      const r = run([...toVerifying, ...digits('99#'), d('#'), d('*'), firstDigitTimeout, interDigitTimeout, finished]);
      assert.deepEqual(verifies(r), ['123456']);
      assert.deepEqual(r.steps.slice(toVerifying.length).flat(), []);
      assert.equal(r.state.phase, 'verifying');
    });

    it('success: confirms, then hangs up and triggers the re-fetch', () => {
      const r = run([...toVerifying, verified('success'), finished]);
      assert.deepEqual(r.steps[toVerifying.length], [play('success')]);
      assert.deepEqual(last(r), [{ type: 'hangup' }, { type: 'checkSync' }]);
    });

    it('wrong: says so, asks again and verifies the next entry', () => {
      const r = run([...toVerifying, verified('wrong'), finished, ...digits('654321'), d('#')]);
      assert.deepEqual(r.steps[toVerifying.length], [play('wrong-pin', 'enter-pin')]);
      assert.deepEqual(verifies(r), ['123456', '654321']);
    });

    const finals: [VerifyOutcome, string, boolean][] = [
      ['locked', 'locked-out', false],
      ['blocked', 'blocked-now', false],
      ['already-failed', 'auth-not-possible', false],
      ['already-blocked', 'blocked', false],
      ['already-successful', 'already-authenticated', true],
      ['unavailable', 'service-unavailable', false],
    ];
    for (const [outcome, prompt, sync] of finals) {
      it(`${outcome}: announces ${prompt}, then hangs up${sync ? ' and triggers the re-fetch' : ''}`, () => {
        const r = run([...toVerifying, verified(outcome), finished]);
        assert.deepEqual(r.steps[toVerifying.length], [play(prompt)]);
        assert.deepEqual(last(r), sync ? [{ type: 'hangup' }, { type: 'checkSync' }] : [{ type: 'hangup' }]);
        assert.equal(r.state.phase, 'ended');
      });
    }

    it('a final announcement cannot be interrupted by digits', () => {
      const r = run([...toVerifying, verified('locked'), ...digits('12#*')]);
      assert.deepEqual(r.steps.slice(toVerifying.length + 1).flat(), []);
      assert.equal(r.state.phase, 'announcing');
    });

    it('a verified event nobody asked for is ignored', () => {
      const r = run([start(), finished, verified('success')]);
      assert.deepEqual(last(r), []);
      assert.equal(r.state.phase, 'collecting');
    });
  });

  describe('timeouts', () => {
    it('no input: re-prompts maxReprompts times, then says goodbye and hangs up', () => {
      const once = [finished, firstDigitTimeout];
      const r = run([start(), ...once, ...once, ...once, ...once, finished], { maxReprompts: 3 });
      assert.deepEqual(r.steps[2], [play('enter-pin')]);
      assert.deepEqual(r.steps[4], [play('enter-pin')]);
      assert.deepEqual(r.steps[6], [play('enter-pin')]);
      assert.deepEqual(r.steps[8], [play('goodbye')]);
      assert.deepEqual(last(r), [{ type: 'hangup' }]);
    });

    it('maxReprompts 0 says goodbye at the first timeout', () => {
      const r = run([start(), finished, firstDigitTimeout], { maxReprompts: 0 });
      assert.deepEqual(last(r), [play('goodbye')]);
    });

    it('an inter-digit timeout re-prompts, drops the partial entry and counts as no input', () => {
      const r = run([start(), finished, ...digits('12'), interDigitTimeout], { maxReprompts: 1 });
      assert.deepEqual(last(r), [play('enter-pin')]);
      assert.equal(r.state.entry, '');
      const r2 = run([start(), finished, ...digits('12'), interDigitTimeout, finished, ...digits('56#')]);
      assert.deepEqual(verifies(r2), ['56']);
      const r3 = run([start(), finished, d('1'), interDigitTimeout, finished, d('2'), interDigitTimeout], { maxReprompts: 1 });
      assert.deepEqual(last(r3), [play('goodbye')]);
    });

    it('a wrong PIN starts a fresh count of re-prompts', () => {
      const r = run([start(), finished, firstDigitTimeout, finished, ...digits('1#'), verified('wrong'), finished, firstDigitTimeout], { maxReprompts: 1 });
      assert.deepEqual(last(r), [play('enter-pin')]);
    });

    it('ignores a timer that is not running', () => {
      const r = run([start(), firstDigitTimeout, finished, interDigitTimeout]);
      assert.deepEqual(r.steps[1], [], 'no timer runs while the prompt plays');
      assert.deepEqual(last(r), [], 'the first-digit timer runs, not the inter-digit one');
      assert.equal(r.state.phase, 'collecting');
    });

    it('timer durations come from the settings', () => {
      const r = run([start(), finished, d('1')], { firstDigitMs: 10, interDigitMs: 20 });
      assert.deepEqual(r.steps[1], [{ type: 'startTimer', timer: 'firstDigit', ms: 10 }]);
      assert.deepEqual(last(r)[1], { type: 'startTimer', timer: 'interDigit', ms: 20 });
    });
  });

  describe('hangup by the phone', () => {
    it('while the prompt plays: no commands at all', () => {
      const r = run([start(), hangup]);
      assert.deepEqual(last(r), []);
      assert.equal(r.state.phase, 'ended');
    });

    it('while collecting: only cancels the running timer', () => {
      const r = run([start(), finished, d('1'), hangup]);
      assert.deepEqual(last(r), [{ type: 'cancelTimer', timer: 'interDigit' }]);
    });

    it('after hangup nothing reacts any more', () => {
      const r = run([start(), finished, hangup, ...digits('123#'), finished, firstDigitTimeout, start(), hangup]);
      assert.deepEqual(r.steps.slice(3).flat(), []);
    });

    it('while verifying: a success that comes back later still triggers the re-fetch, nothing else', () => {
      const r = run([start(), finished, ...digits('1#'), hangup, verified('success'), verified('success')]);
      assert.deepEqual(r.steps[4], []);
      assert.deepEqual(r.steps[5], [{ type: 'checkSync' }]);
      assert.deepEqual(last(r), [], 'only once');
      const wrong = run([start(), finished, ...digits('1#'), hangup, verified('wrong')]);
      assert.deepEqual(last(wrong), []);
    });

    it('during the success announcement: the re-fetch is still triggered, no hangup sent', () => {
      const r = run([start(), finished, ...digits('1#'), verified('success'), hangup, finished]);
      assert.deepEqual(r.steps[5], [{ type: 'checkSync' }]);
      assert.deepEqual(last(r), []);
    });

    it('during another announcement: nothing', () => {
      const r = run([start('blocked'), hangup, finished]);
      assert.deepEqual(r.steps.slice(1).flat(), []);
    });

    it('before start: nothing, and start is then ignored', () => {
      const r = run([hangup, start()]);
      assert.deepEqual(all(r), []);
    });
  });

  describe('invariants over random event sequences', () => {
    /** Small deterministic generator so a failure can be replayed. */
    function lcg(seed: number) {
      let s = seed >>> 0;
      return (n: number) => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return s % n;
      };
    }
    const outcomes: VerifyOutcome[] = ['success', 'wrong', 'wrong', 'wrong', 'locked', 'blocked', 'unavailable'];

    it('never verifies twice without an answer, never verifies a bad entry, and is silent after hangup', () => {
      for (let seed = 1; seed <= 300; seed++) {
        const rnd = lcg(seed);
        let state = initialIvrState({ ...DEFAULT_IVR_SETTINGS, maxDigits: 8, maxReprompts: 2 });
        let outstanding = false;
        let hungUp = false;
        const keys = '0123456789*#A';
        for (let i = 0; i < 60; i++) {
          const k = rnd(10);
          const e: IvrEvent =
            i === 0
              ? start('needed')
              : k < 5
                ? d(keys[rnd(keys.length)]!)
                : k === 5
                  ? finished
                  : k === 6
                    ? { type: 'timeout', timer: rnd(2) ? 'firstDigit' : 'interDigit' }
                    : k === 7
                      ? verified(outcomes[rnd(outcomes.length)]!)
                      : k === 8 && rnd(8) === 0
                        ? hangup
                        : finished;
          const r = step(state, e);
          if (e.type === 'verified') outstanding = false;
          for (const c of r.commands) {
            if (c.type === 'verify') {
              assert.ok(!outstanding, `seed ${seed}: verify twice`);
              assert.match(c.pin, /^[0-9]{1,8}$/, `seed ${seed}: bad entry`);
              outstanding = true;
            }
            if (hungUp) assert.ok(c.type === 'cancelTimer' || c.type === 'checkSync', `seed ${seed}: ${c.type} after hangup`);
          }
          if (e.type === 'hangup') hungUp = true;
          state = r.state;
        }
      }
    });
  });
});
