import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { SQL, type StatementName } from './statements';

/** Something statements run on: the pool (one statement, autocommit) or a client inside a transaction. */
export interface Queryable {
  query: PoolClient['query'];
}

/** Runs a named statement of statements.ts (prepared once per connection). */
export async function run<R extends QueryResultRow = QueryResultRow>(
  db: Queryable,
  name: StatementName,
  values: unknown[] = [],
): Promise<{ rows: R[]; rowCount: number }> {
  const r = await db.query<R>({ name, text: SQL[name], values });
  return { rows: r.rows, rowCount: r.rowCount ?? 0 };
}

/**
 * An error thrown by the caller's own code (a `mutate` function) inside a
 * transaction: it is rethrown as it was, never translated as a database error.
 */
export class CallerError {
  constructor(readonly error: unknown) {}
}

/**
 * Runs `fn` in one transaction on one pooled connection: COMMIT when it
 * resolves, ROLLBACK when it throws. A connection whose ROLLBACK fails is
 * broken and is closed instead of going back to the pool.
 */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw e;
  } finally {
    client.release(broken);
  }
}
