import type { AttemptOutcome } from '../auth';
import type { AuthState } from '../types';
import type { PromptName } from './prompts';
import type { IvrSettings } from './settings';

/** The dialogue's two named timers. */
export type TimerName = 'firstDigit' | 'interDigit';

/** The device's state when the call starts; `unavailable` when the store could not be read. */
export type StartState = AuthState | 'unavailable';

/** What a verification came back with; `unavailable` when the store failed (fail closed). */
export type VerifyOutcome = AttemptOutcome | 'unavailable';

export type IvrEvent =
  | { type: 'start'; device: StartState }
  /** One key press: 0-9, *, #, A-D. */
  | { type: 'digit'; digit: string }
  /** The last `play` ended (played out or cut by stopPlayback). */
  | { type: 'promptFinished' }
  | { type: 'timeout'; timer: TimerName }
  | { type: 'verified'; outcome: VerifyOutcome }
  /** The call is over (the phone hung up, or the driver ended it). */
  | { type: 'hangup' };

export type IvrCommand =
  /** Play these prompts one after the other. */
  | { type: 'play'; prompts: PromptName[] }
  | { type: 'stopPlayback' }
  /** Starts (or restarts) the named timer. */
  | { type: 'startTimer'; timer: TimerName; ms: number }
  | { type: 'cancelTimer'; timer: TimerName }
  /** Check this PIN against the store; answer with a `verified` event. */
  | { type: 'verify'; pin: string }
  | { type: 'hangup' }
  /** After the call: make the phone re-fetch its configuration. */
  | { type: 'checkSync' };

export type IvrPhase =
  | 'idle' // before `start`
  | 'prompting' // asking for the PIN; a digit interrupts the prompt
  | 'collecting' // prompt over, a timer runs, digits accumulate
  | 'verifying' // a `verify` is out; input is ignored
  | 'announcing' // a final announcement plays; then hang up
  | 'ended';

export interface IvrState {
  readonly settings: Readonly<IvrSettings>;
  readonly phase: IvrPhase;
  /** Digits typed since the last clear. Never log this. */
  readonly entry: string;
  /** Re-prompts after no input so far in this round of collecting. */
  readonly noInputReprompts: number;
  /** A prompt of ours is playing (so a digit must stop it). */
  readonly playing: boolean;
  readonly timer: TimerName | null;
  /** In `announcing`: the re-fetch is due after the call. */
  readonly syncAfter: boolean;
  /** In `ended`: a verification is still out, and a success must still trigger the re-fetch. */
  readonly verifyOutstanding: boolean;
}

export interface IvrStep {
  state: IvrState;
  commands: IvrCommand[];
}
