import { strict as assert } from 'node:assert';
import { SourceLimits, type LimitName, type SourceLimitSettings } from '../../src/app/source-limits';
import { loadConfig } from '../../src/config/config';
import { KeyedRateLimiter, sourceKey } from '../../src/domain/rate-limit';

describe('KeyedRateLimiter (token bucket per key)', () => {
  it('allows a burst, then refuses until a token has refilled, and says how long to wait', () => {
    const rl = new KeyedRateLimiter({ perSecond: 2, burst: 3, maxKeys: 10 });
    for (let i = 0; i < 3; i++) assert.equal(rl.take('a', 0).allowed, true);
    const refused = rl.take('a', 0);
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterMs, 500);
    assert.equal(rl.take('a', 499).allowed, false);
    assert.equal(rl.take('a', 500).allowed, true);
    assert.equal(rl.take('a', 500).allowed, false);
  });

  it('keeps keys apart', () => {
    const rl = new KeyedRateLimiter({ perSecond: 1, burst: 1, maxKeys: 10 });
    assert.equal(rl.take('a', 0).allowed, true);
    assert.equal(rl.take('a', 0).allowed, false);
    assert.equal(rl.take('b', 0).allowed, true);
  });

  it('never holds more than the burst, however long the key was quiet', () => {
    const rl = new KeyedRateLimiter({ perSecond: 100, burst: 2, maxKeys: 10 });
    rl.take('a', 0);
    let allowed = 0;
    for (let i = 0; i < 10; i++) if (rl.take('a', 1e9).allowed) allowed++;
    assert.equal(allowed, 2);
  });

  it('wait() tells the time to the next token without taking one', () => {
    const rl = new KeyedRateLimiter({ perSecond: 1, burst: 1, maxKeys: 10 });
    assert.equal(rl.wait('a', 0), 0);
    rl.take('a', 0);
    assert.equal(rl.wait('a', 0), 1000);
    assert.equal(rl.wait('a', 400), 600);
    assert.equal(rl.wait('a', 1000), 0);
    assert.equal(rl.take('a', 1000).allowed, true);
  });

  it('a clock stepping back neither refills nor throws', () => {
    const rl = new KeyedRateLimiter({ perSecond: 1, burst: 1, maxKeys: 10 });
    rl.take('a', 10_000);
    assert.equal(rl.take('a', 0).allowed, false);
    assert.equal(rl.take('a', 10_999).allowed, false);
    assert.equal(rl.take('a', 11_000).allowed, true);
  });

  it('stays within maxKeys under a flood of distinct keys, forgetting the least recently seen', () => {
    const rl = new KeyedRateLimiter({ perSecond: 1, burst: 1, maxKeys: 1000 });
    rl.take('busy', 0);
    for (let i = 0; i < 200_000; i++) {
      rl.take(`k${i}`, 0);
      if (i % 500 === 0) rl.take('busy', 0); // seen often: stays remembered (and refused)
      assert.ok(rl.size <= 1000);
    }
    assert.equal(rl.size, 1000);
    assert.equal(rl.take('busy', 0).allowed, false, 'a key in use is not evicted by the flood');
    assert.equal(rl.take('k0', 0).allowed, true, 'a key long unseen was forgotten (a fresh bucket)');
  });

  it('refuses settings that make no sense', () => {
    assert.throws(() => new KeyedRateLimiter({ perSecond: 0, burst: 1, maxKeys: 1 }), RangeError);
    assert.throws(() => new KeyedRateLimiter({ perSecond: 1, burst: 0, maxKeys: 1 }), RangeError);
    assert.throws(() => new KeyedRateLimiter({ perSecond: 1, burst: 1, maxKeys: 0 }), RangeError);
  });
});

describe('sourceKey', () => {
  it('limits IPv4 per address and IPv6 per /64', () => {
    assert.equal(sourceKey('203.0.113.7'), '203.0.113.7');
    assert.equal(sourceKey('2001:db8:1:2::1'), sourceKey('2001:db8:1:2:ffff:eeee:dddd:cccc'));
    assert.notEqual(sourceKey('2001:db8:1:2::1'), sourceKey('2001:db8:1:3::1'));
    assert.equal(sourceKey('::1'), '0:0:0:0::/64');
  });
});

const SETTINGS: SourceLimitSettings = {
  sipRequestsPerSecond: 10,
  sipRequestsBurst: 20,
  ivrCallsPerMinutePerSource: 3,
  ivrCallsPerMinutePerDevice: 2,
  provisioning404PerMinute: 6,
  provisioning404Burst: 5,
  provisioningPerSecond: 0,
  provisioningBurst: 1,
  maxSources: 1000,
  exempt: ['192.0.2.0/24'],
};

