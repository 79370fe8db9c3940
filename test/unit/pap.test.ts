import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { drawPap, papMatches } from '../../src/domain/pap';

/** A Random that replays the given 32-bit values (big-endian), for reproducible draws. */
function replay(values: number[]) {
  let i = 0;
  return {
    bytes(n: number) {
      assert.equal(n, 4);
      const b = Buffer.alloc(4);
      b.writeUInt32BE(values[i++]! >>> 0);
      return b;
    },
  };
}

describe('PAP (section 3 of docs/behaviour.md)', () => {
  it('is 6 digits and keeps leading zeros', () => {
    assert.equal(drawPap(replay([42])), '000042');
    assert.equal(drawPap(replay([999_999])), '999999');
    assert.equal(drawPap(replay([1_000_000])), '000000');
  });

  it('redraws values above the largest multiple of 10^6 so every PAP is equally likely', () => {
    // 4_294_000_000 is the limit; 4_294_967_295 must be thrown away.
    assert.equal(drawPap(replay([0xffffffff, 4_294_000_000, 7])), '000007');
    assert.equal(drawPap(replay([4_293_999_999])), '999999');
  });

  it('draws from the CSPRNG with a roughly uniform distribution of the first digit', () => {
    const counts = new Array(10).fill(0);
    const random = { bytes: (n: number) => randomBytes(n) };
    for (let i = 0; i < 20_000; i++) {
      const pap = drawPap(random);
      assert.match(pap, /^\d{6}$/);
      counts[Number(pap[0])]++;
    }
    // Expected 2000 each; a chi-square over 9 degrees of freedom above 40 happens with p < 1e-5.
    const chi = counts.reduce((s, c) => s + (c - 2000) ** 2 / 2000, 0);
    assert.ok(chi < 40, `chi-square ${chi} for ${counts}`);
  });

  it('compares whole strings only', () => {
    assert.equal(papMatches('012345', '012345'), true);
    assert.equal(papMatches('012345', '012346'), false);
    assert.equal(papMatches('012345', '01234'), false);
    assert.equal(papMatches('012345', '0123456'), false);
    assert.equal(papMatches('012345', ''), false);
  });
});
