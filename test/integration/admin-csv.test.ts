import { strict as assert } from 'node:assert';
import { parse } from 'csv-parse/sync';
import { startAdmin, type AdminHarness } from './admin-harness';

/** CSV import (all rows checked before any is written) and export (PAP only while not successful). */
describe('admin REST API: CSV import and export', () => {
  let h: AdminHarness;
  let token: string;

  before(async () => {
    h = await startAdmin();
    token = (await h.req('POST', '/api/v1/tenants', { body: { name: 'acme' } })).json.token;
    await h.req('POST', '/api/v1/tenants/acme/sites', { token, body: { name: 'hq' } });
    await h.req('POST', '/api/v1/tenants/acme/devices', { token, body: { mac: '02dddddddd01', vendor: 'yealink', model: 'T46U' } });
  });
  after(async () => {
    await h.close();
  });

  const importCsv = (csv: string) => h.req('POST', '/api/v1/tenants/acme/import', { token, contentType: 'text/csv', raw: csv });
  const state = async () => [
    (await h.req('GET', '/api/v1/tenants/acme/devices', { token })).text,
    (await h.req('GET', '/api/v1/tenants/acme/audit?limit=1000', { token })).text,
  ];

  it('writes nothing when one row is bad, and names its line and field', async () => {
    const before = await state();
    const r = await importCsv('mac,vendor,model,site\n02dddddddd10,snom,D785,hq\n02dddddddd11,nokia,3310,\n02dddddddd12,poly,VVX 411,\n');
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid');
    assert.deepEqual(r.json.errors, [{ line: 3, field: 'vendor', message: r.json.errors[0].message }]);
    assert.match(r.json.errors[0].message, /vendor must be one of/);
    assert.match(r.json.message, /line 3/);
    assert.deepEqual(await state(), before);
    assert.equal((await h.req('GET', '/api/v1/devices/02dddddddd10', { token })).status, 404);
  });

  it('lists every bad row: duplicates in the file, existing MACs, unknown sites, bad MACs', async () => {
    const before = await state();
    const r = await importCsv(
      [
        'MAC,Vendor,Model,Site',
        '02dddddddd20,snom,D785,hq',
        '02:dd:dd:dd:dd:20,snom,D785,',
        '02dddddddd01,snom,D785,',
        '02dddddddd21,snom,D785,mars',
        'ff:ff:ff:ff:ff:ff,snom,D785,',
        '02dddddddd22,snom,=cmd(),',
      ].join('\n'),
    );
    assert.equal(r.status, 400);
    assert.deepEqual(
      r.json.errors.map((e: { line: number; field: string | null }) => [e.line, e.field]),
      [
        [3, 'mac'],
        [4, 'mac'],
        [5, 'site'],
        [6, 'mac'],
        [7, 'model'],
      ],
    );
    assert.match(r.json.errors[0].message, /also on line 2/);
    assert.match(r.json.errors[1].message, /already exists/);
    assert.match(r.json.errors[2].message, /no site named mars/);
    assert.deepEqual(await state(), before);
  });

  it('refuses a file without the required header columns or rows', async () => {
    for (const [csv, why] of [
      ['mac,model\n02dddddddd30,D785\n', /"vendor" is missing/],
      ['mac,vendor,model\n', /at least one device/],
      ['', /header line/],
      ['mac,vendor,model\n"02dddddddd30,snom,D785\n', /not valid CSV/],
    ] as [string, RegExp][]) {
      const r = await importCsv(csv);
      assert.equal(r.status, 400, csv);
      assert.equal(r.json.field, 'file');
      assert.match(r.json.message, why);
    }
  });

  it('imports a good file (BOM, CRLF, any column order) and returns the devices with their PAPs', async () => {
    const r = await importCsv('\uFEFFsite,model,vendor,mac\r\nhq,D785,snom,02DD.DDDD.DD40\r\n,T54W,yealink,02-dd-dd-dd-dd-41\r\n');
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.imported, 2);
    assert.deepEqual(
      r.json.devices.map((d: { mac: string; site: string | null }) => [d.mac, d.site]),
      [
        ['02dddddddd40', 'hq'],
        ['02dddddddd41', null],
      ],
    );
    const audit = (await h.req('GET', '/api/v1/tenants/acme/audit?limit=5', { token })).json;
    assert.equal(audit.filter((e: { action: string }) => e.action === 'device-import').length, 2);
  });

  it('exports one row per device, with the PAP only while the device is not successful', async () => {
    const d = (await h.req('GET', '/api/v1/devices/02dddddddd40', { token })).json;
    const result = await h.services.authentication.attempt('02dddddddd40', d.pap, '198.51.100.7');
    assert.equal(result.outcome, 'success');
    const r = await h.req('GET', '/api/v1/tenants/acme/export.csv', { token });
    assert.equal(r.status, 200);
    const rows = parse(r.text, { columns: true }) as Record<string, string>[];
    assert.deepEqual(Object.keys(rows[0]!), ['vendor', 'model', 'mac', 'created', 'site', 'state', 'pap']);
    const byMac = new Map(rows.map((row) => [row.mac, row]));
    assert.equal(rows.length, 3);
    assert.deepEqual(
      { ...byMac.get('02dddddddd40'), created: '' },
      { vendor: 'snom', model: 'D785', mac: '02dddddddd40', created: '', site: 'hq', state: 'successful', pap: '' },
    );
    assert.ok(!r.text.includes(d.pap), 'the PAP of a successful device is gone');
    assert.match(byMac.get('02dddddddd41')!.pap!, /^\d{6}$/);
    assert.equal(byMac.get('02dddddddd41')!.state, 'needed');
    assert.match(byMac.get('02dddddddd01')!.created!, /^\d{4}-\d\d-\d\dT/);
    // The first success also trusted the phone's IP for the tenant (docs/behaviour.md section 6): visible, read-only.
    const allow = (await h.req('GET', '/api/v1/tenants/acme/allow-list', { token })).json;
    assert.equal(allow.temporary[0].ip, '198.51.100.7');
    assert.ok(Date.parse(allow.temporary[0].until) > Date.now());
  });
});
