import { Pool, types as pgTypes, type CustomTypesConfig } from 'pg';
import type { Logger } from '../../ports/logger';
import { describeUrl } from './pg-errors';

export interface PostgresStoreOptions {
  log?: Logger;
  /** Connections this process keeps at most. Default 10. */
  poolSize?: number;
  /**
   * How long connecting, and one statement (lock waits included), may take
   * before the call fails 'unavailable'. Default 5000 ms: a dead or
   * unreachable database fails calls quickly instead of hanging them.
   */
  timeoutMs?: number;
}

const INT8_OID = 20;

/**
 * BIGINT columns (epoch-ms times, audit ids, counts) as numbers: they stay
 * far below 2^53. Set on this pool only, not globally in the driver.
 */
const TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pgTypes.getTypeParser(oid, format)) as CustomTypesConfig['getTypeParser'],
};

export function createPool(url: string, opts: PostgresStoreOptions, log: Logger): Pool {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const pool = new Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    types: TYPES,
    application_name: 'papgate',
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    lock_timeout: timeoutMs,
    // The client-side guard for a database that stopped answering without closing the socket.
    query_timeout: timeoutMs + 1000,
    idle_in_transaction_session_timeout: timeoutMs * 2,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  // An idle connection that breaks (server restart) is reported here; without a listener it would crash the process.
  pool.on('error', (e: Error & { code?: string }) => {
    log.warn({ db: describeUrl(url), code: e.code ?? null }, 'an idle database connection broke; the pool opens a new one when needed');
  });
  return pool;
}
