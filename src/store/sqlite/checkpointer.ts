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
 * runs beside the store's writes, a pass every `ms`. But SQLite
 * starts the WAL over only when a write begins after a pass copied every
 * frame there was, and under steady writes a commit lands during nearly every
 * pass (a pass takes 10-30 ms, the store commits every few): the WAL grows
 * until the wal_autocheckpoint backstop, which runs on the event loop. At
 * 10,000 first contacts a second that was every 1.2 s, each time thousands
 * of pages and two file syncs of 40-50 ms. So the worker finishes the WAL
 * itself: it catches up (passes until few frames are left), then takes the
 * write lock on a second connection and passes once more; with no writer,
 * that pass copies the last frames and completes, and the next write starts
 * the WAL over. It does so once the WAL holds `restartFrames` frames and is
 * still being written: long before the backstop, and seldom enough that
 * waiting writes are rare (at 1,000 full configurations a second, every few
 * seconds; it was every 2 s, which put the lock's 20-40 ms
 * into the p99 of full configurations at that rate).
 *
 * Meanwhile the store's writes find the lock taken and wait for it
 * asynchronously (lock-retry.ts, the same as for a write of another process),
 * while reads go on; the worker says when it lets go, and they try again at
 * once (LockRelease). The lock is held for one short pass and its two syncs
 * (about 20 ms on the machine measured); at 10,000 first contacts a second
 * that is about twice a second.
 *
 * Those syncs are made short before the lock is taken. A passive pass syncs
 * the database file only when it copied the whole WAL, so under steady
 * writes every page copied since the last such pass was still waiting for
 * the disk when the pass under the lock synced the file: with a million
 * devices that sync took 56-72 ms, all of it under the lock. The worker now
 * syncs the file first, unlocked (fdatasync of its own descriptor: the same
 * file's pages), and the pass under the lock syncs only what it copied:
 * the lock was held 57-87 ms before, 4-34 ms after (a million devices, full
 * configurations at about 14,000 a second).
 */

/**
 * A WAL this long (frames of 4 KB pages) and still being written is finished
 * at the next pass: the fastest writes measured
 * (17,000 frames a second) add some 4,000 frames between two passes, which
 * keeps the WAL well short of the backstop (WAL_BACKSTOP_FRAMES).
 */
export const RESTART_FRAMES = 8000;
/** The wal_autocheckpoint the store sets while the worker runs: a checkpoint on the event loop, should the worker fall behind. */
export const WAL_BACKSTOP_FRAMES = 20_000;
/** A catch-up pass that saw fewer new frames than this is close enough for the pass under the lock. */
const CLOSE_ENOUGH = 200;
/** Catch-up passes at most, should writes outrun the copying. */
const MAX_CATCH_UP = 4;
/**
 * How long the worker waits for the write lock (the store's transactions
 * are short); past it, the WAL is finished at a later pass.
 */
const LOCK_WAIT_MS = 200;

/** Runs in the worker (plain JavaScript: no TypeScript loader there in production). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const { closeSync, fdatasyncSync, openSync } = require('node:fs');
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 0');
// Only ever holds the write lock, so that a finishing pass meets no writer.
const gate = new Database(workerData.path, { fileMustExist: true });
gate.pragma('busy_timeout = ${LOCK_WAIT_MS}');
const pass = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
// The database file, only ever synced: see passAlone.
const file = openSync(workerData.path, 'r');
const passAlone = () => {
  // A pass syncs the database file only when it copied the whole WAL, which under steady
  // writes is the pass under the lock: syncing first leaves it only its own pages to sync.
  fdatasyncSync(file);
  try {
    gate.exec('BEGIN IMMEDIATE');
  } catch (e) {
    if (String(e && e.code).startsWith('SQLITE_BUSY')) return; // writes went on all along: a later pass
    throw e;
  }
  try {
    pass();
  } finally {
    gate.exec('ROLLBACK');
    parentPort.postMessage({ released: true }); // writes waiting for the lock try again now
  }
};
let lastLog = 0;
const timer = setInterval(() => {
  try {
    let r = pass();
    // Still being written (a quiet WAL that a pass copied whole starts over at the next write by itself).
    const written = r.log !== lastLog;
    lastLog = r.log;
    if (!written || r.log < workerData.restartFrames) return;
    for (let i = 0; i < ${MAX_CATCH_UP}; i++) {
      const before = r.log;
      r = pass();
      if (r.busy || r.log - before < ${CLOSE_ENOUGH}) break;
    }
    passAlone();
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.message) });
  }
}, workerData.ms);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  gate.close();
  closeSync(file);
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

  /**
   * Starts checkpointing the database file at `path`, a pass every `ms`;
   * `released` runs each time it lets the write lock go. `restartFrames`:
   * see RESTART_FRAMES (tests make it small).
   */
  static start(path: string, ms: number, log: Logger, released: () => void = () => undefined, restartFrames = RESTART_FRAMES): Checkpointer {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module: require.resolve('better-sqlite3'), path: resolve(path), ms, restartFrames },
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
