import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram, type CliContext } from '../../src/admin/cli/program';
import { createServices } from '../../src/app/services';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import { systemClock } from '../../src/ports/clock';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import { openSqliteStore } from '../../src/store/sqlite';
import { runCli } from '../helpers/cli';

/** `papgate webhook ...` over a real SQLite file, in-process, and once as the real binary. */
describe('papgate webhook (CLI)', () => {
  let dir: string;
  let db: string;

  function context(out: { stdout: string; stderr: string }): CliContext {
    return {
      async openServices(path) {
        const store = await openSqliteStore(path);
        return {
          services: createServices({ store, clock: systemClock, random: cryptoRandom, policy: DEFAULT_POLICY, log: silentLogger }),
          close: () => store.close(),
        };
      },
      async serve() {
        throw new Error('not in this test');
      },
      stdout: (t) => {
        out.stdout += t;
      },
      stderr: (t) => {
        out.stderr += t;
      },
      env: { PAPGATE_DB: db },
    };
  }

  async function run(...args: string[]) {
    const out = { stdout: '', stderr: '' };
    const code = await runProgram(context(out), ['node', 'papgate', ...args]);
    return { code, ...out };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-cli-webhook-'));
    db = join(dir, 'papgate.db');
    assert.equal((await run('tenant', 'add', 'acme')).code, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('sets a URL and prints the secret once, shows, rotates, lists and removes', async () => {
    const set = await run('webhook', 'set', 'acme', 'https://hooks.example/papgate', '--json');
    assert.equal(set.code, 0, set.stderr);
    const { secret, webhook } = JSON.parse(set.stdout) as { secret: string; webhook: { url: string } };
    assert.match(secret, /^whsec_/);
    assert.equal(webhook.url, 'https://hooks.example/papgate');

    const again = await run('webhook', 'set', 'acme', 'https://hooks.example/v2');
    assert.equal(again.code, 0);
    assert.ok(!again.stdout.includes('secret'), 'a changed URL does not print the secret');

    const show = await run('webhook', 'show', 'acme');
    assert.match(show.stdout, /url\s+https:\/\/hooks\.example\/v2/);
    assert.ok(!show.stdout.includes(secret));

    const rotated = await run('webhook', 'secret', 'acme');
    assert.match(rotated.stdout, /secret\s+whsec_/);
    assert.ok(!rotated.stdout.includes(secret));

    assert.equal((await run('webhook', 'deliveries', 'acme')).stdout.trim(), '(no deliveries)');
    assert.equal((await run('webhook', 'remove', 'acme')).code, 0);
    assert.equal((await run('webhook', 'show', 'acme')).code, 3, 'not found');
  });

  it('refuses a non-http URL with exit code 2 and saves nothing', async () => {
    const r = await run('webhook', 'set', 'acme', 'file:///etc/passwd');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /http or https/);
    assert.equal((await run('webhook', 'show', 'acme')).code, 3);
  });

  it('works as the real binary', async function () {
    this.timeout(30_000);
    const r = await runCli(['webhook', 'set', 'acme', 'http://127.0.0.1:9/hook', '--json'], { env: { PAPGATE_DB: db } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(JSON.parse(r.stdout).secret, /^whsec_/);
  });
});
