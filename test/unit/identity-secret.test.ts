import { strict as assert } from 'node:assert';
import { hashSecret, matchSecret, rotate } from '../../src/domain/identity-secret';
import { decide, minimalLabel } from '../../src/domain/provisioning-decision';
import { newAuthRecord, suspend } from '../../src/domain/auth';
import { DEFAULT_POLICY } from '../../src/domain/policy';

const A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccccccccccccccccccc';

describe('identity secret rotation (sections 7 and 10 of docs/behaviour.md)', () => {
  it('the previous secret stays valid until the new one is first used', () => {
    // Full config #1 via trust hands out A.
    let s = rotate({ secretHash: null, prevSecretHash: null }, null, hashSecret(A));
    assert.equal(matchSecret(s, A), 'current');
    // The phone proves itself with A and gets B; it may not have applied B yet.
    s = rotate(s, hashSecret(A), hashSecret(B));
    assert.equal(matchSecret(s, A), 'previous');
    assert.equal(matchSecret(s, B), 'current');
    // The phone uses B (so it applied it) and gets C: A is gone now.
    s = rotate(s, hashSecret(B), hashSecret(C));
    assert.equal(matchSecret(s, A), null);
    assert.equal(matchSecret(s, B), 'previous');
    assert.equal(matchSecret(s, C), 'current');
  });

  it('a phone that keeps failing to apply keeps its working secret', () => {
    let s = rotate({ secretHash: hashSecret(A), prevSecretHash: null }, hashSecret(A), hashSecret(B));
    s = rotate(s, hashSecret(A), hashSecret(C)); // used A again: B never applied
    assert.equal(matchSecret(s, A), 'previous');
    assert.equal(matchSecret(s, B), null);
    assert.equal(matchSecret(s, C), 'current');
  });

  it('rejects absent and malformed secrets without hashing junk', () => {
    const s = { secretHash: hashSecret(A), prevSecretHash: null };
    assert.equal(matchSecret(s, null), null);
    assert.equal(matchSecret(s, 'short'), null);
    assert.equal(matchSecret(s, '../../etc/passwd'), null);
  });
});

describe('provisioning decision (section 7 of docs/behaviour.md)', () => {
  const auth = newAuthRecord('123456');
  it('follows rules 2 to 5 in order', () => {
    assert.deepEqual(decide({ auth, secretValid: true, trusted: false, now: 0 }), { config: 'full', reason: 'secret' });
    assert.deepEqual(decide({ auth: suspend(auth, 0, DEFAULT_POLICY), secretValid: false, trusted: false, now: 1 }), { config: 'full', reason: 'suspended' });
    assert.deepEqual(decide({ auth, secretValid: false, trusted: true, now: 0 }), { config: 'full', reason: 'trusted' });
    assert.deepEqual(decide({ auth, secretValid: false, trusted: false, now: 0 }), { config: 'minimal', state: 'needed' });
  });

  it('names the suspension only when it alone earned the full configuration (it then opens no trust)', () => {
    const suspended = suspend(auth, 0, DEFAULT_POLICY);
    assert.deepEqual(decide({ auth: suspended, secretValid: false, trusted: true, now: 1 }), { config: 'full', reason: 'trusted' });
    assert.deepEqual(decide({ auth: suspended, secretValid: true, trusted: false, now: 1 }), { config: 'full', reason: 'secret' });
  });

  it('trust and suspension apply in failed and blocked states too', () => {
    for (const state of ['failed', 'blocked'] as const) {
      const locked = { ...auth, state, lockedUntil: state === 'failed' ? 10_000 : null };
      assert.equal(decide({ auth: locked, secretValid: false, trusted: true, now: 0 }).config, 'full');
      assert.deepEqual(decide({ auth: locked, secretValid: false, trusted: false, now: 0 }), { config: 'minimal', state });
    }
  });

  it('labels the minimal configuration by state', () => {
    assert.equal(minimalLabel('needed'), 'Authentication needed');
    assert.equal(minimalLabel('failed'), 'Authentication failed');
    assert.equal(minimalLabel('blocked'), 'Authentication blocked');
  });
});
