/** Every number of sections 4-6 of docs/behaviour.md, as settings with the spec's defaults. */
export interface Policy {
  /** Wrong PAPs in a row that lock the device. */
  maxFailures: number;
  lockoutMs: number;
  /** The lock-out that would be this one (without a success between) blocks instead. */
  maxLockouts: number;
  suspendMs: number;
  /** Temporary trust window opened or extended by a full provisioning. */
  trustMs: number;
}

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  maxFailures: 3,
  lockoutMs: 30 * 60_000,
  maxLockouts: 3,
  suspendMs: 30 * 60_000,
  trustMs: 8 * 3_600_000,
});
