import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { announcedState, nextAttemptAt, parseWebhookUrl, webhookSignature } from '../../src/domain/webhook';
import { isPapgateError } from '../../src/domain/errors';

describe('webhook rules', () => {
  it('announces entering blocked, failed and successful, not staying or needed', () => {
    assert.equal(announcedState('needed', 'failed'), 'failed');
    assert.equal(announcedState('needed', 'blocked'), 'blocked');
    assert.equal(announcedState('failed', 'successful'), 'successful');
    assert.equal(announcedState(null, 'successful'), 'successful');
    assert.equal(announcedState('successful', 'successful'), null);
    assert.equal(announcedState('failed', 'needed'), null);
    assert.equal(announcedState('blocked', 'needed'), null);
  });

  it('signs t.body with HMAC-SHA256', () => {
    const body = '{"id":"evt_1"}';
    const v1 = createHmac('sha256', 'whsec_k').update(`1700000000.${body}`).digest('hex');
    assert.equal(webhookSignature('whsec_k', 1_700_000_000, body), `t=1700000000,v1=${v1}`);
  });

  it('backs off exponentially with jitter, capped, and gives up by attempts or age', () => {
    const p = { firstDelayMs: 1000, maxDelayMs: 3_600_000, maxAttempts: 5, maxAgeMs: 86_400_000 };
    assert.equal(nextAttemptAt(p, 1, 0, 0, 0), 500);
    assert.equal(nextAttemptAt(p, 1, 0, 0, 0.999999), 1000);
    assert.equal(nextAttemptAt(p, 3, 0, 0, 0), 2000);
    assert.equal(nextAttemptAt({ ...p, maxAttempts: 100 }, 40, 0, 0, 0), 1_800_000, 'capped at the maximum');
    assert.equal(nextAttemptAt(p, 5, 0, 0, 0), null, 'attempts used up');
    assert.equal(nextAttemptAt(p, 2, 0, 86_400_000, 0), null, 'too old');
  });

  it('takes http and https URLs only, without credentials', () => {
    assert.equal(parseWebhookUrl(' https://hooks.example/p?a=1#frag '), 'https://hooks.example/p?a=1');
    assert.equal(parseWebhookUrl('http://127.0.0.1:9/x'), 'http://127.0.0.1:9/x');
    for (const bad of [
      'file:///etc/passwd',
      'ftp://x.example/',
      'gopher://x.example:70/',
      'javascript:alert(1)',
      'data:,x',
      'https://user:pw@hooks.example/',
      'not a url',
      '',
      42,
      null,
      `https://x.example/${'a'.repeat(2100)}`,
    ]) {
      assert.throws(
        () => parseWebhookUrl(bad),
        (e) => isPapgateError(e) && e.code === 'invalid' && e.field === 'url',
        String(bad),
      );
    }
  });
});
