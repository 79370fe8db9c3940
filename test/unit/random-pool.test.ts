import { strict as assert } from 'node:assert';
import { pooledRandom, type Random } from '../../src/ports/random';

describe('pooledRandom', () => {
  it('hands out each byte of the source once, in blocks, and passes large requests straight through', () => {
    let next = 0;
    const calls: number[] = [];
    const counting: Random = {
      bytes: (n) => {
        calls.push(n);
        return Uint8Array.from({ length: n }, () => next++ % 256);
      },
    };
    const r = pooledRandom(counting, 16);
    const got = [r.bytes(5), r.bytes(5), r.bytes(5), r.bytes(5)].flatMap((b) => [...b]);
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20], 'no byte twice; the tail of a block is skipped');
    assert.deepEqual(calls, [16, 16]);
    assert.equal(r.bytes(32).length, 32);
    assert.deepEqual(calls, [16, 16, 32]);
  });
});
