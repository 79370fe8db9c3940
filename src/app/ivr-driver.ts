import {
  initialIvrState,
  step,
  type IvrCommand,
  type IvrEvent,
  type IvrSettings,
  type IvrState,
  type StartState,
  type TimerName,
  type VerifyOutcome,
} from '../domain/ivr';
import type { Locale } from '../domain/types';
import type { Logger } from '../ports/logger';
import type { MediaSession } from '../ports/media';
import type { CallEndReason, InboundCall } from '../ports/signalling';
import type { Authentication } from './authentication';
import type { PromptLibrary } from './prompt-library';

export interface IvrDriverDeps {
  /** SIP INFO digits come from here, and the BYE goes out here. */
  call: Pick<InboundCall, 'on' | 'hangup'>;
  session: MediaSession;
  prompts: Pick<PromptLibrary, 'path'>;
  locale: Locale;
  settings: Readonly<IvrSettings>;
  /** Checks a PIN. Store failures must come back as 'unavailable' (see verifyWith). */
  verify(pin: string): Promise<VerifyOutcome>;
  /** The call's child logger. */
  log: Logger;
}

export type IvrEndedBy = 'dialogue' | 'phone' | 'local';

export interface IvrRunResult {
  /** The device is authenticated: send it a check-sync NOTIFY now that the call is over. */
  checkSync: boolean;
  endedBy: IvrEndedBy;
}

/** Which of the two digit paths a call uses: the first one that brings a digit (some phones send both). */
type DigitPath = 'media' | 'info';

/**
 * Runs one PIN dialogue (src/domain/ivr) over a media session and a call:
 * turns their events into dialogue events and executes the commands.
 * Events are queued so each step's commands all run before the next event,
 * even when the media engine reports something synchronously.
 */
export class IvrDriver {
  private state: IvrState;
  private readonly queue: IvrEvent[] = [];
  private processing = false;
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  /** One entry per play() whose playbackFinished has not come yet; `stale` once we cut it. */
  private readonly playbacks: { stale: boolean }[] = [];
  private verifying = 0;
  private digitPath: DigitPath | null = null;
  private checkSync = false;
  private endedBy: IvrEndedBy | null = null;
  private hangupSent: Promise<void> | null = null;
  private finishing = false;
  private resolveRun: ((r: IvrRunResult) => void) | null = null;

  constructor(private readonly d: IvrDriverDeps) {
    this.state = initialIvrState(d.settings);
  }

  /** Starts the dialogue; resolves when the call is over and no verification is out. */
  run(start: StartState): Promise<IvrRunResult> {
    if (this.resolveRun) throw new Error('IvrDriver.run called twice');
    const done = new Promise<IvrRunResult>((resolve) => {
      this.resolveRun = resolve;
    });
    const { session, call } = this.d;
    session.on('digit', (digit) => this.onDigit(digit, 'media'));
    session.on('playbackFinished', () => this.onPlaybackFinished());
    session.on('inactive', () => this.end('no media from the phone'));
    call.on('dtmf', (digit) => this.onDigit(digit, 'info'));
    call.on('ended', (reason) => this.phoneEnded(reason));
    this.d.log.info({ device: start }, 'ivr start');
    this.dispatch({ type: 'start', device: start });
    return done;
  }

  /** The phone ended the call (BYE, CANCEL, transport failure): no BYE from us. */
  phoneEnded(reason: CallEndReason): void {
    if (this.state.phase === 'ended') return;
    this.endedBy ??= 'phone';
    this.d.log.info({ reason }, 'call ended by the phone');
    this.dispatch({ type: 'hangup' });
  }

  /** We end the call (maximum call time, media gone, an error): sends the BYE. */
  end(why: string): void {
    if (this.state.phase === 'ended') return;
    this.endedBy ??= 'local';
    this.d.log.info({ why }, 'ending the call');
    this.sendHangup(); // first, so the run waits for the BYE
    this.dispatch({ type: 'hangup' });
  }

  private onDigit(digit: string, path: DigitPath): void {
    if (this.digitPath !== null && this.digitPath !== path) return; // the same key press, reported twice
    if (this.digitPath === null && path === 'info') this.d.session.ignoreDigits?.(); // media digits would be dropped anyway
    this.digitPath = path;
    this.dispatch({ type: 'digit', digit });
  }

