import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import type { Logger } from '../../ports/logger';

/**
 * Copies the WAL back into the database file, mostly from a worker thread
 * with its own connection. A checkpoint reads and writes every page written
 * since the last one: on the event loop, after two seconds of provisioning
 * writes, that took about 50 ms, every phone request's p99. A PASSIVE
 * checkpoint takes no lock that writers or readers wait for, so it can run
 * beside the store's connection.
 *
 * But a checkpoint that runs while writes go on never reaches the last frame,
 * and SQLite starts the WAL over only after one that did: the WAL would grow
 * to the wal_autocheckpoint backstop, which runs on the event loop. So once
 * per period the worker catches up (passes until few frames are left) and
 * then `tail` runs one more pass on the store's own connection: it copies
 * the last few frames, completes, and the next write starts the WAL over.
 * Between, the worker passes a few times per period, so that whatever runs
 * on the event loop (tail, backstop) finds almost everything copied already.
 */

/**
 * Worker passes per period. Under sustained writes the WAL can reach the
 * wal_autocheckpoint backstop before the period's tail; a backstop checkpoint
 * then copies only what the worker's last pass left (at most period/PASSES).
 */
const PASSES = 8;
/** A catch-up pass that saw fewer new frames than this is close enough for the tail. */
const CLOSE_ENOUGH = 200;
/** Catch-up passes at most, should writes outrun the copying. */
const MAX_CATCH_UP = 4;

/** Runs in the worker (plain JavaScript: no TypeScript loader there in production). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 0');
const pass = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
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
    parentPort.postMessage({ done: true });
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.message) });
  }
}, workerData.ms / ${PASSES});
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
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

  /** Starts checkpointing the file of `db` (the store's connection, which runs the tail every `ms`). */
  static start(db: Database, ms: number, log: Logger): Checkpointer {
    const failed = (e: unknown) => {
      log.warn({ error: e instanceof Error ? e.message : String(e) }, 'WAL checkpoint failed; SQLite will retry');
    };
    const tail = () => {
      if (!db.open) return;
      try {
        db.pragma('wal_checkpoint(PASSIVE)');
      } catch (e) {
        failed(e);
      }
    };
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module: require.resolve('better-sqlite3'), path: resolve(db.name), ms },
      // The worker loads only better-sqlite3: no loaders or flags of the parent (tsx in tests).
      execArgv: [],
    });
    worker.on('message', (m: { done?: boolean; error?: string }) => {
      if (m.done) tail();
      else failed(m.error);
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
