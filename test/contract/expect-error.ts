import assert from 'node:assert/strict';
import { isPapgateError, type ErrorCode, type PapgateError } from '../../src/domain/errors';

/** Awaits `p`, which must reject with a PapgateError of `code` whose message matches `message`. */
export async function expectError(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<PapgateError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected a '${code}' error, but the call succeeded`);
  assert.ok(isPapgateError(caught), `expected a PapgateError, got ${String(caught)}`);
  assert.equal(caught.code, code, `wrong code for: ${caught.message}`);
  if (message) assert.match(caught.message, message);
  // Raw SQLite wording must never be the whole story.
  assert.doesNotMatch(caught.message, /^(UNIQUE|FOREIGN KEY|NOT NULL|CHECK) constraint failed/);
  return caught;
}
