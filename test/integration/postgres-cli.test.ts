import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS as PG_MIGRATIONS } from '../../src/store/postgres';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../../src/store/sqlite';
import { runCli } from '../helpers/cli';
import { describePostgres } from '../helpers/postgres';

/** `papgate migrate` on both stores, and the CLI and `serve` on a PostgreSQL database that is not migrated yet. */

describe('papgate migrate (SQLite)', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-migrate-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates and migrates a new file, then finds it up to date', async () => {
    const db = join(dir, 'new', 'papgate.db');
    const first = await runCli(['migrate', '--db', db, '--json']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { store: 'sqlite', from: 0, to: SQLITE_MIGRATIONS.length });
    const again = await runCli(['migrate'], { env: { PAPGATE_DB: db } });
    assert.equal(again.stdout, `sqlite schema is up to date (version ${SQLITE_MIGRATIONS.length})\n`);
  });
});

describePostgres('the CLI on PostgreSQL', (pg) => {
  it('refuses an unmigrated database until papgate migrate ran, then works on it', async () => {
    const db = await pg().emptyDatabase();
    const refused = await runCli(['tenant', 'list', '--db', db]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^papgate: the database postgres:\/\/postgres@[^ ]+ has schema version 0, this papgate needs \d+: run `papgate migrate`.*\n$/);

    const migrated = await runCli(['migrate', '--db', db]);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.equal(migrated.stdout, `postgres schema migrated from version 0 to ${PG_MIGRATIONS.length}\n`);
    assert.equal((await runCli(['migrate'], { env: { PAPGATE_DB: db } })).stdout, `postgres schema is up to date (version ${PG_MIGRATIONS.length})\n`);

    const added = await runCli(['tenant', 'add', 'acme', '--json'], { env: { PAPGATE_DB: db } });
    assert.equal(added.code, 0, added.stderr);
    const listed = await runCli(['tenant', 'list', '--json', '--db', db]);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { name: string }[]).map((t) => t.name),
      ['acme'],
    );
  });

  it('serve refuses to start on an unmigrated database, in one line, and does not migrate it', async () => {
    const db = await pg().emptyDatabase();
    const env = {
      PAPGATE_DB: db,
      PAPGATE_SIGNALLING: 'off',
      PAPGATE_PROVISIONING_ADDRESS: '127.0.0.1',
      PAPGATE_PROVISIONING_PORT: '0',
      PAPGATE_ADMIN_PORT: '0',
    };
    const r = await runCli(['serve'], { env, timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^papgate: the database .* has schema version 0, this papgate needs \d+: run `papgate migrate`[^\n]*\n$/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.match((await runCli(['migrate', '--db', db])).stdout, /migrated from version 0/);
  });
});