  private onPlaybackFinished(): void {
    const playback = this.playbacks.shift();
    if (playback && !playback.stale) this.dispatch({ type: 'promptFinished' });
  }

  private dispatch(event: IvrEvent): void {
    this.queue.push(event);
    if (this.processing) return;
    this.processing = true;
    try {
      for (let e = this.queue.shift(); e; e = this.queue.shift()) {
        const r = step(this.state, e);
        this.state = r.state;
        for (const c of r.commands) this.execute(c);
      }
    } finally {
      this.processing = false;
    }
    this.finishIfOver();
  }

  private execute(c: IvrCommand): void {
    try {
      this.executeUnsafe(c);
    } catch (err) {
      this.d.log.error({ err, command: c.type }, 'ivr command failed');
      this.queue.push({ type: 'hangup' });
      this.endedBy ??= 'local';
      this.sendHangup();
    }
  }

  private executeUnsafe(c: IvrCommand): void {
    switch (c.type) {
      case 'play': {
        const files = c.prompts.map((name) => this.d.prompts.path(this.d.locale, name));
        // A new play replaces one still running; the engine reports that one as finished (interrupted).
        for (const p of this.playbacks) p.stale = true;
        this.playbacks.push({ stale: false });
        this.d.session.play(files);
        return;
      }
      case 'stopPlayback':
        for (const p of this.playbacks) p.stale = true; // before stopping: the engine may report synchronously
        this.d.session.stopPlayback();
        return;
      case 'startTimer':
        return this.startTimer(c.timer, c.ms);
      case 'cancelTimer':
        return this.cancelTimer(c.timer);
      case 'verify':
        return this.startVerify(c.pin);
      case 'hangup':
        this.endedBy ??= 'dialogue';
        this.sendHangup();
        return;
      case 'checkSync':
        this.checkSync = true;
        return;
    }
  }

  private startTimer(name: TimerName, ms: number): void {
    this.cancelTimer(name);
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        this.dispatch({ type: 'timeout', timer: name });
      }, ms),
    );
  }

  private cancelTimer(name: TimerName): void {
    const t = this.timers.get(name);
    if (t) clearTimeout(t);
    this.timers.delete(name);
  }

  private startVerify(pin: string): void {
    this.verifying++;
    this.d
      .verify(pin)
      .catch((err: unknown): VerifyOutcome => {
        this.d.log.error({ err }, 'PIN verification failed');
        return 'unavailable';
      })
      .then((outcome) => {
        this.verifying--;
        this.d.log.info({ outcome }, 'PIN verified');
        this.dispatch({ type: 'verified', outcome });
      })
      // A throw while acting on the verdict must not become an unhandled rejection (it would end the process).
      .catch((err: unknown) => {
        this.d.log.error({ err }, 'IVR failed after the PIN check: hanging up');
        this.sendHangup();
      });
  }

  private sendHangup(): void {
    if (this.hangupSent || this.endedBy === 'phone') return;
    this.hangupSent = this.d.call.hangup().catch((err: unknown) => {
      this.d.log.warn({ err }, 'hangup failed');
    });
  }

  /** Over when the dialogue ended and no verification is out (its outcome may still ask for a re-fetch). */
  private finishIfOver(): void {
    if (this.finishing || this.state.phase !== 'ended' || this.verifying > 0) return;
    this.finishing = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    const result: IvrRunResult = { checkSync: this.checkSync, endedBy: this.endedBy ?? 'phone' };
    void (this.hangupSent ?? Promise.resolve()).then(() => this.resolveRun?.(result));
  }
}

/**
 * A `verify` for the driver over the Authentication use case. Fails closed:
 * any error (store down, device deleted mid-call) reads as 'unavailable'.
 */
export function verifyWith(auth: Pick<Authentication, 'attempt'>, mac: string, sourceIp: string | null, log: Logger): (pin: string) => Promise<VerifyOutcome> {
  return async (pin) => {
    try {
      return (await auth.attempt(mac, pin, sourceIp)).outcome;
    } catch (err) {
      log.error({ err }, 'PIN attempt could not be checked: failing closed');
      return 'unavailable';
    }
  };
}
