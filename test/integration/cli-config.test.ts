import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';

/** Admin commands read the same settings as the server: an invalid one is an error, never a silent default. */
describe('papgate CLI: strict settings (child process)', function () {
  this.timeout(120_000);
  let dir: string;
  let db: string;
  const mac = '02abcd0000c1';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-cli-config-'));
    db = join(dir, 'papgate.db');
    const cli = (...args: string[]) => runCli([...args, '--db', db]);
    assert.equal((await cli('tenant', 'add', 'acme')).code, 0);
    assert.equal((await cli('device', 'add', '--tenant', 'acme', '--mac', mac, '--vendor', 'yealink', '--model', 'T46U')).code, 0);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const suspend = (env: Record<string, string>) => runCli(['device', 'suspend', mac, '--db', db, '--json'], { env });

  it('applies PAPGATE_SUSPEND_SECONDS when every setting is valid', async () => {
    const before = Date.now();
    const r = await suspend({ PAPGATE_SUSPEND_SECONDS: '60' });
    assert.equal(r.code, 0, r.stderr);
    const until = Date.parse(JSON.parse(r.stdout).suspendedUntil);
    assert.ok(until >= before + 60_000 && until <= Date.now() + 60_000, `suspended until ${new Date(until).toISOString()}`);
  });

  it('refuses to run with an invalid setting: exit 2, the variable named, nothing written', async () => {
    const shown = async () => JSON.parse((await runCli(['device', 'show', mac, '--db', db, '--json'])).stdout);
    const was = (await shown()).suspendedUntil;
    const r = await suspend({ PAPGATE_SUSPEND_SECONDS: '60', PAPGATE_ADMIN_TOKEN: 'short' });
    assert.equal(r.code, 2, `exit ${r.code}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /PAPGATE_ADMIN_TOKEN/);
    assert.doesNotMatch(r.stderr, /short/, 'a token value is not echoed');
    assert.equal(r.stdout, '');
    assert.equal((await shown()).suspendedUntil, was, 'the device is unchanged');
  });

  it('names an invalid policy number itself, for any command', async () => {
    const r = await runCli(['tenant', 'list', '--db', db], { env: { PAPGATE_LOCKOUT_SECONDS: 'half an hour' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /PAPGATE_LOCKOUT_SECONDS/);
  });
});
