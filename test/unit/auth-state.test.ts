import { strict as assert } from 'node:assert';
import { attempt, effectiveState, isSuspended, newAuthRecord, resetAuth, suspend } from '../../src/domain/auth';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import type { AuthRecord } from '../../src/domain/types';

const P = DEFAULT_POLICY;
const MIN = 60_000;

function wrongTimes(auth: AuthRecord, n: number, now: number) {
  const outcomes: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = attempt(auth, '999999', now, P);
    outcomes.push(r.outcome);
    auth = r.auth;
  }
  return { auth, outcomes };
}

describe('authentication state machine (section 4 of docs/behaviour.md)', () => {
  const fresh = () => newAuthRecord('123456');

  it('1: needed -> successful on the right PAP, which is then cleared', () => {
    const r = attempt(fresh(), '123456', 0, P);
    assert.equal(r.outcome, 'success');
    assert.equal(r.auth.state, 'successful');
    assert.equal(r.auth.pap, null);
    assert.equal(attempt(r.auth, '123456', 1, P).outcome, 'already-successful');
  });

  it('2: the 3rd wrong PAP in a row locks for 30 minutes; a success in between resets the count', () => {
    const { auth, outcomes } = wrongTimes(fresh(), 3, 0);
    assert.deepEqual(outcomes, ['wrong', 'wrong', 'locked']);
    assert.equal(auth.state, 'failed');
    assert.equal(auth.lockedUntil, 30 * MIN);
    const r = attempt(auth, '123456', 29 * MIN, P);
    assert.equal(r.outcome, 'already-failed', 'no PAP is accepted while locked, not even the right one');
    assert.equal(r.triesLeft >= 0, true);
  });

  it('reports the tries left after a wrong PAP', () => {
    const r = attempt(fresh(), '000000', 0, P);
    assert.equal(r.triesLeft, 2);
  });

  it('3: failed -> needed lazily when the lock-out ends, with a fresh count', () => {
    const { auth } = wrongTimes(fresh(), 3, 0);
    assert.equal(effectiveState(auth, 30 * MIN - 1), 'failed');
    assert.equal(effectiveState(auth, 30 * MIN), 'needed');
    const r = attempt(auth, '000000', 30 * MIN, P);
    assert.equal(r.outcome, 'wrong');
    assert.equal(r.auth.failures, 1);
    assert.equal(attempt(auth, '123456', 31 * MIN, P).outcome, 'success');
  });

  it('4: the lock-out that would be the 3rd blocks instead: at most 9 wrong PAPs ever', () => {
    let auth = fresh();
    const all: string[] = [];
    for (let round = 0; round < 3; round++) {
      const now = round * 31 * MIN;
      const r = wrongTimes(auth, 3, now);
      all.push(...r.outcomes);
      auth = r.auth;
    }
    assert.deepEqual(all, ['wrong', 'wrong', 'locked', 'wrong', 'wrong', 'locked', 'wrong', 'wrong', 'blocked']);
    assert.equal(auth.state, 'blocked');
    assert.equal(effectiveState(auth, 1e12), 'blocked');
    assert.equal(attempt(auth, '123456', 1e12, P).outcome, 'already-blocked');
  });

  it('a success between lock-outs clears the lock-out count', () => {
    let auth = wrongTimes(fresh(), 3, 0).auth;
    auth = attempt(auth, '123456', 31 * MIN, P).auth;
    auth = resetAuth(auth, '654321');
    assert.equal(auth.lockouts, 0);
    const r = wrongTimes(auth, 3, 40 * MIN);
    assert.equal(r.outcomes[2], 'locked');
  });

  it('5: reset from any state gives a new PAP and clears counters and suspension', () => {
    const blocked = wrongTimes(wrongTimes(wrongTimes(fresh(), 3, 0).auth, 3, 31 * MIN).auth, 3, 62 * MIN).auth;
    for (const start of [fresh(), blocked, attempt(fresh(), '123456', 0, P).auth, suspend(fresh(), 0, P)]) {
      const r = resetAuth(start, '000111');
      assert.deepEqual(r, { state: 'needed', pap: '000111', failures: 0, lockouts: 0, lockedUntil: null, suspendedUntil: null });
    }
  });

  it('suspension lasts the configured time from now', () => {
    const s = suspend(fresh(), 1000, P);
    assert.equal(isSuspended(s, 1000 + 30 * MIN - 1), true);
    assert.equal(isSuspended(s, 1000 + 30 * MIN), false);
    assert.equal(isSuspended(fresh(), 0), false);
  });

  it('every number is a setting', () => {
    const policy = { ...P, maxFailures: 1, lockoutMs: 10, maxLockouts: 2 };
    let r = attempt(fresh(), '0', 0, policy);
    assert.equal(r.outcome, 'locked');
    assert.equal(r.auth.lockedUntil, 10);
    r = attempt(r.auth, '0', 10, policy);
    assert.equal(r.outcome, 'blocked');
  });
});
