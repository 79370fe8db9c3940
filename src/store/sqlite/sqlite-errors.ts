import { invalid, unavailable, type PapgateError } from '../../domain/errors';

/**
 * Translates better-sqlite3's SqliteError (a `code` such as SQLITE_BUSY, and a
 * terse message) into papgate's error codes. Conflicts and missing keys get
 * their wording at the call site, where the store knows what was being saved.
 */

interface SqliteErrorLike {
  code: string;
  message: string;
}

export function isSqliteError(e: unknown): e is SqliteErrorLike {
  if (!(e instanceof Error)) return false;
  const code: unknown = (e as Error & { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}

export type ViolationKind = 'unique' | 'foreign_key';

export interface Violation {
  kind: ViolationKind;
  /** Column names from the message, e.g. ['tenant_id', 'name'] for "UNIQUE constraint failed: sites.tenant_id, sites.name". */
  columns: string[];
}

/** The unique / foreign-key violation `e` reports, or null if it is something else. */
export function violation(e: unknown): Violation | null {
  if (!isSqliteError(e)) return null;
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const list = e.message.split('failed:')[1] ?? '';
    const columns = list
      .split(',')
      .map((c) => c.trim().split('.').pop() ?? '')
      .filter(Boolean);
    return { kind: 'unique', columns };
  }
  if (e.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return { kind: 'foreign_key', columns: [] };
  return null;
}

export function isUnique(e: unknown, column: string): boolean {
  const v = violation(e);
  return v !== null && v.kind === 'unique' && v.columns.includes(column);
}

export function isForeignKey(e: unknown): boolean {
  return violation(e)?.kind === 'foreign_key';
}

/** Why the database could not be used, in words for an operator. */
function reason(code: string): string {
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return 'the database is busy (locked by another process for too long)';
  }
  if (code.startsWith('SQLITE_IOERR')) return 'the disk could not be read or written';
  if (code === 'SQLITE_FULL') return 'the disk is full';
  if (code.startsWith('SQLITE_READONLY')) return 'the database file is read-only';
  if (code.startsWith('SQLITE_CANTOPEN')) return 'the database file cannot be opened';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'the database file is damaged or not a database';
  if (code === 'SQLITE_PERM' || code.startsWith('SQLITE_AUTH')) return 'permission denied on the database file';
  if (code === 'SQLITE_NOMEM') return 'the database ran out of memory';
  return `the database failed (${code})`;
}

/**
 * A SQLite error the call site did not handle, as a PapgateError. Constraint
 * failures left over here (NOT NULL, CHECK, type) mean a value the schema
 * refuses: 'invalid'. Everything else means the database cannot be used.
 */
export function translateSqliteError(e: SqliteErrorLike, action: string): PapgateError {
  if (e.code.startsWith('SQLITE_CONSTRAINT')) {
    const column = /([a-z_]+\.)?([a-z_]+)\s*$/i.exec(e.message)?.[2] ?? 'value';
    return invalid(column, `cannot ${action}: the store refuses the value of ${column}`);
  }
  return unavailable(`cannot ${action}: ${reason(e.code)}`);
}
