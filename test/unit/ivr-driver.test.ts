import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { basename } from 'node:path';
import { IvrDriver, verifyWith, type IvrDriverDeps } from '../../src/app/ivr-driver';
import { PromptLibrary, shippedPromptsDir } from '../../src/app/prompt-library';
import { DEFAULT_IVR_SETTINGS, type IvrSettings, type VerifyOutcome } from '../../src/domain/ivr';
import type { Logger } from '../../src/ports/logger';
import type { MediaSession } from '../../src/ports/media';

/** Port fake of a media session that behaves as the port says: one playbackFinished per play. */
class ScriptedSession extends EventEmitter implements MediaSession {
  readonly answerSdp = 'v=0\r\n';
  readonly plays: string[][] = [];
  readonly files: string[] = [];
  stops = 0;
  ignored = 0;
  private playing = false;
  constructor(private readonly reportStopSynchronously = false) {
    super();
  }
  play(files: string[]): void {
    assert.ok(!this.playing, 'play while playing');
    this.files.push(...files);
    this.plays.push(files.map((f) => basename(f, '.wav')));
    this.playing = true;
  }
  stopPlayback(): void {
    this.stops++;
    if (!this.playing) return;
    this.playing = false;
    if (this.reportStopSynchronously) this.emit('playbackFinished', true);
    else setImmediate(() => this.emit('playbackFinished', true));
  }
  /** The current prompt plays out. */
  finishPrompt(): void {
    assert.ok(this.playing, 'nothing plays');
    this.playing = false;
    this.emit('playbackFinished', false);
  }
  press(keys: string): void {
    for (const k of keys) this.emit('digit', k, 'rfc4733');
  }
  ignoreDigits(): void {
    this.ignored++;
  }
  async close(): Promise<void> {}
}

class ScriptedCall extends EventEmitter {
  hangups = 0;
  async hangup(): Promise<void> {
    this.hangups++;
    this.emit('ended', 'local-hangup');
  }
  info(keys: string): void {
    for (const k of keys) this.emit('dtmf', k);
  }
}

