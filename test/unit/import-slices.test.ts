import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { Readable } from 'node:stream';
import { parseInSlices } from '../../src/app/csv-slices';
import { TimeSlicer } from '../../src/app/time-slicer';
import { jsonListInSlices } from '../../src/admin/rest/json-slices';

const OPTIONS = { bom: true, skip_empty_lines: true, relax_column_count: true, trim: true };

async function text(r: Readable): Promise<string> {
  let s = '';
  for await (const chunk of r) s += String(chunk);
  return s;
}

describe('CSV import in slices', () => {
  it('parses pieces exactly as one parse would: multi-byte characters and quoted line breaks across piece boundaries', async () => {
    const rows = ['mac,vendor,model,site'];
    // 3- and 4-byte characters at every offset, so some land across the 2048-byte pieces.
    for (let i = 0; i < 600; i++) rows.push(`02ee${String(i).padStart(8, '0')},"yea€${'x'.repeat(i % 7)}\r\nlink",T46S,🙂site${i}`);
    const csv = `\uFEFF${rows.join('\r\n')}\r\n`;
    const sliced = await parseInSlices(csv, new TimeSlicer(0));
    assert.deepEqual(sliced, parse(csv, OPTIONS));
    assert.equal(sliced.length, 601);
    assert.equal(sliced[600]![3], '🙂site599');
  });

  it('a CSV syntax error is an invalid file error naming the problem, and nothing is left pending', async () => {
    const csv = `mac,vendor,model\n${'02ee00000001,yealink,T46S\n'.repeat(300)}02ee00000002,"yealink,T46S\n`;
    await assert.rejects(
      parseInSlices(csv, new TimeSlicer(0)),
      (e: Error & { code?: string; field?: string }) => e.code === 'invalid' && e.field === 'file' && /not valid CSV/.test(e.message),
    );
  });

  it('streams the import answer as valid JSON for no, one and many devices', async () => {
    for (const n of [0, 1, 100, 101, 250]) {
      const items = Array.from({ length: n }, (_, i) => ({ mac: `02ee${i}`, pap: '123456', note: 'a "quoted" \u2028 value' }));
      const body = JSON.parse(await text(jsonListInSlices('imported', 'devices', items))) as unknown;
      assert.deepEqual(body, { imported: n, devices: items });
    }
  });
});
