import { strict as assert } from 'node:assert';
import { describeError, errorBody, exitCodeOf, httpStatusOf } from '../../src/admin/errors';
import { bearerToken, tokensEqual } from '../../src/admin/rest/auth';
import { parseLimit, parseStateFilter } from '../../src/admin/rest/params';
import { AllowRemoveQuery, DeviceListQuery, LinesBody, TenantPatchBody } from '../../src/admin/rest/schemas';
import { zodValidatorCompiler } from '../../src/admin/rest/zod-validation';
import { ImportRejected } from '../../src/app/device-csv';
import { PapgateError, type ErrorCode } from '../../src/domain/errors';

describe('admin error mapping', () => {
  const table: [ErrorCode | 'internal', number, number][] = [
    ['invalid', 400, 2],
    ['unauthorized', 401, 1],
    ['forbidden', 403, 1],
    ['not_found', 404, 3],
    ['conflict', 409, 1],
    ['unavailable', 503, 1],
    ['internal', 500, 1],
  ];
  for (const [code, status, exit] of table) {
    it(`maps ${code} to HTTP ${status} and exit code ${exit}`, () => {
      assert.equal(httpStatusOf(code), status);
      assert.equal(exitCodeOf(code), exit);
    });
  }

  it('keeps code, message and field of a PapgateError', () => {
    const r = describeError(new PapgateError('invalid', 'mac is bad', 'mac'));
    assert.deepEqual(errorBody(r), { error: 'invalid', message: 'mac is bad', field: 'mac' });
    assert.deepEqual(errorBody(describeError(new PapgateError('not_found', 'gone'))), { error: 'not_found', message: 'gone' });
  });

  it('carries the per-line errors of a rejected import', () => {
    const r = describeError(
      new ImportRejected([
        { line: 3, field: 'mac', message: 'bad' },
        { line: 4, message: 'no site' },
      ]),
    );
    assert.equal(r.code, 'invalid');
    assert.deepEqual(errorBody(r).errors, [
      { line: 3, field: 'mac', message: 'bad' },
      { line: 4, field: null, message: 'no site' },
    ]);
    assert.equal(errorBody(r).field, 'file');
  });

  it('hides the message of anything that is not a PapgateError', () => {
    const r = describeError(new Error('SELECT * FROM devices WHERE pap = 123456'));
    assert.deepEqual(errorBody(r), { error: 'internal', message: 'internal error' });
    assert.deepEqual(errorBody(describeError('a string')), { error: 'internal', message: 'internal error' });
  });
});

describe('admin request helpers', () => {
  it('reads bearer tokens', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer   abc  '), 'abc');
    assert.equal(bearerToken('Basic abc'), null);
    assert.equal(bearerToken('Bearer'), null);
    assert.equal(bearerToken('Bearer a b'), null);
    assert.equal(bearerToken(undefined), null);
    assert.equal(bearerToken(['Bearer a']), null);
  });

  it('compares tokens of any length', () => {
    assert.ok(tokensEqual('same-token', 'same-token'));
    assert.ok(!tokensEqual('same-token', 'same-token-longer'));
    assert.ok(!tokensEqual('', 'x'));
  });

  it('accepts only JSON objects with known fields, and names the field of the first problem', () => {
    type Check = (data: unknown) => { value?: unknown; error?: Error & { field?: string } };
    const check = (schema: unknown, httpPart: string) => zodValidatorCompiler({ schema, httpPart, method: 'PUT', url: '/x' } as never) as Check;
    const patch = check(TenantPatchBody, 'body');
    assert.deepEqual(patch({ locale: 'de' }).value, { locale: 'de' });
    assert.equal(patch(null).error?.field, 'locale', 'a missing body reads as {}');
    assert.match(patch(null).error!.message, /locale is missing/);
    for (const notObject of [[1], 'x', 3]) assert.equal(patch(notObject).error?.field, 'body');
    assert.match(patch({ locale: 'de', b: 1 }).error!.message, /unknown field "b"; expected: locale/);
    const lines = check(LinesBody, 'body');
    const line = { server: 's', user: 'u', password: 'p' };
    assert.equal(lines({ lines: [line, { ...line, extra: 1 }] }).error?.field, 'lines[1].extra');
    assert.equal(lines({ lines: [line, { ...line, password: '' }] }).error?.field, 'lines[1].password');
    assert.doesNotMatch(lines({ lines: [{ ...line, password: 'secret"' }] }).error!.message, /secret/, 'no input in messages');
    const query = check(AllowRemoveQuery, 'querystring');
    assert.match(query({ cidr: ['a', 'b'] }).error!.message, /cidr must be given once/);
    assert.match(query({ cidr: '' }).error!.message, /cidr is missing/, 'an empty parameter is not given');
    assert.deepEqual(check(DeviceListQuery, 'querystring')({ state: '', site: '' }).value, {});
  });

  it("parses limits and states (the CLI's options)", () => {
    assert.equal(parseLimit(undefined), 100);
    assert.equal(parseLimit('1'), 1);
    assert.equal(parseLimit('1000'), 1000);
    for (const bad of ['0', '1001', '1e3', ' ', 'x', '-1']) assert.throws(() => parseLimit(bad), { field: 'limit' }, bad);
    assert.equal(parseStateFilter(undefined), undefined);
    assert.equal(parseStateFilter('Blocked'), 'blocked');
    assert.throws(() => parseStateFilter('locked'), { field: 'state' });
  });
});
