/** Wall-clock time enters the system only through this port (tests pass a fake). */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
