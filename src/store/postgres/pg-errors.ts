import { invalid, unavailable, type PapgateError } from '../../domain/errors';

/**
 * Translates what the `pg` driver throws into papgate's error codes: a server
 * error (a SQLSTATE `code`), a socket error (ECONNREFUSED, ...) or one of the
 * driver's own plain Errors (timeouts, a terminated connection). Conflicts and
 * missing keys get their wording at the call site; everything here is said in
 * words for an operator, never as a driver message or stack.
 */

export interface PgServerError extends Error {
  code: string;
  constraint?: string;
  column?: string;
}

/** A server-side error: it carries a five-character SQLSTATE. */
export function isPgServerError(e: unknown): e is PgServerError {
  if (!(e instanceof Error)) return false;
  const code: unknown = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && 'severity' in e;
}

/** The unique or foreign-key constraint `e` violated, or null. */
export function violatedConstraint(e: unknown, kind: 'unique' | 'foreign_key'): string | null {
  if (!isPgServerError(e)) return null;
  const code = kind === 'unique' ? '23505' : '23503';
  return e.code === code ? (e.constraint ?? '') : null;
}

export const isUnique = (e: unknown, constraint: string) => violatedConstraint(e, 'unique') === constraint;
export const isForeignKey = (e: unknown) => violatedConstraint(e, 'foreign_key') !== null;

const SOCKET_REASONS: Record<string, string> = {
  ECONNREFUSED: 'the database server refused the connection (is it running?)',
  ECONNRESET: 'the connection to the database was reset',
  EHOSTUNREACH: 'the database host is unreachable',
  ENETUNREACH: 'the database network is unreachable',
  ENOTFOUND: 'the database host name does not resolve',
  EAI_AGAIN: 'the database host name does not resolve (DNS failed)',
  ETIMEDOUT: 'the database did not answer in time',
  EPIPE: 'the connection to the database broke',
};

/** SQLSTATE classes and codes in words. */
function serverReason(code: string): string {
  if (code === '57014') return 'the database did not answer in time (statement timeout)';
  if (code === '55P03') return 'the database row stayed locked too long';
  if (code.startsWith('57P')) return 'the database server is shutting down or restarting';
  if (code === '3D000') return 'the database does not exist';
  if (code.startsWith('28')) return 'the database refused the login (check the user and password in PAPGATE_DB)';
  if (code === '42P01') return 'the database has no papgate schema: run `papgate migrate`';
  if (code === '25006') return 'the database is read-only (a standby?)';
  if (code.startsWith('53')) return 'the database server is out of resources (disk, memory or connections)';
  if (code.startsWith('08')) return 'the connection to the database failed';
  if (code === '40001' || code === '40P01') return 'a concurrent change got in the way; try again';
  if (code === '42501') return 'permission denied on the database';
  return `the database failed (SQLSTATE ${code})`;
}

/** The driver's own errors are plain Errors; these phrases are stable across pg 8.x. */
function driverReason(message: string): string | null {
  if (/timeout exceeded when trying to connect|connection timeout/i.test(message)) {
    return 'the database did not accept a connection in time';
  }
  if (/Query read timeout/i.test(message)) return 'the database did not answer in time';
  if (/terminated|not queryable|Connection ended|ended unexpectedly/i.test(message)) {
    return 'the connection to the database was lost';
  }
  return null;
}

/**
 * An error the call site did not handle, as a PapgateError. Value errors
 * (NOT NULL, CHECK, out of range, bad encoding) are 'invalid' and name no
 * value (it might be a secret); everything else is 'unavailable'.
 */
export function translatePgError(e: unknown, action: string): PapgateError {
  if (isPgServerError(e)) {
    if (e.code.startsWith('23') || e.code.startsWith('22')) {
      const column = e.column ?? 'value';
      return invalid(column, `cannot ${action}: the store refuses the value of ${column} (SQLSTATE ${e.code})`);
    }
    return unavailable(`cannot ${action}: ${serverReason(e.code)}`);
  }
  const code: unknown = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && SOCKET_REASONS[code]) return unavailable(`cannot ${action}: ${SOCKET_REASONS[code]}`);
  const message = e instanceof Error ? e.message : String(e);
  return unavailable(`cannot ${action}: ${driverReason(message) ?? 'the database cannot be used'}`);
}

/** The URL without its password, for messages and logs. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    const db = u.pathname.replace(/^\//, '') || '(default)';
    return `postgres://${u.username ? `${u.username}@` : ''}${u.host}/${db}`;
  } catch {
    // Not a URL at all: say nothing of its text (it may hold a password).
    return 'the PostgreSQL URL';
  }
}
