import { ImportRejected, type ImportError } from '../app/device-csv';
import { isPapgateError, type ErrorCode } from '../domain/errors';

/**
 * The one translation of papgate's error codes at the admin edges: an HTTP
 * status for the REST API, an exit code for the CLI. Everything that is not
 * a PapgateError is an internal error: its message is not shown to clients.
 */

export type AdminErrorCode = ErrorCode | 'internal';

const HTTP_STATUS: Record<AdminErrorCode, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  internal: 500,
  unavailable: 503,
};

/** CLI exit codes (also printed in `papgate --help`). */
export const EXIT_CODES = {
  ok: 0,
  failure: 1,
  invalid: 2,
  notFound: 3,
} as const;

const EXIT_CODE: Record<AdminErrorCode, number> = {
  invalid: EXIT_CODES.invalid,
  not_found: EXIT_CODES.notFound,
  conflict: EXIT_CODES.failure,
  forbidden: EXIT_CODES.failure,
  unauthorized: EXIT_CODES.failure,
  unavailable: EXIT_CODES.failure,
  internal: EXIT_CODES.failure,
};

export const EXIT_CODES_HELP = [
  'Exit codes:',
  '  0  success',
  '  1  failure (conflict, forbidden, database unavailable, internal error)',
  '  2  invalid input or usage (the message names the field)',
  '  3  not found (no such tenant, site, device or allow-list entry)',
].join('\n');

/** What a client is told about a failure. */
export interface ErrorReport {
  code: AdminErrorCode;
  message: string;
  field?: string;
  /** Per-line problems of a rejected CSV import. */
  errors?: ImportError[];
}

export function describeError(e: unknown): ErrorReport {
  if (e instanceof ImportRejected) {
    return { code: e.code, message: e.message, field: e.field, errors: e.errors };
  }
  if (isPapgateError(e)) {
    return e.field === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, field: e.field };
  }
  return { code: 'internal', message: 'internal error' };
}

export function httpStatusOf(code: AdminErrorCode): number {
  return HTTP_STATUS[code];
}

export function exitCodeOf(code: AdminErrorCode): number {
  return EXIT_CODE[code];
}

/** The JSON body of an error response: `{ error, message, field?, errors? }`. */
export function errorBody(r: ErrorReport): Record<string, unknown> {
  const body: Record<string, unknown> = { error: r.code, message: r.message };
  if (r.field !== undefined) body.field = r.field;
  if (r.errors !== undefined) body.errors = r.errors.map((x) => ({ line: x.line, field: x.field ?? null, message: x.message }));
  return body;
}