/** A logger that keeps everything it was given, to check what never appears. */
function recordingLogger(lines: string[]): Logger {
  const rec = (level: string) => (obj: object | string, msg?: string) => {
    lines.push(`${level} ${JSON.stringify(obj, (_k, v) => (v instanceof Error ? { message: v.message, stack: v.stack } : v))} ${msg ?? ''}`);
  };
  const log: Logger = { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error'), child: () => log };
  return log;
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const prompts = new PromptLibrary([shippedPromptsDir()]);

function setup(opts: { settings?: Partial<IvrSettings>; verify?: (pin: string) => Promise<VerifyOutcome>; syncStop?: boolean } = {}) {
  const session = new ScriptedSession(opts.syncStop);
  const call = new ScriptedCall();
  const pins: string[] = [];
  const logLines: string[] = [];
  const deps: IvrDriverDeps = {
    call: call as unknown as IvrDriverDeps['call'],
    session,
    prompts,
    locale: 'de',
    settings: { ...DEFAULT_IVR_SETTINGS, ...opts.settings },
    verify:
      opts.verify ??
      (async (pin) => {
        pins.push(pin);
        return 'success';
      }),
    log: recordingLogger(logLines),
  };
  return { session, call, pins, logLines, driver: new IvrDriver(deps) };
}

describe('IvrDriver', () => {
  it('runs a successful entry: prompt, digits, verify, confirmation, BYE, re-fetch', async () => {
    const { session, call, pins, driver, logLines } = setup();
    const done = driver.run('needed');
    assert.deepEqual(session.plays, [['enter-pin']]);
    session.finishPrompt();
    session.press('987654#');
    await waitFor(() => session.plays.length === 2, 'the confirmation');
    assert.deepEqual(pins, ['987654']);
    assert.deepEqual(session.plays[1], ['success']);
    session.finishPrompt();
    assert.deepEqual(await done, { checkSync: true, endedBy: 'dialogue' });
    assert.equal(call.hangups, 1);
    assert.ok(!logLines.join('\n').includes('987654'), 'the PIN is never logged');
  });

  it('plays the prompts of the locale', async () => {
    const { session, call, driver } = setup();
    const done = driver.run('needed');
    assert.deepEqual(session.files, [prompts.path('de', 'enter-pin')]);
    assert.match(session.files[0]!, /prompts\/de\/enter-pin\.wav$/);
    call.emit('ended', 'remote-bye');
    assert.deepEqual(await done, { checkSync: false, endedBy: 'phone' });
  });

  it('takes digits from SIP INFO, and ignores the same key reported again by the media path', async () => {
    const { session, call, pins, driver } = setup();
    const done = driver.run('needed');
    call.info('12');
    session.press('12');
    call.info('3#');
    await waitFor(() => session.plays.length === 2, 'the confirmation');
    assert.deepEqual(pins, ['123']);
    assert.equal(session.ignored, 1, 'the media is told once to stop looking for digits');
    session.finishPrompt();
    await done;
  });

  it('keeps the media looking for digits when they come from the media', async () => {
    const { session, call, pins, driver } = setup();
    const done = driver.run('needed');
    session.press('123#');
    call.info('4');
    await waitFor(() => session.plays.length === 2, 'the confirmation');
    assert.deepEqual(pins, ['123']);
    assert.equal(session.ignored, 0);
    session.finishPrompt();
    await done;
  });

  it('barge-in with * replays the prompt; the late report of the cut prompt does not count as its end', async () => {
    for (const syncStop of [false, true]) {
      const { session, pins, driver } = setup({ syncStop });
      const done = driver.run('needed');
      session.press('*');
      assert.deepEqual(session.plays, [['enter-pin'], ['enter-pin']]);
      await new Promise((r) => setImmediate(r)); // let the stale report arrive
      session.press('5'); // still a barge-in: the second prompt plays
      assert.equal(session.stops, 2, `a digit during the replayed prompt stops it (syncStop=${syncStop})`);
      session.press('#');
      await waitFor(() => pins.length === 1, 'the verification');
      assert.deepEqual(pins, ['5']);
      await waitFor(() => session.plays.length === 3, 'the confirmation');
      session.finishPrompt();
      await done;
    }
  });

  it('re-prompts on silence, then says goodbye and hangs up', async () => {
    const { session, call, driver } = setup({ settings: { firstDigitMs: 5, maxReprompts: 1 } });
    const done = driver.run('needed');
    session.finishPrompt();
    await waitFor(() => session.plays.length === 2, 'the re-prompt');
    session.finishPrompt();
    await waitFor(() => session.plays.length === 3, 'goodbye');
    assert.deepEqual(session.plays, [['enter-pin'], ['enter-pin'], ['goodbye']]);
    session.finishPrompt();
    assert.deepEqual(await done, { checkSync: false, endedBy: 'dialogue' });
    assert.equal(call.hangups, 1);
  });

  it('a wrong PIN asks again; the next verify is a new one', async () => {
    const outcomes: VerifyOutcome[] = ['wrong', 'locked'];
    const pins: string[] = [];
    const { session, driver } = setup({
      verify: async (pin) => {
        pins.push(pin);
        return outcomes.shift()!;
      },
    });
    const done = driver.run('needed');
    session.press('111111#');
    await waitFor(() => session.plays.length === 2, 'the second prompt');
    assert.deepEqual(session.plays[1], ['wrong-pin', 'enter-pin']);
    session.press('222222#');
    await waitFor(() => session.plays.length === 3, 'the lock-out announcement');
    assert.deepEqual(session.plays[2], ['locked-out']);
    session.finishPrompt();
    assert.deepEqual(await done, { checkSync: false, endedBy: 'dialogue' });
    assert.deepEqual(pins, ['111111', '222222']);
  });

  it('when the phone hangs up during verification, waits for the outcome and still asks for the re-fetch on success', async () => {
    let answer!: (o: VerifyOutcome) => void;
    const { session, call, driver } = setup({
      verify: () =>
        new Promise((r) => {
          answer = r;
        }),
    });
    const done = driver.run('needed');
    session.press('123456#');
    await waitFor(() => answer !== undefined, 'the verification');
    call.emit('ended', 'remote-bye');
    let settled = false;
    void done.then(() => {
      settled = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'the run is not over while the attempt is out');
    answer('success');
    assert.deepEqual(await done, { checkSync: true, endedBy: 'phone' });
    assert.equal(call.hangups, 0, 'no BYE after the phone hung up');
    assert.equal(session.plays.length, 1, 'nothing played after the hangup');
  });

  it('end() hangs up, and so does media inactivity', async () => {
    const a = setup();
    const doneA = a.driver.run('needed');
    a.driver.end('maximum call time');
    assert.deepEqual(await doneA, { checkSync: false, endedBy: 'local' });
    assert.equal(a.call.hangups, 1);
    const b = setup();
    const doneB = b.driver.run('blocked');
    b.session.emit('inactive');
    assert.deepEqual(await doneB, { checkSync: false, endedBy: 'local' });
    assert.equal(b.call.hangups, 1);
  });

  it('a failing media command hangs up instead of leaving the caller in silence', async () => {
    const { session, call, driver, logLines } = setup();
    session.play = () => {
      throw new Error('engine gone');
    };
    const result = await driver.run('needed');
    assert.equal(result.endedBy, 'local');
    assert.equal(call.hangups, 1);
    assert.match(logLines.join('\n'), /engine gone/);
  });

  it('a verify that throws fails closed as service-unavailable', async () => {
    const { session, driver } = setup({
      verify: async () => {
        throw new Error('disk I/O error');
      },
    });
    const done = driver.run('needed');
    session.press('1#');
    await waitFor(() => session.plays.length === 2, 'the announcement');
    assert.deepEqual(session.plays[1], ['service-unavailable']);
    session.finishPrompt();
    await done;
  });
});

describe('verifyWith', () => {
  it('returns the outcome of the attempt, with the MAC and source address', async () => {
    const calls: unknown[][] = [];
    const auth = {
      attempt: async (...args: [string, string, string | null]) => {
        calls.push(args);
        return { outcome: 'wrong' as const, auth: null as never, triesLeft: 2, lockedUntil: null };
      },
    };
    const verify = verifyWith(auth, '001565aabbcc', '192.0.2.7', recordingLogger([]));
    assert.equal(await verify('424242'), 'wrong');
    assert.deepEqual(calls, [['001565aabbcc', '424242', '192.0.2.7']]);
  });

  it('turns any store error into unavailable, without logging the PIN', async () => {
    const lines: string[] = [];
    const auth = {
      attempt: async () => {
        throw new Error('SQLITE_BUSY: database is locked');
      },
    };
    assert.equal(await verifyWith(auth, '001565aabbcc', null, recordingLogger(lines))('424242'), 'unavailable');
    assert.match(lines.join('\n'), /SQLITE_BUSY/);
    assert.ok(!lines.join('\n').includes('424242'));
  });
});
