import { strict as assert } from 'node:assert';
import type { Device } from '../../src/domain/types';
import { DeviceDirectory, type Changes, type DirectorySource } from '../../src/store/sqlite/device-directory';
import { createLogger } from '../../src/observability/logger';
import { makeDevice } from '../helpers/store-fixtures';

/**
 * The directory's place in the change log (src/store/sqlite/device-directory.ts),
 * over a fake log: this process's own entries are passed over only when no
 * other connection committed since the copies were exact.
 */
describe('SQLite device directory: passing over its own log entries', () => {
  let rows: Map<string, Device>;
  let log: string[]; // entry n (1-based) names log[n - 1]
  let version: number;
  let directory: DeviceDirectory;

  const source: DirectorySource = {
    newestChange: () => log.length,
    devicesAfter: (after, limit) =>
      [...rows.values()]
        .filter((d) => d.mac > after)
        .sort((a, b) => (a.mac < b.mac ? -1 : 1))
        .slice(0, limit),
    changesAfter: (after, limit): Changes => {
      const macs = log.slice(after, after + limit);
      return { version, lost: false, last: after + macs.length, macs, more: log.length > after + limit };
    },
  };

  beforeEach(async () => {
    const a = makeDevice({ model: 'T46U' });
    rows = new Map([[a.mac, a]]);
    log = [a.mac]; // its insert
    version = 1;
    directory = new DeviceDirectory(source, createLogger({ level: 'silent' }), () => undefined);
    directory.start();
    for (let i = 0; i < 100 && !directory.ready; i++) await new Promise((r) => setImmediate(r));
    assert.ok(directory.ready);
  });

  afterEach(async () => directory.stop());

  const only = () => [...rows.values()][0]!;

  it('passes over entries of its own written while nothing else committed', () => {
    const a = only();
    const written = { ...a, model: 'T57W' };
    rows.set(a.mac, written);
    log.push(a.mac); // this process's write, kept as written
    directory.settle(a.mac, written);
    directory.ownChanges(1, log.length);
    version = 2; // another connection commits something else
    log.push('000000000000');
    assert.equal(directory.find(a.mac, 2)?.model, 'T57W', 'the copy stays: its own entry was passed over');
  });

  it("does not pass over another connection's entry committed before its own transaction", () => {
    const a = only();
    rows.set(a.mac, { ...a, model: 'changed elsewhere' });
    log.push(a.mac); // another connection's change...
    version = 2; // ...moved data_version
    log.push('000000000000'); // then a write of this process, of another device, reading data_version 2
    directory.ownChanges(2, log.length);
    assert.equal(directory.find(a.mac, 2), undefined, "the copy is dropped: the other connection's entry was applied");
  });
});
