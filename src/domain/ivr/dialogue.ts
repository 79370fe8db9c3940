import type { IvrCommand, IvrEvent, IvrState, IvrStep, StartState, TimerName, VerifyOutcome } from './events';
import type { PromptName } from './prompts';
import type { IvrSettings } from './settings';

/**
 * The PIN dialogue of section 8 of docs/behaviour.md as a pure state machine:
 * step(state, event) -> {state, commands}. The driver executes the commands
 * and feeds back what happened; nothing here does I/O or reads a clock.
 */

export function initialIvrState(settings: Readonly<IvrSettings>): IvrState {
  return {
    settings,
    phase: 'idle',
    entry: '',
    noInputReprompts: 0,
    playing: false,
    timer: null,
    syncAfter: false,
    verifyOutstanding: false,
  };
}

export function step(state: IvrState, event: IvrEvent): IvrStep {
  switch (event.type) {
    case 'start':
      return state.phase === 'idle' ? onStart(state, event.device) : same(state);
    case 'digit':
      return onDigit(state, event.digit);
    case 'promptFinished':
      return onPromptFinished(state);
    case 'timeout':
      return onTimeout(state, event.timer);
    case 'verified':
      return onVerified(state, event.outcome);
    case 'hangup':
      return onHangup(state);
  }
}

const same = (state: IvrState): IvrStep => ({ state, commands: [] });

/** What a device in each state hears when it calls; `needed` gets the PIN dialogue. */
const ANNOUNCEMENT_AT_START: Record<Exclude<StartState, 'needed'>, { prompt: PromptName; sync: boolean }> = {
  failed: { prompt: 'auth-not-possible', sync: false },
  blocked: { prompt: 'blocked', sync: false },
  successful: { prompt: 'already-authenticated', sync: true },
  unavailable: { prompt: 'service-unavailable', sync: false },
};

/** What each verification outcome other than `wrong` announces before hanging up. */
const ANNOUNCEMENT_AFTER_VERIFY: Record<Exclude<VerifyOutcome, 'wrong'>, { prompt: PromptName; sync: boolean }> = {
  success: { prompt: 'success', sync: true },
  locked: { prompt: 'locked-out', sync: false },
  blocked: { prompt: 'blocked-now', sync: false },
  'already-failed': { prompt: 'auth-not-possible', sync: false },
  'already-blocked': { prompt: 'blocked', sync: false },
  'already-successful': { prompt: 'already-authenticated', sync: true },
  unavailable: { prompt: 'service-unavailable', sync: false },
};

function onStart(state: IvrState, device: StartState): IvrStep {
  if (device === 'needed') return askForPin(state, ['enter-pin'], 0);
  const a = ANNOUNCEMENT_AT_START[device];
  return announce(state, a.prompt, a.sync);
}

/** Plays the PIN prompt(s) and starts a fresh entry. */
function askForPin(state: IvrState, prompts: PromptName[], noInputReprompts: number): IvrStep {
  return {
    state: { ...state, phase: 'prompting', entry: '', noInputReprompts, playing: true, timer: null },
    commands: [...stopIfPlaying(state), ...cancelTimer(state), { type: 'play', prompts }],
  };
}

function announce(state: IvrState, prompt: PromptName, syncAfter: boolean): IvrStep {
  return {
    state: { ...state, phase: 'announcing', entry: '', playing: true, timer: null, syncAfter },
    commands: [...stopIfPlaying(state), ...cancelTimer(state), { type: 'play', prompts: [prompt] }],
  };
}

const stopIfPlaying = (state: IvrState): IvrCommand[] => (state.playing ? [{ type: 'stopPlayback' }] : []);
const cancelTimer = (state: IvrState): IvrCommand[] => (state.timer ? [{ type: 'cancelTimer', timer: state.timer }] : []);

function startTimer(state: IvrState, timer: TimerName): IvrCommand {
  const ms = timer === 'firstDigit' ? state.settings.firstDigitMs : state.settings.interDigitMs;
  return { type: 'startTimer', timer, ms };
}

