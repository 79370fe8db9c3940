import { spawn } from 'node:child_process';
import { strict as assert } from 'node:assert';
import { REPO_ROOT } from '../helpers/cli';

/**
 * The real mocha, with the root hook of .mocharc.cjs, run on a fixture whose
 * tier needs SIPp, with a PATH on which there is none.
 */
function runFixture(env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['node_modules/mocha/bin/mocha.js', 'test/fixtures/needs-sipp.fixture.ts'], {
      cwd: REPO_ROOT,
      env: { HOME: process.env.HOME ?? '/tmp', PATH: '/nonexistent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`mocha did not finish:\n${out}`));
    }, 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? 1, out });
    });
  });
}

describe('missing test tools: a whole mocha run', function () {
  this.timeout(120_000);

  it('without CI: passes, and lists the skipped tier after the summary', async () => {
    const r = await runFixture({});
    assert.equal(r.code, 0, r.out);
    assert.match(
      r.out,
      /1 passing[\s\S]*1 pending[\s\S]*WARNING: 1 test tier\(s\) skipped[\s\S]*fixture: a tier that needs SIPp[^\n]*: fixture calls need a SIPp phone/,
    );
    assert.match(r.out, /apt-get install -y sip-tester/);
  });

  it('with CI=true: the run fails and names the missing tool', async () => {
    const r = await runFixture({ CI: 'true' });
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /1 failing/);
    assert.match(r.out, /FAILED: 1 test tier\(s\) skipped[\s\S]*sipp \("sipp" is not on PATH; apt-get install sip-tester\)/);
  });
});
