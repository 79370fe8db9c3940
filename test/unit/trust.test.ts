import { strict as assert } from 'node:assert';
import { canonicalIp, isTrusted, parseAllowEntry } from '../../src/domain/trust';
import type { AllowEntry } from '../../src/domain/types';

const entry = (cidr: string): AllowEntry => ({ tenantId: 1, cidr: parseAllowEntry(cidr).cidr, createdAt: 0 });

describe('trusted networks (section 6 of docs/behaviour.md)', () => {
  it('accepts addresses and CIDR ranges in canonical form', () => {
    assert.deepEqual(parseAllowEntry('203.0.113.7'), { cidr: '203.0.113.7/32' });
    assert.deepEqual(parseAllowEntry(' 203.0.113.0/24 '), { cidr: '203.0.113.0/24' });
    assert.deepEqual(parseAllowEntry('2001:DB8:0:0::/48'), { cidr: '2001:db8::/48' });
    assert.deepEqual(parseAllowEntry('2001:db8::1'), { cidr: '2001:db8::1/128' });
    assert.deepEqual(parseAllowEntry('::ffff:198.51.100.1'), { cidr: '198.51.100.1/32' });
  });

  it('refuses nonsense with a clear message', () => {
    const cases: [string, RegExp][] = [
      ['999.1.1.1', /not an IPv4 or IPv6/],
      ['1.2.3', /not an IPv4/],
      ['10.0.0.0/33', /prefix length/],
      ['10.0.0.5/24', /host bits set: did you mean 10\.0\.0\.0\/24/],
      ['0.0.0.0/0', /every address/],
      ['::/0', /every address/],
      ['10.0.0.0/24/8', /not an IPv4/],
      ['hello', /not an IPv4/],
      ['', /missing/],
      ['10.0.0.0/x', /prefix length/],
      ['fe80::1%eth0', /not an IPv4/],
      ['010.0.0.1', /not an IPv4/],
    ];
    for (const [input, re] of cases) assert.throws(() => parseAllowEntry(input), re, input);
  });

  it('warns about absurdly wide ranges but accepts them', () => {
    assert.match(parseAllowEntry('10.0.0.0/8').warning!, /very wide range \(16777216 addresses\)/);
    assert.match(parseAllowEntry('2001:db8::/32').warning!, /very wide/);
    assert.equal(parseAllowEntry('10.1.0.0/16').warning, undefined);
  });

  it('matches permanent entries and open temporary windows only', () => {
    const permanent = [entry('203.0.113.0/24'), entry('2001:db8::/48')];
    const temporary = [{ tenantId: 1, ip: '198.51.100.9', until: 1000 }];
    assert.equal(isTrusted('203.0.113.200', permanent, [], 0), true);
    assert.equal(isTrusted('203.0.114.1', permanent, [], 0), false);
    assert.equal(isTrusted('2001:db8:0:ffff::1', permanent, [], 0), true);
    assert.equal(isTrusted('::ffff:203.0.113.5', permanent, [], 0), true);
    assert.equal(isTrusted('198.51.100.9', [], temporary, 999), true);
    assert.equal(isTrusted('198.51.100.9', [], temporary, 1000), false);
    assert.equal(isTrusted('not-an-ip', permanent, temporary, 0), false);
  });

  it('canonicalises client addresses', () => {
    assert.equal(canonicalIp('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(canonicalIp('2001:DB8::0:1'), '2001:db8::1');
    assert.equal(canonicalIp('garbage'), null);
  });
});