function onDigit(state: IvrState, digit: string): IvrStep {
  if (state.phase !== 'prompting' && state.phase !== 'collecting') return same(state);
  if (digit === '*') return askForPin(state, ['enter-pin'], state.noInputReprompts);
  if (digit === '#') return submit(state);
  // A PAP is decimal: A-D (rare keys, or a misdetection) and anything else are ignored.
  if (!/^[0-9]$/.test(digit)) return same(state);
  if (state.entry.length >= state.settings.maxDigits) return same(state);
  const next: IvrState = { ...state, phase: 'collecting', entry: state.entry + digit, playing: false, timer: 'interDigit' };
  return {
    state: next,
    commands: [...stopIfPlaying(state), ...cancelTimer(state), startTimer(next, 'interDigit')],
  };
}

/** `#`: an empty entry is not an attempt and only re-prompts; otherwise verify it, once. */
function submit(state: IvrState): IvrStep {
  if (state.entry === '') return askForPin(state, ['enter-pin'], state.noInputReprompts);
  return {
    state: { ...state, phase: 'verifying', entry: '', playing: false, timer: null },
    commands: [...stopIfPlaying(state), ...cancelTimer(state), { type: 'verify', pin: state.entry }],
  };
}

function onPromptFinished(state: IvrState): IvrStep {
  if (!state.playing) return same(state); // a late report of a prompt we already cut
  if (state.phase === 'prompting') {
    const next: IvrState = { ...state, phase: 'collecting', playing: false, timer: 'firstDigit' };
    return { state: next, commands: [startTimer(next, 'firstDigit')] };
  }
  if (state.phase === 'announcing') {
    return {
      state: { ...state, phase: 'ended', playing: false, syncAfter: false },
      commands: state.syncAfter ? [{ type: 'hangup' }, { type: 'checkSync' }] : [{ type: 'hangup' }],
    };
  }
  return same(state);
}

/** No input (or a stalled entry): re-prompt a few times, then say goodbye. */
function onTimeout(state: IvrState, timer: TimerName): IvrStep {
  if (state.phase !== 'collecting' || state.timer !== timer) return same(state); // stale timer
  const expired: IvrState = { ...state, timer: null };
  if (state.noInputReprompts >= state.settings.maxReprompts) return announce(expired, 'goodbye', false);
  return askForPin(expired, ['enter-pin'], state.noInputReprompts + 1);
}

function onVerified(state: IvrState, outcome: VerifyOutcome): IvrStep {
  if (state.phase === 'ended' && state.verifyOutstanding) {
    // The phone hung up while we verified: the attempt still counted, and a success still needs the re-fetch.
    const sync = outcome === 'success' || outcome === 'already-successful';
    return { state: { ...state, verifyOutstanding: false }, commands: sync ? [{ type: 'checkSync' }] : [] };
  }
  if (state.phase !== 'verifying') return same(state);
  if (outcome === 'wrong') return askForPin(state, ['wrong-pin', 'enter-pin'], 0);
  const a = ANNOUNCEMENT_AFTER_VERIFY[outcome];
  return announce(state, a.prompt, a.sync);
}

/**
 * The call is over: only timers are cancelled. Exception: a device that is
 * authenticated (success announced, or a stale phone told so) still gets its
 * re-fetch when the person hangs up before the announcement ends.
 */
function onHangup(state: IvrState): IvrStep {
  if (state.phase === 'ended') return same(state);
  const sync = state.phase === 'announcing' && state.syncAfter;
  return {
    state: {
      ...state,
      phase: 'ended',
      entry: '',
      playing: false,
      timer: null,
      syncAfter: false,
      verifyOutstanding: state.phase === 'verifying',
    },
    commands: [...cancelTimer(state), ...(sync ? [{ type: 'checkSync' } as const] : [])],
  };
}
