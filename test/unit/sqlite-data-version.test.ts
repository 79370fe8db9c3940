import { strict as assert } from 'node:assert';
import { DataVersion, OBSERVATION_MS } from '../../src/store/sqlite/data-version';

/** The store's shared `data_version` reading (src/store/sqlite/data-version.ts), over a fake clock and a counted read. */
describe('SQLite data_version reading', () => {
  let now = 1000;
  let stored = 7;
  let reads = 0;
  const version = () =>
    new DataVersion(
      () => {
        reads += 1;
        return stored;
      },
      () => now,
    );
  beforeEach(() => {
    now = 1000;
    stored = 7;
    reads = 0;
  });

  it('reads once, then stands for now during the observation time, then reads again', () => {
    const v = version();
    assert.equal(v.current(), 7);
    stored = 8; // another connection commits
    now += OBSERVATION_MS;
    assert.equal(v.current(), 7, 'still the reading of 5 ms ago');
    assert.equal(reads, 1);
    now += 0.1;
    assert.equal(v.current(), 8, 'an older reading is not relied on');
    assert.equal(reads, 2);
  });

  it('a reading taken along with a row counts as one, and the newest one wins', () => {
    const v = version();
    v.observe(9);
    assert.equal(v.current(), 9);
    assert.equal(reads, 0);
    now += OBSERVATION_MS - 1;
    v.observe(10);
    now += OBSERVATION_MS - 1;
    assert.equal(v.current(), 10, 'the window starts again with each reading');
    assert.equal(reads, 0);
  });
});
