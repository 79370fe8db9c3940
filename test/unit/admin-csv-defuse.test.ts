import { strict as assert } from 'node:assert';
import { parse } from 'csv-parse/sync';
import { defuseCell, devicesToCsv } from '../../src/app/device-csv';
import type { DeviceView } from '../../src/app/device-view';

/** The export defuses cells a spreadsheet would run as formulas (models are validated, so only a unit test can feed them). */
describe('CSV export defusing (admin export)', () => {
  const view = (o: Partial<DeviceView>): DeviceView => ({
    mac: '021122334455',
    tenant: 'acme',
    site: null,
    vendor: 'yealink',
    model: 'T46U',
    state: 'needed',
    pap: '012345',
    createdAt: '2024-01-02T03:04:05.000Z',
    sipUsername: 'u',
    sipPassword: 'p',
    failures: 0,
    lockouts: 0,
    lockedUntil: null,
    suspendedUntil: null,
    lastProvisionedIp: null,
    lastProvisionedAt: null,
    lines: [],
    ...o,
  });

  it('prefixes formula-looking cells with an apostrophe and leaves others alone', () => {
    for (const f of ['=cmd()', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1']) assert.equal(defuseCell(f), `'${f}`);
    for (const ok of ['T46U', 'VVX 411', '', '012345', "'quoted"]) assert.equal(defuseCell(ok), ok);
  });

  it('writes RFC 4180 rows with defused cells, CRLF, quoting and no PAP for successful devices', () => {
    const csv = devicesToCsv([view({ model: '=cmd|"/c calc"!A1', site: 'a,b' }), view({ mac: '021122334466', state: 'successful', pap: null })]);
    const lines = csv.split('\r\n');
    assert.equal(lines[0], 'vendor,model,mac,created,site,state,pap');
    assert.equal(lines[1], `yealink,"'=cmd|""/c calc""!A1",021122334455,2024-01-02T03:04:05.000Z,"a,b",needed,012345`);
    assert.equal(lines[2], 'yealink,T46U,021122334466,2024-01-02T03:04:05.000Z,,successful,');
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    assert.equal(rows[0]!.model, `'=cmd|"/c calc"!A1`);
    assert.equal(rows[0]!.pap, '012345', 'leading zero kept');
  });
});
