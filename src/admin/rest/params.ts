import { invalid } from '../../domain/errors';
import type { AuthState } from '../../domain/types';

/** Reading request bodies and query strings; every error names the field. */

const STATES: readonly AuthState[] = ['needed', 'failed', 'blocked', 'successful'];

/**
 * The JSON body as an object with only the `allowed` keys. A missing body
 * reads as `{}`, so the message is about the missing field, not the body.
 */
export function bodyObject(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('body', `the request body must be a JSON object with the fields ${allowed.join(', ')}`);
  }
  const o = body as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) throw invalid(key, `unknown field "${key}"; expected: ${allowed.join(', ')}`);
  }
  return o;
}

/** One query parameter: absent → undefined; given twice → invalid. */
export function queryParam(query: unknown, name: string): string | undefined {
  const v = (query as Record<string, unknown> | undefined)?.[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(name, `${name} must be given once`);
  return v;
}

/** How many audit events to return: 1-1000, default 100. */
export function parseLimit(input: string | undefined, field = 'limit'): number {
  if (input === undefined || input === '') return 100;
  const n = /^\d{1,7}$/.test(input.trim()) ? Number(input.trim()) : NaN;
  if (!(n >= 1 && n <= 1000)) throw invalid(field, `${field} must be a whole number from 1 to 1000`);
  return n;
}

/** A device state to filter by, or undefined for all. */
export function parseStateFilter(input: string | undefined, field = 'state'): AuthState | undefined {
  if (input === undefined || input === '') return undefined;
  const s = input.trim().toLowerCase();
  if ((STATES as readonly string[]).includes(s)) return s as AuthState;
  throw invalid(field, `${field} must be one of: ${STATES.join(', ')}`);
}
