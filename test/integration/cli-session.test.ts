import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliResult } from '../helpers/cli';

/** A whole operator session through the real `papgate` binary (child processes) on a real SQLite file. */
describe('papgate CLI: operator session (child process)', function () {
  this.timeout(120_000);
  let dir: string;
  let db: string;
  const MAC = '02:AB:CD:00:00:01';
  const mac = '02abcd000001';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-cli-'));
    db = join(dir, 'papgate.db');
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runCli([...args, '--db', db]);
  const ok = (r: CliResult, what: string) => assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
  const json = async (...args: string[]) => {
    const r = await cli(...args, '--json');
    ok(r, args.join(' '));
    return JSON.parse(r.stdout);
  };

  it('runs tenant, site, device, trust, export and import commands end to end', async () => {
    const tenant = await cli('tenant', 'add', 'acme', '--locale', 'de');
    ok(tenant, 'tenant add');
    assert.match(tenant.stdout, /^token\s+pgt_\S+$/m);
    assert.equal(tenant.stderr, '');
    ok(await cli('site', 'add', '--tenant', 'acme', 'hq'), 'site add');
    assert.match((await cli('site', 'list', '--tenant', 'acme')).stdout, /^hq\b/m);

    const added = await cli('device', 'add', '--tenant', 'acme', '--mac', MAC, '--vendor', 'yealink', '--model', 'T46U', '--site', 'hq');
    ok(added, 'device add');
    const pap = /^pap\s+(\d{6})$/m.exec(added.stdout)?.[1];
    assert.ok(pap, `no 6-digit PAP in:\n${added.stdout}`);

    const shown = await json('device', 'show', '02ab.cd00.0001');
    assert.deepEqual(
      { mac: shown.mac, tenant: shown.tenant, site: shown.site, vendor: shown.vendor, model: shown.model, state: shown.state, pap: shown.pap },
      { mac, tenant: 'acme', site: 'hq', vendor: 'yealink', model: 'T46U', state: 'needed', pap },
    );
    assert.ok(Date.parse(shown.createdAt) <= Date.now());
    assert.ok(shown.sipUsername && shown.sipPassword);

    const reset = await json('device', 'reset', mac);
    assert.match(reset.pap, /^\d{6}$/);
    assert.notEqual(reset.pap, pap);
    assert.equal(reset.state, 'needed');
    const resetText = await cli('device', 'reset', mac);
    ok(resetText, 'device reset');
    assert.match(resetText.stdout, /^pap\s+\d{6}$/m);

    const suspended = await json('device', 'suspend', mac);
    assert.ok(Date.parse(suspended.suspendedUntil) > Date.now());
    assert.match((await cli('device', 'list', '--tenant', 'acme')).stdout, /needed \(suspended\)/);

    const lines = await json(
      'device',
      'lines',
      mac,
      '--line',
      'server=sip.example.net,user=201,password=secret,displayName=Anna',
      '--line',
      'server=sip.example.net,user=202,authName=a202,password=pw2',
    );
    assert.deepEqual(lines.lines, [
      { server: 'sip.example.net', user: '201', authName: '201', displayName: 'Anna' },
      { server: 'sip.example.net', user: '202', authName: 'a202', displayName: '' },
    ]);
    const badLine = await cli('device', 'lines', mac, '--line', 'server=sip.example.net,user=201');
    assert.equal(badLine.code, 2);
    assert.match(badLine.stderr, /^papgate: lines\[0\]\.password/);
    assert.deepEqual((await json('device', 'lines', mac, '--clear')).lines, []);

    ok(await cli('trust', 'add', '--tenant', 'acme', '203.0.113.0/24'), 'trust add');
    const wide = await cli('trust', 'add', '--tenant', 'acme', '10.0.0.0/8');
    ok(wide, 'trust add wide');
    assert.match(wide.stderr, /^papgate: warning: 10\.0\.0\.0\/8 is a very wide range/);
    const rejected = await cli('trust', 'add', '--tenant', 'acme', '10.0.0.5/24');
    assert.equal(rejected.code, 2);
    assert.equal(rejected.stderr, 'papgate: "10.0.0.5/24" has host bits set: did you mean 10.0.0.0/24?\n');
    const trusted = await cli('trust', 'list', '--tenant', 'acme');
    assert.match(trusted.stdout, /^permanent\s+203\.0\.113\.0\/24\s+since /m);
    assert.match(trusted.stdout, /^permanent\s+10\.0\.0\.0\/8\s/m);
    ok(await cli('trust', 'remove', '--tenant', 'acme', '10.0.0.0/8'), 'trust remove');
    assert.deepEqual(
      (await json('trust', 'list', '--tenant', 'acme')).permanent.map((e: { cidr: string }) => e.cidr),
      ['203.0.113.0/24'],
    );
    assert.equal((await cli('trust', 'remove', '--tenant', 'acme', '10.0.0.0/8')).code, 3);

    const exported = await cli('export', '--tenant', 'acme');
    ok(exported, 'export');
    const rows = exported.stdout.trimEnd().split('\r\n');
    assert.equal(rows[0], 'vendor,model,mac,created,site,state,pap');
    assert.equal(rows.length, 2);
    assert.match(rows[1]!, new RegExp(`^yealink,T46U,${mac},[^,]+,hq,needed,\\d{6}$`));

    const before = (await cli('device', 'list', '--tenant', 'acme')).stdout;
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'mac,vendor,model,site\n02abcd000010,snom,D785,hq\n02abcd000011,nokia,3310,\n02abcd000012,poly,VVX 411,\n');
    const rejectedImport = await cli('import', '--tenant', 'acme', bad);
    assert.equal(rejectedImport.code, 2);
    assert.match(rejectedImport.stderr, /^papgate: the file has 1 bad row; nothing was imported:\n {2}line 3: vendor must be one of/);
    assert.equal((await cli('device', 'list', '--tenant', 'acme')).stdout, before);
    assert.equal((await cli('device', 'show', '02abcd000010')).code, 3);

    const good = join(dir, 'good.csv');
    writeFileSync(good, 'mac,vendor,model,site\n02abcd000010,snom,D785,hq\n02abcd000011,gigaset,N720,\n');
    const imported = await cli('import', '--tenant', 'acme', good);
    ok(imported, 'import');
    assert.match(imported.stdout, /^imported 2 devices$/m);
    assert.match(imported.stdout, /^02abcd000011\s+gigaset\s+N720\s+-\s+needed\s+\d{6}\s/m);
    assert.equal((await json('device', 'list', '--tenant', 'acme')).length, 3);

    const audit = await json('audit', '--tenant', 'acme', '--limit', '1000');
    const actions = audit.map((e: { action: string }) => e.action);
    for (const a of ['tenant-add', 'site-add', 'device-add', 'device-reset', 'device-suspend', 'device-lines', 'trust-add', 'trust-remove', 'device-import']) {
      assert.ok(actions.includes(a), `audit lacks ${a}`);
    }
    assert.ok(audit.every((e: { actor: string }) => e.actor === 'cli'));

    ok(await cli('device', 'delete', '02-ab-cd-00-00-10'), 'device delete');
    assert.equal((await cli('device', 'show', '02abcd000010')).code, 3);
  });

  it("keeps a site's language and extra emergency numbers, changes and clears them, and refuses bad ones", async () => {
    const added = await cli('site', 'add', '--tenant', 'acme', 'paris', '--locale', 'fr', '--emergency-numbers', '15, 17,18');
    ok(added, 'site add');
    assert.match(added.stdout, /^emergency numbers\s+15,17,18 \(plus the global ones\)$/m);
    assert.deepEqual(await json('site', 'set', '--tenant', 'acme', 'paris', '--emergency-numbers', '17'), {
      name: 'paris',
      locale: 'fr',
      emergencyNumbers: ['17'],
    });
    assert.deepEqual(await json('site', 'set', '--tenant', 'acme', 'paris', '--locale', 'tenant'), { name: 'paris', locale: null, emergencyNumbers: ['17'] });
    const bad = await cli('site', 'set', '--tenant', 'acme', 'paris', '--emergency-numbers', '17,1-7');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"1-7" is not an emergency number/);
    assert.match((await cli('site', 'list', '--tenant', 'acme')).stdout, /^paris\s+\S+\s+17$/m, 'nothing half-written');
    assert.deepEqual(await json('site', 'set', '--tenant', 'acme', 'paris', '--emergency-numbers', ''), { name: 'paris', locale: null, emergencyNumbers: [] });
    assert.equal((await cli('site', 'add', '--tenant', 'acme', 'rome', '--locale', 'xx')).code, 2);
  });

  it('rotates a tenant token and refuses a second tenant of the same name', async () => {
    const rotated = await cli('tenant', 'token', 'acme');
    ok(rotated, 'tenant token');
    assert.match(rotated.stdout, /^token\s+pgt_\S+$/m);
    const dup = await cli('tenant', 'add', 'acme');
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^papgate: .*acme/);
    assert.match((await cli('tenant', 'list')).stdout, /^NAME\s+LOCALE\s+CREATED\nacme\s+de\s+\d{4}-/);
  });

  it('rejects bad MACs in every accepted-looking way with exit 2 and says what a MAC looks like', async () => {
    for (const [bad, why] of [
      ['01:00:5e:00:00:fb', /multicast/],
      ['00-00-00-00-00-00', /all-zero/],
      ['ffff.ffff.ffff', /broadcast/],
      ['not-a-mac', /12 hexadecimal digits, e\.g\. 1a2b3c4d5e6f/],
      ['02:ab:cd:00:00', /12 hexadecimal digits/],
    ] as [string, RegExp][]) {
      for (const args of [
        ['device', 'show', bad],
        ['device', 'add', '--tenant', 'acme', '--mac', bad, '--vendor', 'snom', '--model', 'D785'],
      ]) {
        const r = await cli(...args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, why);
        assert.match(r.stderr, /^papgate: [^\n]+\n$/, 'one line, no stack trace');
      }
    }
  });

  it('reports an unknown device with exit 3 and a clear message', async () => {
    const r = await cli('device', 'show', '02:00:00:00:99:99');
    assert.equal(r.code, 3);
    assert.equal(r.stderr, 'papgate: no device with MAC 020000009999\n');
    assert.equal(r.stdout, '');
    for (const sub of ['reset', 'suspend', 'delete']) assert.equal((await cli('device', sub, '020000009999')).code, 3, sub);
    assert.equal((await cli('device', 'list', '--tenant', 'nobody')).code, 3);
  });

  it('uses PAPGATE_DB when --db is not given', async () => {
    const r = await runCli(['tenant', 'list', '--json'], { env: { PAPGATE_DB: db } });
    ok(r, 'tenant list');
    assert.deepEqual(
      JSON.parse(r.stdout).map((t: { name: string }) => t.name),
      ['acme'],
    );
  });

  it('reads an import from stdin with -', async () => {
    const r = await runCli(['import', '--tenant', 'acme', '-', '--db', db], { input: 'mac,vendor,model\n02abcd000020,patton,SN4112\n' });
    ok(r, 'import -');
    assert.match(r.stdout, /imported 1 device\n/);
  });

  it('prints help with the exit codes, and usage errors exit 2', async () => {
    const help = await runCli(['--help']);
    ok(help, '--help');
    assert.match(help.stdout, /Usage: papgate/);
    assert.match(help.stdout, /Exit codes:\n {2}0 {2}success/);
    for (const cmd of ['tenant', 'site', 'device', 'trust', 'export', 'import', 'audit', 'serve']) assert.match(help.stdout, new RegExp(`^ {2}${cmd}\\b`, 'm'));
    const deviceHelp = await runCli(['device', 'add', '--help']);
    ok(deviceHelp, 'device add --help');
    assert.match(deviceHelp.stdout, /--mac <mac>/);
    assert.match(deviceHelp.stdout, /--db <path>/);
    const unknown = await runCli(['device', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^papgate: unknown command 'frobnicate'/);
    const missing = await runCli(['device', 'add', '--tenant', 'acme', '--db', db]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^papgate: required option '--mac <mac>' not specified/);
  });
});
