/**
 * The few error classes papgate has. Each edge (HTTP, SIP, CLI) translates
 * `code` once; messages are written for the person who typed the input.
 */
export type ErrorCode =
  | 'invalid' // bad input: 400 / exit 2
  | 'not_found' // 404
  | 'conflict' // 409 (duplicate MAC, tenant name, ...)
  | 'forbidden' // 403 (a tenant token touching another tenant)
  | 'unauthorized' // 401
  | 'unavailable'; // 503 (store down); authentication fails closed on it

export class PapgateError extends Error {
  override readonly name = 'PapgateError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The input field the message is about, when there is one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export const invalid = (field: string, message: string) => new PapgateError('invalid', message, field);
export const notFound = (message: string) => new PapgateError('not_found', message);
export const conflict = (message: string, field?: string) => new PapgateError('conflict', message, field);
export const forbidden = (message: string) => new PapgateError('forbidden', message);
export const unavailable = (message: string) => new PapgateError('unavailable', message);

export function isPapgateError(e: unknown): e is PapgateError {
  return e instanceof PapgateError;
}
