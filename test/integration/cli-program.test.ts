import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram, runProgram, type CliContext, type ServeFlags } from '../../src/admin/cli/program';
import { createServices } from '../../src/app/services';
import { ConfigError, loadConfig } from '../../src/config/config';
import { DEFAULT_POLICY } from '../../src/domain/policy';
import { systemClock } from '../../src/ports/clock';
import { silentLogger } from '../../src/ports/logger';
import { cryptoRandom } from '../../src/ports/random';
import { openSqliteStore } from '../../src/store/sqlite';

/** buildProgram in-process over a real SQLite file: output formats, exit codes, help, serve flags. */
describe('papgate CLI program (in-process)', () => {
  let dir: string;
  let db: string;
  let served: ServeFlags[];
  let serveError: Error | null;

  function context(out: { stdout: string; stderr: string }, env: NodeJS.ProcessEnv = {}): CliContext {
    return {
      async openServices(path) {
        const store = await openSqliteStore(path);
        return {
          services: createServices({ store, clock: systemClock, random: cryptoRandom, policy: DEFAULT_POLICY, log: silentLogger }),
          close: () => store.close(),
        };
      },
      async serve(flags) {
        if (serveError) throw serveError;
        served.push(flags);
      },
      stdout: (t) => {
        out.stdout += t;
      },
      stderr: (t) => {
        out.stderr += t;
      },
      env: { PAPGATE_DB: db, ...env },
    };
  }

  async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const out = { stdout: '', stderr: '' };
    const code = await runProgram(context(out), ['node', 'papgate', ...args]);
    return { code, ...out };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-cli-prog-'));
    db = join(dir, 'papgate.db');
    assert.equal((await run('tenant', 'add', 'acme')).code, 0);
    assert.equal((await run('device', 'add', '--tenant', 'acme', '--mac', '02ef00000001', '--vendor', 'snom', '--model', 'D785')).code, 0);
  });
  beforeEach(() => {
    served = [];
    serveError = null;
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints aligned tables and the same data as JSON', async () => {
    const text = await run('device', 'list', '--tenant', 'acme');
    const [header, row] = text.stdout.trimEnd().split('\n');
    assert.match(header!, /^MAC {11}VENDOR {2}MODEL {2}SITE {2}STATE {3}PAP {5}CREATED$/);
    assert.equal(row!.indexOf('snom'), header!.indexOf('VENDOR'));
    assert.equal(row!.indexOf('needed'), header!.indexOf('STATE'));
    const json = JSON.parse((await run('device', 'list', '--tenant', 'acme', '--json')).stdout);
    assert.equal(json[0].mac, '02ef00000001');
    assert.equal(json[0].site, null);
    assert.deepEqual(
      JSON.parse((await run('tenant', 'list', '--json')).stdout).map((t: { name: string }) => t.name),
      ['acme'],
    );
  });

  it('filters devices by state and refuses an unknown state with exit 2', async () => {
    assert.equal(JSON.parse((await run('device', 'list', '--tenant', 'acme', '--state', 'successful', '--json')).stdout).length, 0);
    assert.equal(JSON.parse((await run('device', 'list', '--tenant', 'acme', '--state', 'needed', '--json')).stdout).length, 1);
    const bad = await run('device', 'list', '--tenant', 'acme', '--state', 'locked');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^papgate: state must be one of: needed, failed, blocked, successful\n$/);
  });

  it('maps errors to exit codes: invalid 2, not found 3, conflict 1', async () => {
    assert.equal((await run('site', 'add', '--tenant', 'acme', 'bad name!')).code, 2);
    assert.equal((await run('tenant', 'add', 'x', '--locale', 'fy')).code, 2);
    assert.equal((await run('site', 'add', '--tenant', 'nobody', 'hq')).code, 3);
    const dup = await run('device', 'add', '--tenant', 'acme', '--mac', '02-EF-00-00-00-01', '--vendor', 'snom', '--model', 'D785');
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^papgate: [^\n]+\n$/);
    assert.equal((await run('audit', '--limit', '0')).code, 2);
    assert.equal((await run('device', 'lines', '02ef00000001', '--clear', '--line', 'server=a,user=b,password=c')).code, 2);
  });

  it('reports a database that cannot be opened with exit 1 and no stack trace', async () => {
    const r = await run('tenant', 'list', '--db', dir); // a directory, not a database file
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^papgate: cannot open the database [^\n]+\n$/);
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  });

  it('passes serve flags as PAPGATE_* overrides that loadConfig accepts', async () => {
    const r = await run(
      'serve',
      '--admin-port',
      '19555',
      '--provisioning-port',
      '19556',
      '--sip-port',
      '19557',
      '--public-url',
      'http://pbx.example.net:19556',
      '--db',
      '/tmp/x.db',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(served, [
      {
        // not bound: option parsing only
        PAPGATE_ADMIN_PORT: '19555', // not bound
        PAPGATE_PROVISIONING_PORT: '19556', // not bound
        PAPGATE_SIP_PORT: '19557', // not bound
        PAPGATE_PUBLIC_URL: 'http://pbx.example.net:19556',
        PAPGATE_DB: '/tmp/x.db',
      },
    ]);
    const config = loadConfig({}, served[0]);
    assert.equal(config.adminPort, 19555);
    assert.equal(config.db, '/tmp/x.db');
    await run('serve');
    assert.deepEqual(served[1], {}, 'no flags: the environment decides');
  });

  it('turns a bad serve setting into exit 2 and a failed start into exit 1, one line each', async () => {
    serveError = new ConfigError('invalid configuration:\n  PAPGATE_ADMIN_PORT="x": expected number');
    const bad = await run('serve', '--admin-port', 'x');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^papgate: invalid configuration:\n {2}PAPGATE_ADMIN_PORT/);
    serveError = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8081'), { code: 'EADDRINUSE' });
    const busy = await run('serve');
    assert.equal(busy.code, 1);
    assert.equal(busy.stderr, 'papgate: internal error: listen EADDRINUSE: address already in use 127.0.0.1:8081\n');
  });

  it('has --help on every command, exit 0, and usage errors exit 2', async () => {
    const leaves: string[][] = [];
    const walk = (c: Command, path: string[]) => {
      if (c.commands.length === 0) leaves.push(path);
      for (const sub of c.commands) walk(sub, [...path, sub.name()]);
    };
    walk(buildProgram(context({ stdout: '', stderr: '' })), []);
    assert.ok(leaves.length >= 19, `${leaves.length} commands`);
    for (const path of leaves) {
      const r = await run(...path, '--help');
      assert.equal(r.code, 0, path.join(' '));
      assert.match(r.stdout, new RegExp(`^Usage: papgate ${path.join(' ')}`), path.join(' '));
      assert.match(r.stdout, /-h, --help/);
      if (path[0] !== 'serve' && path[0] !== 'copy') {
        assert.match(r.stdout, /--db <path>/, `${path.join(' ')} takes --db`);
        assert.match(r.stdout, /--json/, `${path.join(' ')} takes --json`);
      }
    }
    const noArgs = await run('tenant', 'add');
    assert.equal(noArgs.code, 2);
    assert.match(noArgs.stderr, /^papgate: missing required argument 'name'/);
    assert.equal((await run('--bogus')).code, 2);
  });
});
