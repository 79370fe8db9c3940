import { strict as assert } from 'node:assert';
import { isCi, toolReport, type SkippedTier } from '../helpers/required-tools';

describe('missing test tools: the end-of-run decision', () => {
  const tier = (o: Partial<SkippedTier> = {}): SkippedTier => ({
    tool: 'sipp',
    package: 'sip-tester',
    why: 'calls are placed by SIPp phones',
    problem: '"sipp" is not on PATH',
    where: 'calls: routing "before all" hook',
    ...o,
  });

  it('says nothing and passes when no tier was skipped, CI or not', () => {
    assert.deepEqual(toolReport([], { CI: 'true' }), { lines: [], fail: false });
    assert.deepEqual(toolReport([], {}), { lines: [], fail: false });
  });

  it('lists each skipped tier under its tool and package, as a warning outside CI', () => {
    const r = toolReport([tier(), tier({ where: 'forward' }), tier({ tool: 'sox', package: 'sox', why: 'in-band DTMF', problem: 'no sox' })], {});
    assert.equal(r.fail, false);
    const text = r.lines.join('\n');
    assert.match(r.lines[0]!, /^WARNING: 3 test tier\(s\) skipped/);
    assert.match(
      text,
      /sipp \("sipp" is not on PATH; apt-get install sip-tester\):\n {4}- calls: routing "before all" hook: calls are placed by SIPp phones\n {4}- forward:/,
    );
    assert.match(text, /sox \(no sox; apt-get install sox\)/);
    assert.match(text, /apt-get install -y sip-tester sox/);
  });

  it('fails the run with CI set', () => {
    const r = toolReport([tier()], { CI: 'true' });
    assert.equal(r.fail, true);
    assert.match(r.lines[0]!, /^FAILED/);
    assert.match(r.lines.join('\n'), /CI is set/);
  });

  it('reads CI like CI systems set it', () => {
    for (const v of ['true', '1', 'yes', 'TRUE']) assert.equal(isCi({ CI: v }), true, v);
    for (const v of [undefined, '', 'false', '0', 'no']) assert.equal(isCi({ CI: v }), false, String(v));
  });
});
