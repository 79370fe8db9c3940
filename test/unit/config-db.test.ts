import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config';
import { describeDb, isPostgresUrl, keepsDevicesInMemory } from '../../src/open-store';

describe('config: PAPGATE_DB and the PostgreSQL settings', () => {
  it('takes a file path or a postgres:// / postgresql:// URL', () => {
    assert.equal(loadConfig({}).db, './data/papgate.db');
    assert.equal(loadConfig({ PAPGATE_DB: '/var/lib/papgate/p.db' }).db, '/var/lib/papgate/p.db');
    for (const url of ['postgres://u:p@db:5432/papgate', 'postgresql://db/papgate?sslmode=require']) {
      assert.equal(loadConfig({ PAPGATE_DB: url }).db, url);
    }
    const c = loadConfig({});
    assert.deepEqual([c.dbMigrate, c.dbPoolSize, c.dbTimeoutSeconds], ['check', 10, 5]);
  });

  it('refuses other URLs and bad settings, without echoing the URL (it may hold a password)', () => {
    for (const db of ['mysql://u:hunter22@db/x', 'postgres://', 'postgres://:hunter22@/x']) {
      assert.throws(
        () => loadConfig({ PAPGATE_DB: db }),
        (e: Error) => {
          assert.ok(e instanceof ConfigError);
          assert.match(e.message, /PAPGATE_DB=\(hidden\): must be a SQLite file path or a URL/);
          assert.doesNotMatch(e.message, /hunter22/);
          return true;
        },
      );
    }
    assert.throws(() => loadConfig({ PAPGATE_DB_MIGRATE: 'always' }), /PAPGATE_DB_MIGRATE/);
    assert.throws(() => loadConfig({ PAPGATE_DB_POOL_SIZE: '0' }), /PAPGATE_DB_POOL_SIZE/);
    assert.throws(() => loadConfig({ PAPGATE_DB_TIMEOUT_SECONDS: 'soon' }), /PAPGATE_DB_TIMEOUT_SECONDS/);
  });

  it('keeps every device in memory where one process answers phones, unless told (PAPGATE_DB_DEVICES_IN_MEMORY)', () => {
    assert.equal(loadConfig({}).dbDevicesInMemory, 'auto');
    assert.throws(() => loadConfig({ PAPGATE_DB_DEVICES_IN_MEMORY: 'yes' }), /PAPGATE_DB_DEVICES_IN_MEMORY/);
    assert.deepEqual(
      (['auto', 'on', 'off'] as const).map((s) => [keepsDevicesInMemory(s, true), keepsDevicesInMemory(s, false)]),
      [
        [true, false],
        [true, true],
        [false, false],
      ],
    );
  });

  it('picks the adapter by the URL scheme and names a URL without its password', () => {
    assert.equal(isPostgresUrl('POSTGRESQL://db/x'), true);
    assert.equal(isPostgresUrl('./postgres://x'), false);
    assert.equal(describeDb('postgres://papgate:s3cret@db.example.net:5432/papgate'), 'postgres://papgate@db.example.net:5432/papgate');
    assert.equal(describeDb('./data/papgate.db'), './data/papgate.db');
  });
});
