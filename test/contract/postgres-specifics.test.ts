import assert from 'node:assert/strict';
import { Client } from 'pg';
import { migratePostgres, MIGRATIONS, openPostgresStore, schemaVersion, withPostgresPool } from '../../src/store/postgres';
import { describePostgres } from '../helpers/postgres';
import { makeDevice, makeTenant } from '../helpers/store-fixtures';
import { Relay } from '../helpers/tcp-relay';
import { expectError } from './expect-error';

/** What only the PostgreSQL adapter has: explicit migrations, a server that can go away, PostgreSQL's own refusals. */

async function sql(url: string, text: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, values)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

describePostgres('PostgreSQL store specifics', (pg) => {
  describe('migrations', () => {
    it('refuses an unmigrated database with a message saying to run papgate migrate; auto migrates', async () => {
      const url = await pg().emptyDatabase();
      await expectError(openPostgresStore(url), 'unavailable', /schema version 0, this papgate needs \d+: run `papgate migrate`/);
      const store = await openPostgresStore(url, { migrate: 'auto' });
      try {
        await makeTenant(store, 'acme');
      } finally {
        await store.close();
      }
    });

    it('applies each migration once when several nodes migrate at once', async () => {
      const url = await pg().emptyDatabase();
      const reports = await Promise.all(Array.from({ length: 5 }, () => migratePostgres(url)));
      assert.equal(reports.filter((r) => r.from === 0).length, 1, JSON.stringify(reports));
      assert.ok(reports.every((r) => r.to === MIGRATIONS.length));
      const rows = await sql(url, 'SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        rows.map((r) => r.version),
        MIGRATIONS.map((_, i) => i + 1),
      );
      assert.deepEqual(await migratePostgres(url), { from: MIGRATIONS.length, to: MIGRATIONS.length });
      assert.equal(await withPostgresPool(url, {}, schemaVersion), MIGRATIONS.length);
    });

    it('refuses a database migrated by a newer papgate', async () => {
      const url = await pg().freshDatabase();
      await sql(url, 'INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)', [MIGRATIONS.length + 1]);
      await expectError(openPostgresStore(url), 'unavailable', /newer than this papgate knows.*upgrade papgate/);
      await expectError(migratePostgres(url), 'unavailable', /upgrade papgate/);
    });
  });

  describe('values PostgreSQL refuses', () => {
    it('answers a NUL character with invalid, naming no value, and keeps the store usable', async () => {
      const store = await openPostgresStore(await pg().freshDatabase());
      try {
        const e = await expectError(store.createTenant({ name: 'a\u0000b', locale: 'en', tokenHash: 'x', createdAt: 1 }), 'invalid');
        assert.doesNotMatch(e.message, /a\u0000b|invalid byte sequence/);
        const t = await makeTenant(store, 'acme');
        await expectError(store.insertDevices([makeDevice({ tenantId: t.id, model: 'T\u000046' })], []), 'invalid');
        assert.equal(await store.countDevices(), 0);
      } finally {
        await store.close();
      }
    });
  });

  describe('when the database goes away', () => {
    let relay: Relay;
    afterEach(async () => {
      await relay?.stop();
    });

    it('fails calls with unavailable in words (no driver text), and recovers when it is back', async () => {
      const url = await pg().freshDatabase();
      relay = new Relay(new URL(url));
      await relay.start();
      const store = await openPostgresStore(relay.url(), { timeoutMs: 2000 });
      try {
        const t = await makeTenant(store, 'acme');
        await store.insertDevices([makeDevice({ tenantId: t.id })], []);
        await relay.stop(); // the server is gone: open connections break, new ones are refused
        const e = await expectError(store.countDevices(), 'unavailable', /^cannot count devices: /);
        assert.doesNotMatch(e.message, /\n\s+at |ECONN|Connection terminated/);
        await expectError(
          store.mutateDevice('021122334455', () => ({ result: 0 })),
          'unavailable',
        );
        await expectError(store.ping(), 'unavailable');
        await relay.start(relay.port); // back on the same address: the pool opens new connections
        assert.equal(await store.countDevices(), 1);
        await store.ping();
      } finally {
        await store.close();
      }
    });

    it('does not hang on a server that accepts connections but never answers', async () => {
      const url = await pg().freshDatabase();
      relay = new Relay(new URL(url));
      await relay.start();
      const store = await openPostgresStore(relay.url(), { timeoutMs: 500 });
      try {
        await store.ping();
        relay.mode = 'blackhole';
        relay.cut();
        await expectError(store.getDevice('021122334455'), 'unavailable', /in time|lost/);
        await expectError(store.ping(), 'unavailable');
      } finally {
        await store.close();
      }
    });

    it('refuses to open with unavailable when nothing listens', async () => {
      relay = new Relay(new URL(await pg().freshDatabase()));
      await relay.start();
      const url = relay.url();
      await relay.stop();
      const e = await expectError(openPostgresStore(url.replace('postgres@', 'postgres:s3cret-pw@')), 'unavailable', /refused the connection/);
      assert.doesNotMatch(e.message, /s3cret-pw/);
    });

    it('ping rejects a read-only database (a standby) while reads still work', async () => {
      const url = await pg().freshDatabase();
      const name = new URL(url).pathname.slice(1);
      await sql(url, `ALTER DATABASE ${name} SET default_transaction_read_only = on`);
      const store = await openPostgresStore(url);
      try {
        await expectError(store.ping(), 'unavailable', /read-only/);
        assert.equal(await store.countDevices(), 0);
        await expectError(makeTenant(store, 'acme'), 'unavailable', /read-only/);
      } finally {
        await store.close();
      }
    });
  });
});
