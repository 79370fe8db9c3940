import assert from 'node:assert/strict';
import { isEmergencyNumber, parseEmergencyNumbers, splitNumberList } from '../../src/domain/dialplan';
import { isPapgateError } from '../../src/domain/errors';

describe("a site's emergency numbers (domain)", () => {
  it('takes 1-15 of 0-9 * # +, trims, drops duplicates and keeps the order', () => {
    assert.deepEqual(parseEmergencyNumbers([' 15', '17', '18', '17', '*112#', '+3317', '123456789012345']), [
      '15',
      '17',
      '18',
      '*112#',
      '+3317',
      '123456789012345',
    ]);
    assert.deepEqual(parseEmergencyNumbers([]), []);
  });

  it('refuses anything else as an invalid emergencyNumbers, naming the bad entry', () => {
    const cases: unknown[] = [
      ['17a'],
      ['1-7'],
      [''],
      ['1234567890123456'],
      [17],
      '17',
      null,
      { 0: '17' },
      Array.from({ length: 21 }, (_, i) => String(100 + i)),
    ];
    for (const input of cases) {
      assert.throws(
        () => parseEmergencyNumbers(input),
        (e: unknown) => isPapgateError(e) && e.code === 'invalid' && e.field === 'emergencyNumbers',
        JSON.stringify(input),
      );
    }
    assert.throws(() => parseEmergencyNumbers(['15', '1-7']), /"1-7" is not an emergency number/);
  });

  it('splits a typed list, dropping blanks and empty entries', () => {
    assert.deepEqual(splitNumberList(' 15, 17 ,,18, '), ['15', '17', '18']);
    assert.deepEqual(splitNumberList(''), []);
  });

  it('matches dialled strings the way the global list does', () => {
    assert.equal(isEmergencyNumber('tel:17', ['17']), true);
    assert.equal(isEmergencyNumber('sip:17#@papgate', ['17']), true);
    assert.equal(isEmergencyNumber('171', ['17']), false);
  });
});
