import { strict as assert } from 'node:assert';
import { DataVersion } from '../../src/store/sqlite/data-version';
import { TrustCache, type TrustRows, type TrustSource } from '../../src/store/sqlite/trust-cache';

/** The SQLite store's per-tenant trust copies (src/store/sqlite/trust-cache.ts), over a fake source. */

class FakeSource implements TrustSource {
  version_ = 1;
  loads = 0;
  versionReads = 0;
  rows: TrustRows['permanent'] = [{ tenantId: 1, cidr: '192.0.2.0/24', createdAt: 0 }];
  load(tenantId: number): TrustRows {
    this.loads += 1;
    return {
      version: this.version_,
      permanent: this.rows.filter((e) => e.tenantId === tenantId),
      temporary: [
        { tenantId, ip: '198.51.100.1', until: 1000 },
        { tenantId, ip: '198.51.100.2', until: 2000 },
      ],
    };
  }
  version(): number {
    this.versionReads += 1;
    return this.version_;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A cache over `src`, with the data_version reading the store would share with it (its `observe` stands for a device read). */
function cacheOver(src: FakeSource) {
  const version = new DataVersion(() => src.version());
  return { cache: new TrustCache(src, version), version };
}

describe('SQLite trust cache', () => {
  it('serves a copy while data_version, observed with the device read, is unchanged', () => {
    const src = new FakeSource();
    const { cache, version } = cacheOver(src);
    version.observe(1);
    assert.equal(cache.permanent(1).length, 1);
    version.observe(1);
    assert.equal(cache.permanent(1).length, 1);
    assert.deepEqual(
      cache.temporary(1, 1500).map((w) => w.ip),
      ['198.51.100.2'],
    );
    assert.equal(src.loads, 1);
    assert.equal(src.versionReads, 0, 'fresh observations spare the version read');
  });

  it('reloads when another connection changed the database', () => {
    const src = new FakeSource();
    const { cache, version } = cacheOver(src);
    version.observe(1);
    cache.permanent(1);
    src.version_ = 2;
    src.rows = [];
    version.observe(2);
    assert.deepEqual(cache.permanent(1), []);
    assert.equal(src.loads, 2);
  });

  it('reads data_version itself when the last observation is not recent', async () => {
    const src = new FakeSource();
    const { cache, version } = cacheOver(src);
    version.observe(1);
    cache.permanent(1);
    await sleep(20);
    src.version_ = 2;
    src.rows = [];
    assert.deepEqual(cache.permanent(1), [], 'an old observation is not relied on');
    assert.equal(src.versionReads, 1);
  });

  it("drops a tenant on this process's own writes, and everything on clear", () => {
    const src = new FakeSource();
    const { cache, version } = cacheOver(src);
    version.observe(1);
    cache.permanent(1);
    cache.permanent(2);
    cache.drop(1);
    cache.permanent(1);
    cache.permanent(2);
    assert.equal(src.loads, 3);
    cache.clear();
    cache.permanent(2);
    assert.equal(src.loads, 4);
  });

  it('hands out fresh arrays', () => {
    const { cache, version } = cacheOver(new FakeSource());
    version.observe(1);
    cache.permanent(1).pop();
    cache.temporary(1, 0).pop();
    assert.equal(cache.permanent(1).length, 1);
    assert.equal(cache.temporary(1, 0).length, 2);
  });
});
