import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { AuditEvent, Device } from '../../domain/types';
import { auditParams, DEVICE_COLUMNS, deviceParams } from './rows';
import { INSERT_DEVICE_SQL } from './statements';

/**
 * Many rows inserted as one all-or-nothing transaction, off the event loop.
 *
 * Why a worker thread with a connection of its own: the transaction must be
 * one (all rows or none), and on the store's shared connection a transaction
 * held open across event-loop turns would take in every other request's
 * statements (they would commit or roll back with the import). A staging
 * table filled in short transactions still needs one final INSERT ... SELECT
 * of every row, which runs on the event loop for as long as the whole insert.
 * The worker instead runs BEGIN IMMEDIATE .. COMMIT on its own thread; while
 * it holds the write lock, the main connection's reads go on (WAL) and its
 * writes wait for the lock asynchronously (lock-retry.ts), as they would for
 * any other process. The rows are handed over in slices so that copying them
 * to the worker does not hold the event loop either.
 */

/** Rows per message to the worker: a slice is converted and copied (structured clone) on the event loop. */
const ROWS_PER_MESSAGE = 500;

export type BulkOutcome =
  /** lockHeldMs: how long the transaction held the write lock (other writers waited as long at most). */
  | { ok: true; lockHeldMs: number }
  /** `at`: index of the device whose insert failed; -1 when something else did. */
  | { ok: false; at: number; code: string | null; message: string };

const DEVICE = DEVICE_COLUMNS.join(', ');
const AUDIT = 'at, tenant_id, mac, source_ip, actor, action, outcome';
const named = (cols: string) =>
  cols
    .split(', ')
    .map((c) => `@${c}`)
    .join(', ');

/**
 * The rows are first staged in TEMP tables (private to the worker's
 * connection: writing them takes no lock on the database), then moved with
 * two INSERT ... SELECT statements inside BEGIN IMMEDIATE: the write lock is
 * held for the move only, natively, not for 100,000 calls from JavaScript.
 */
const SQL = {
  stageTables: `CREATE TEMP TABLE bulk_devices AS SELECT ${DEVICE} FROM main.devices WHERE 0;
    CREATE TEMP TABLE bulk_audit AS SELECT ${AUDIT} FROM main.audit WHERE 0;`,
  stageDevice: `INSERT INTO temp.bulk_devices (${DEVICE}) VALUES (${named(DEVICE)})`,
  stageAudit: `INSERT INTO temp.bulk_audit (${AUDIT}) VALUES (${named(AUDIT)})`,
  move: `INSERT INTO main.devices (${DEVICE}) SELECT ${DEVICE} FROM temp.bulk_devices ORDER BY rowid;
    INSERT INTO main.audit (${AUDIT}) SELECT ${AUDIT} FROM temp.bulk_audit ORDER BY rowid;`,
  insertDevice: INSERT_DEVICE_SQL,
};

/** Runs in the worker (plain JavaScript: no TypeScript loader there in production). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const sql = workerData.sql;
const devices = [];
const audit = [];
parentPort.on('message', (m) => {
  if (m.devices) { for (const d of m.devices) devices.push(d); for (const a of m.audit) audit.push(a); return; }
  let at = -1;
  let db;
  let answer;
  try {
    // This thread may wait inside SQLite for the lock: it blocks no one else.
    db = new Database(workerData.path, { fileMustExist: true, timeout: workerData.busyTimeoutMs });
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    db.pragma('temp_store = MEMORY');
    db.exec(sql.stageTables);
    const stageDevice = db.prepare(sql.stageDevice);
    const stageAudit = db.prepare(sql.stageAudit);
    db.transaction(() => {
      for (const d of devices) stageDevice.run(d);
      for (const a of audit) stageAudit.run(a);
    })();
    let locked = 0;
    try {
      db.transaction(() => { locked = performance.now(); db.exec(sql.move); }).immediate();
    } catch (e) {
      if (!(e && typeof e.code === 'string' && e.code.startsWith('SQLITE_CONSTRAINT'))) throw e;
      // Which row? Insert them one by one in a transaction that ends in a rollback either way.
      const insertDevice = db.prepare(sql.insertDevice);
      db.transaction(() => {
        for (at = 0; at < devices.length; at++) insertDevice.run(devices[at]);
        at = -1;
        throw e;
      }).immediate();
    }
    answer = { ok: true, lockHeldMs: Math.round(performance.now() - locked) };
  } catch (e) {
    answer = { ok: false, at, code: (e && typeof e.code === 'string') ? e.code : null, message: String(e && e.message) };
  }
  // Closed before answering: the thread ends with no connection (and no lock) left behind.
  if (db) db.close();
  parentPort.postMessage(answer);
  parentPort.close();
});
`;

/**
 * Inserts `devices` and `audit` into the database file at `path` in one
 * transaction on a worker thread. Resolves with what happened; never rejects
 * for a database error (the caller words it), only if the worker itself dies.
 */
export async function bulkInsert(
  path: string,
  devices: readonly Device[],
  audit: readonly Omit<AuditEvent, 'id'>[],
  busyTimeoutMs: number,
): Promise<BulkOutcome> {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { module: require.resolve('better-sqlite3'), path, busyTimeoutMs, sql: SQL },
    // The worker loads only better-sqlite3: no loaders or flags of the parent (tsx in tests).
    execArgv: [],
  });
  const outcome = new Promise<BulkOutcome>((resolve, reject) => {
    worker.once('message', (m: BulkOutcome) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the bulk-insert worker exited (${code}) without an answer`)));
  });
  // Keeps an early worker failure from being an unhandled rejection while the rows are still sent.
  outcome.catch(() => undefined);
  try {
    const slices = Math.max(Math.ceil(devices.length / ROWS_PER_MESSAGE), Math.ceil(audit.length / ROWS_PER_MESSAGE));
    for (let i = 0; i < slices; i++) {
      const from = i * ROWS_PER_MESSAGE;
      worker.postMessage({
        devices: devices.slice(from, from + ROWS_PER_MESSAGE).map((d) => deviceParams(d)),
        audit: audit.slice(from, from + ROWS_PER_MESSAGE).map(auditParams),
      });
      await nextTurn();
    }
    worker.postMessage({ commit: true });
  } catch (e) {
    // Nothing was sent to commit: the worker holds no lock yet, ending it loses nothing.
    void worker.terminate();
    throw e;
  }
  // The worker closes its connection, answers, and ends on its own.
  return outcome;
}
