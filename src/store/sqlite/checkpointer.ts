import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../ports/logger';

/**
 * Copies the WAL back into the database file, from a worker thread with
 * connections of its own: the store's connection (the event loop) never
 * checkpoints. A checkpoint reads and writes every page written since the
 * last one and syncs the file: on the event loop that took 50 ms after two
 * seconds of provisioning writes, and 25 ms even when only its last frames
 * were left to copy (the syncs), stalling every request of the process.
 *
 * A PASSIVE checkpoint takes no lock that writers or readers wait for, so it
 * runs beside the store's writes. But one that runs while writes go on never
 * reaches the last frame, and SQLite starts the WAL over only after one that
 * did: the WAL would grow to the wal_autocheckpoint backstop, which runs on
 * the event loop. So once per period the worker catches up (passes until few
 * frames are left), then, unless that pass already copied every frame (a
 * quiet period), takes the write lock on a second connection and passes once
 * more: with no writer, that pass copies the last frames and completes, and
 * the next write starts the WAL over. Meanwhile the store's
 * writes find the lock taken and wait for it asynchronously (lock-retry.ts,
 * the same as for a write of another process), while reads go on; the
 * worker says when it lets go, and they try again at once (LockRelease). Between,
 * the worker passes a few times per period, so little is left for the pass
 * under the lock (or for a backstop checkpoint).
 */

/**
 * Worker passes per period. Under sustained writes the WAL can reach the
 * wal_autocheckpoint backstop before the period's last pass; a backstop
 * checkpoint then copies only what the worker's last pass left (at most period/PASSES).
 */
const PASSES = 8;
/** A catch-up pass that saw fewer new frames than this is close enough for the pass under the lock. */
const CLOSE_ENOUGH = 200;
/** Catch-up passes at most, should writes outrun the copying. */
const MAX_CATCH_UP = 4;
/**
 * How long the worker waits for the write lock (the store's transactions
 * are short); past it, this period's WAL is finished in the next one.
 */
const LOCK_WAIT_MS = 200;

/** Runs in the worker (plain JavaScript: no TypeScript loader there in production). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 0');
// Only ever holds the write lock, so that the last pass of a period meets no writer.
const gate = new Database(workerData.path, { fileMustExist: true });
gate.pragma('busy_timeout = ${LOCK_WAIT_MS}');
const pass = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
const passAlone = () => {
  try {
    gate.exec('BEGIN IMMEDIATE');
  } catch (e) {
    if (String(e && e.code).startsWith('SQLITE_BUSY')) return; // writes went on all along: next period
    throw e;
  }
  try {
    pass();
  } finally {
    gate.exec('ROLLBACK');
    parentPort.postMessage({ released: true }); // writes waiting for the lock try again now
  }
};
let tick = 0;
const timer = setInterval(() => {
  try {
    let r = pass();
    if (++tick % ${PASSES} !== 0) return;
    for (let i = 0; i < ${MAX_CATCH_UP}; i++) {
      const before = r.log;
      r = pass();
      if (r.busy || r.log - before < ${CLOSE_ENOUGH}) break;
    }
    // A pass that copied every frame (or found none) lets the WAL start over by itself: no lock needed.
    if (r.checkpointed < r.log) passAlone();
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.message) });
  }
}, workerData.ms / ${PASSES});
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  gate.close();
  parentPort.close();
});
`;

/** How long `stop` waits for the worker to close its connection before ending it. */
const STOP_TIMEOUT_MS = 2000;

export class Checkpointer {
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    this.exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  }

  /** Starts checkpointing the database file at `path`, a round every `ms`; `released` runs each time it lets the write lock go. */
  static start(path: string, ms: number, log: Logger, released: () => void = () => undefined): Checkpointer {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module: require.resolve('better-sqlite3'), path: resolve(path), ms },
      // The worker loads only better-sqlite3: no loaders or flags of the parent (tsx in tests).
      execArgv: [],
    });
    worker.on('message', (m: { error?: string; released?: true }) => {
      if (m.released) released();
      else log.warn({ error: m.error }, 'WAL checkpoint failed; SQLite will retry');
    });
    worker.on('error', (e) => {
      // Only the automatic checkpoint (at wal_autocheckpoint) is left: the WAL grows larger, nothing breaks.
      log.warn({ error: e.message }, 'WAL checkpointer stopped');
    });
    const checkpointer = new Checkpointer(worker);
    worker.unref();
    return checkpointer;
  }

  /** Lets the worker close its connection, then ends it. */
  async stop(): Promise<void> {
    this.worker.postMessage('stop');
    const timer = setTimeout(() => void this.worker.terminate(), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
