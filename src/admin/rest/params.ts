import { invalid } from '../../domain/errors';
import { AUDIT_LIMIT } from '../../domain/input-rules';
import type { AuthState } from '../../domain/types';

/** Option values the CLI reads as text; every error names the field. */

const STATES: readonly AuthState[] = ['needed', 'failed', 'blocked', 'successful'];

/** How many audit events to return: 1-1000, default 100. */
export function parseLimit(input: string | undefined, field = 'limit'): number {
  if (input === undefined || input === '') return AUDIT_LIMIT.default;
  const n = /^\d{1,7}$/.test(input.trim()) ? Number(input.trim()) : NaN;
  if (!(n >= AUDIT_LIMIT.min && n <= AUDIT_LIMIT.max)) throw invalid(field, `${field} must be a whole number from ${AUDIT_LIMIT.min} to ${AUDIT_LIMIT.max}`);
  return n;
}

/** A device state to filter by, or undefined for all. */
export function parseStateFilter(input: string | undefined, field = 'state'): AuthState | undefined {
  if (input === undefined || input === '') return undefined;
  const s = input.trim().toLowerCase();
  if ((STATES as readonly string[]).includes(s)) return s as AuthState;
  throw invalid(field, `${field} must be one of: ${STATES.join(', ')}`);
}