function limits(overrides: Partial<SourceLimitSettings> = {}) {
  let now = 1_000_000;
  const refused: string[] = [];
  const l = new SourceLimits({ ...SETTINGS, ...overrides }, { now: () => now }, (limit: LimitName, action) => refused.push(`${limit}:${action}`));
  return {
    l,
    refused,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('SourceLimits', () => {
  it('SIP: the burst passes, then 503 with Retry-After, then silence when far over', () => {
    const { l, refused, advance } = limits();
    const kinds = Array.from({ length: 40 }, () => l.sipRequest('203.0.113.1').kind);
    assert.deepEqual(kinds.slice(0, 20), Array(20).fill('pass'));
    assert.deepEqual(kinds.slice(20, 30), Array(10).fill('refuse'));
    assert.deepEqual(kinds.slice(30), Array(10).fill('drop'));
    assert.equal(refused.filter((r) => r === 'sip_requests:answered').length, 10);
    assert.equal(refused.filter((r) => r === 'sip_requests:dropped').length, 10);
    const v = l.sipRequest('203.0.113.1');
    assert.equal(v.kind, 'drop');
    assert.equal(l.sipRequest('203.0.113.2').kind, 'pass', 'another source is not affected');
    advance(100);
    const next = l.sipRequest('203.0.113.1');
    assert.equal(next.kind, 'pass');
    const r = l.sipRequest('203.0.113.1'); // the refill also gave back one 503
    assert.ok(r.kind === 'refuse' && r.retryAfterSeconds >= 1);
  });

  it('IPv4-mapped IPv6 is the same source as IPv4', () => {
    const { l } = limits({ sipRequestsBurst: 1, sipRequestsPerSecond: 1 });
    assert.equal(l.sipRequest('::ffff:203.0.113.1').kind, 'pass');
    assert.equal(l.sipRequest('203.0.113.1').kind, 'refuse');
  });

  it('exempt networks and limits set to 0 are never limited', () => {
    const { l } = limits();
    for (let i = 0; i < 1000; i++) assert.equal(l.sipRequest('192.0.2.55').kind, 'pass');
    const off = limits({ sipRequestsPerSecond: 0, ivrCallsPerMinutePerDevice: 0, ivrCallsPerMinutePerSource: 0, provisioning404PerMinute: 0 }).l;
    for (let i = 0; i < 1000; i++) {
      assert.equal(off.sipRequest('203.0.113.1').kind, 'pass');
      assert.equal(off.ivrCall('203.0.113.1', 'aabbccddeeff').kind, 'pass');
      off.provisioningNotFound('203.0.113.1');
    }
    assert.equal(off.provisioningWait('203.0.113.1'), 0);
  });

  it('IVR: a device over its budget gets 486, a source over its budget 503; a refused call costs nothing', () => {
    const { l, advance } = limits();
    assert.equal(l.ivrCall('203.0.113.1', 'dev1').kind, 'pass');
    assert.equal(l.ivrCall('203.0.113.1', 'dev1').kind, 'pass');
    assert.deepEqual(l.ivrCall('203.0.113.1', 'dev1'), { kind: 'refuse', status: 486, limit: 'ivr_calls_device' });
    assert.equal(l.ivrCall('203.0.113.1', 'dev2').kind, 'pass', 'the refused call did not use the source budget');
    assert.deepEqual(l.ivrCall('203.0.113.1', 'dev3'), { kind: 'refuse', status: 503, limit: 'ivr_calls_source' });
    assert.equal(l.ivrCall('203.0.113.9', 'dev3').kind, 'pass', 'the refused call did not use the device budget');
    advance(60_000);
    assert.equal(l.ivrCall('203.0.113.1', 'dev1').kind, 'pass');
  });

  it('provisioning: past the 404 budget every request waits, until a token refills', () => {
    const { l, refused, advance } = limits();
    for (let i = 0; i < 5; i++) {
      assert.equal(l.provisioningWait('203.0.113.1'), 0);
      l.provisioningNotFound('203.0.113.1');
    }
    assert.equal(l.provisioningWait('203.0.113.1'), 10);
    assert.equal(l.provisioningWait('203.0.113.2'), 0);
    assert.ok(refused.includes('provisioning_404:answered'));
    advance(10_000);
    assert.equal(l.provisioningWait('203.0.113.1'), 0);
  });

  it('provisioning: past the request budget every request waits, misses or not, and a wait costs no token', () => {
    const { l, refused, advance } = limits({ provisioningPerSecond: 2, provisioningBurst: 4 });
    for (let i = 0; i < 4; i++) assert.equal(l.provisioningWait('203.0.113.1'), 0);
    assert.equal(l.provisioningWait('203.0.113.1'), 1, 'the fifth at once waits a second (2 a second)');
    assert.equal(l.provisioningWait('203.0.113.2'), 0, 'another source has its own budget');
    assert.deepEqual(refused, ['provisioning_requests:answered']);
    advance(500);
    assert.equal(l.provisioningWait('203.0.113.1'), 0, 'one token back after half a second');
    assert.equal(l.provisioningWait('203.0.113.1'), 1);
    for (let i = 0; i < 100; i++) assert.equal(l.provisioningWait('192.0.2.7'), 0, 'exempt');
  });
});

describe('limit settings', () => {
  it('have defaults sized for a big NAT and reject bad values', () => {
    const c = loadConfig({});
    assert.equal(c.limitSipPerSecond, 100);
    assert.equal(c.limitProvisioning404Burst, 3000);
    assert.equal(c.limitProvisioningPerSecond, 100);
    assert.equal(c.limitProvisioningBurst, 5000);
    assert.deepEqual(c.limitExempt, []);
    assert.deepEqual(loadConfig({ PAPGATE_LIMIT_EXEMPT: '10.0.0.0/8, 192.0.2.1' }).limitExempt, ['10.0.0.0/8', '192.0.2.1']);
    assert.throws(() => loadConfig({ PAPGATE_LIMIT_EXEMPT: '10.0.0.1/8' }), /PAPGATE_LIMIT_EXEMPT/);
    assert.throws(() => loadConfig({ PAPGATE_LIMIT_SIP_PER_SECOND: '-1' }), /PAPGATE_LIMIT_SIP_PER_SECOND/);
  });
});
