import assert from 'node:assert/strict';
import type { Store } from '../../src/ports/store';
import { SqliteStore } from '../../src/store/sqlite';
import { startPapgateHarness } from '../helpers/papgate-harness';

// papgate keeps every device in memory where a single process answers phones
// (PAPGATE_DB_DEVICES_IN_MEMORY=auto, docs/store.md); the workers' side is in
// provisioning-workers.test.ts.
describe('every device in memory: papgate as one process keeps them unless told not to', function () {
  this.timeout(60_000);
  for (const [setting, kept] of [
    [undefined, true],
    ['off', false],
  ] as const) {
    it(`PAPGATE_DB_DEVICES_IN_MEMORY ${setting ?? 'unset (auto)'}: ${kept ? 'kept, and a device added through the admin API is answered' : 'not kept'}`, async () => {
      let store: Store | undefined;
      const h = await startPapgateHarness({
        ...(setting ? { env: { PAPGATE_DB_DEVICES_IN_MEMORY: setting } } : {}),
        wrapStore: (s) => (store = s),
      });
      try {
        assert.ok(store instanceof SqliteStore);
        assert.equal(store.devicesInMemory !== null, kept);
        const d = await h.addDevice();
        assert.equal((await store.getDevice(d.mac))?.mac, d.mac);
        if (kept) assert.equal(store.devicesInMemory?.devices, 1, 'the device read became its copy');
      } finally {
        await h.stop();
      }
    });
  }
});
