import { strict as assert } from 'node:assert';
import { formatMac, parseMac, tryParseMac } from '../../src/domain/mac';
import { PapgateError } from '../../src/domain/errors';

describe('MAC addresses (section 2 of docs/behaviour.md)', () => {
  it('accepts every documented spelling and returns one canonical form', () => {
    for (const input of ['1a2b3c4d5e6f', '1a:2b:3c:4d:5e:6f', '1A-2B-3C-4D-5E-6F', '1a2b.3c4d.5e6f', '1A2B3C4D5E6F', '  1a:2B:3c:4D:5e:6F ']) {
      assert.equal(parseMac(input), '1a2b3c4d5e6f', input);
    }
  });

  it('rejects malformed input with a message that says what a MAC looks like', () => {
    for (const bad of [
      '',
      '1a2b3c4d5e',
      '1a2b3c4d5e6f7',
      '1a:2b:3c:4d:5e',
      '1a:2b-3c:4d:5e:6f',
      'gg2b3c4d5e6f',
      '1a2b.3c4d.5e6',
      '1a2b3c-4d5e6f',
      'x'.repeat(1000),
    ]) {
      assert.throws(
        () => parseMac(bad),
        (e: PapgateError) => e.code === 'invalid' && /12 hexadecimal digits/.test(e.message) && e.field === 'mac',
        JSON.stringify(bad),
      );
    }
    assert.throws(() => parseMac(undefined), /missing/);
    assert.throws(() => parseMac(42), /missing/);
  });

  it('rejects the all-zero, broadcast and multicast addresses', () => {
    assert.throws(() => parseMac('00:00:00:00:00:00'), /all-zero/);
    assert.throws(() => parseMac('FF-FF-FF-FF-FF-FF'), /broadcast/);
    assert.throws(() => parseMac('01:00:5e:00:00:01'), /multicast/);
    assert.throws(() => parseMac('33:33:00:00:00:01'), /multicast/);
    assert.equal(parseMac('02:00:5e:00:00:01'), '02005e000001'); // locally administered unicast is fine
  });

  it('formats for display and tries without throwing', () => {
    assert.equal(formatMac('1a2b3c4d5e6f'), '1a:2b:3c:4d:5e:6f');
    assert.equal(formatMac('1a2b3c4d5e6f', '-', true), '1A-2B-3C-4D-5E-6F');
    assert.equal(formatMac('1a2b3c4d5e6f', '', true), '1A2B3C4D5E6F');
    assert.equal(formatMac('1a2b3c4d5e6f', '-'), '1a-2b-3c-4d-5e-6f');
    assert.equal(tryParseMac('nonsense'), null);
    assert.equal(tryParseMac('001565AABBCC'), '001565aabbcc');
  });
});
