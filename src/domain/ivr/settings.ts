/** Timing and limits of the PIN dialogue; every one is a setting so tests can shorten them. */
export interface IvrSettings {
  /** Digits kept per entry; further digits before `#` are ignored. */
  maxDigits: number;
  /** Silence allowed after a prompt ends before the first digit. */
  firstDigitMs: number;
  /** Silence allowed between two digits. */
  interDigitMs: number;
  /** Re-prompts after no input before saying goodbye. */
  maxReprompts: number;
}

export const DEFAULT_IVR_SETTINGS: Readonly<IvrSettings> = Object.freeze({
  maxDigits: 12,
  firstDigitMs: 7000,
  interDigitMs: 5000,
  maxReprompts: 3,
});
