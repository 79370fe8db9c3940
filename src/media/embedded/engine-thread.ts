/**
 * The embedded media engine in a worker thread: RTP, its 20 ms send grid,
 * DTMF detection and prompt playout run on their own event loop (a core of
 * their own), so SIP, the store and the IVR on the main loop no longer delay
 * the next frame, and their bursts no longer show as jitter.
 *
 * Should the worker die, the calls on it end (each session reports its
 * prompt interrupted and 'inactive', so the IVR hangs up), the error is
 * logged, and the next call starts a new worker.
 */
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PapgateError } from '../../domain/errors';
import type { MediaEngine, MediaSession } from '../../ports/media';
import type { EmbeddedMediaEngineOptions, EmbeddedMediaStats } from './engine';
import { RtpPortPool } from './rtp-port-pool';
import type { NiceOutcome } from './thread-priority';
import { ThreadSession } from './thread-session';
import { fromWire, STAT_FIELDS, STATS_BYTES, type FromWorker, type LogLevel, type MediaWorkerData, type ToWorker } from './thread-messages';

/** How long close() lets the worker close its sessions before ending it. */
const SHUTDOWN_TIMEOUT_MS = 3000;
/** A worker that died before it was ready is not started again sooner than this (no restart loop). */
const FAILED_START_PAUSE_MS = 1000;
const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** The worker's file beside this one: .ts under tsx (tests), .js when built. */
function workerFile(): { file: string; execArgv: string[] } {
  const ext = extname(__filename);
  const file = join(__dirname, `engine-worker${ext}`);
  // Only the TypeScript loader, when running from sources: none of the parent's flags (profilers, inspectors).
  return { file, execArgv: ext === '.ts' ? ['--require', 'tsx/cjs'] : [] };
}

interface Running {
  worker: Worker;
  ready: boolean;
  exited: Promise<void>;
}

export class ThreadedMediaEngine implements MediaEngine {
  private running: Running | undefined;
  private readonly sessions = new Map<number, ThreadSession>();
  private readonly creating = new Map<number, { resolve: (s: MediaSession) => void; reject: (e: Error) => void; callId: string }>();
  private readonly statsBuffer = new SharedArrayBuffer(STATS_BYTES);
  private readonly statsView = new Float64Array(this.statsBuffer);
  private nextId = 1;
  private failedStartAtMs = -Infinity;
  private closed = false;

  /** `thread.nice`: the worker thread's nice value (thread-priority.ts); unset keeps the process's. */
  constructor(
    private readonly opts: EmbeddedMediaEngineOptions,
    private readonly thread: { nice?: number } = {},
  ) {
    new RtpPortPool(opts.bindAddress, opts.rtpPortMin, opts.rtpPortMax); // a bad range throws here, at start-up, as without a thread
    this.start();
  }

  /** The running worker (tests end it to see a crash handled). */
  get worker(): Worker | undefined {
    return this.running?.worker;
  }

  async createSession(opts: { callId: string; offerSdp: string; signallingAddress?: string }): Promise<MediaSession> {
    if (this.closed) throw new Error('media engine is closed');
    if (!this.running && !this.start()) throw new PapgateError('unavailable', 'the media worker failed to start; retrying shortly');
    const id = this.nextId++;
    return new Promise<MediaSession>((resolve, reject) => {
      this.creating.set(id, { resolve, reject, callId: opts.callId });
      this.holdWhileBusy();
      this.send({ t: 'create', id, ...opts });
    });
  }

  /** The worker's figures (kept current in shared memory, at most 0.1 s old); sessions as this side counts them. */
  stats(): EmbeddedMediaStats {
    const stats = { sessions: this.sessions.size } as EmbeddedMediaStats;
    STAT_FIELDS.forEach((field, i) => {
      stats[field] = this.statsView[i]!;
    });
    return stats;
  }

  resetStats(): void {
    this.statsView.fill(0);
    this.send({ t: 'resetStats' });
  }

  async close(): Promise<void> {
    this.closed = true;
    const running = this.running;
    if (!running) return;
    running.worker.postMessage({ t: 'shutdown' } satisfies ToWorker);
    const timer = setTimeout(() => void running.worker.terminate(), SHUTDOWN_TIMEOUT_MS);
    await running.exited;
    clearTimeout(timer);
  }

  /** Starts a worker; false while one that failed to start is still in its pause. */
  private start(): boolean {
    if (performance.now() - this.failedStartAtMs < FAILED_START_PAUSE_MS) return false;
    const { file, execArgv } = workerFile();
    const { log, ...options } = this.opts;
    const data: MediaWorkerData = {
      options,
      logLevels: LEVELS.filter((l) => log.isLevelEnabled?.(l) ?? true),
      stats: this.statsBuffer,
      ...(this.thread.nice === undefined ? {} : { nice: this.thread.nice }),
    };
    const worker = new Worker(file, { workerData: data, execArgv });
    const running: Running = { worker, ready: false, exited: new Promise((resolve) => worker.once('exit', () => resolve())) };
    worker.on('message', (m: FromWorker) => this.onMessage(running, m));
    worker.on('error', (err) => log.error({ err: err.message, stack: err.stack }, 'media worker failed'));
    worker.once('exit', (code) => this.onExit(running, code));
    worker.unref(); // an idle worker does not keep the process alive (busy: see holdWhileBusy)
    this.running = running;
    return true;
  }

  /** Like the RTP sockets it holds: the process stays up while a call is on the worker, not for an idle one. */
  private holdWhileBusy(): void {
    if (this.sessions.size + this.creating.size > 0) this.running?.worker.ref();
    else this.running?.worker.unref();
  }

  private send(m: ToWorker): void {
    this.running?.worker.postMessage(m);
  }

  private onMessage(running: Running, m: FromWorker): void {
    switch (m.t) {
      case 'ready':
        running.ready = true;
        return this.reportPriority(m.nice);
      case 'created':
        return this.created(m.id, m.answerSdp);
      case 'createFailed': {
        const pending = this.creating.get(m.id);
        this.creating.delete(m.id);
        this.holdWhileBusy();
        return pending?.reject(fromWire(m.error));
      }
      case 'event':
        return this.sessions.get(m.id)?.deliver(m);
      case 'closed':
        return this.sessions.get(m.id)?.closed();
      case 'log':
        return this.opts.log.child(m.bindings)[m.level](m.obj, m.msg);
    }
  }

  /** Once per worker: a refused priority means call audio may jitter when the cores are busy. */
  private reportPriority(outcome: NiceOutcome | undefined): void {
    if (!outcome) return;
    if (outcome.ok) this.opts.log.debug({ tid: outcome.tid, nice: outcome.nice }, 'media thread priority set');
    else
      this.opts.log.info(
        { nice: this.thread.nice, reason: outcome.reason },
        'media thread keeps the process priority: its RTP may jitter when the cores are busy (grant CAP_SYS_NICE or LimitNICE, or set PAPGATE_MEDIA_NICE=keep)',
      );
  }

  private created(id: number, answerSdp: string): void {
    const pending = this.creating.get(id);
    this.creating.delete(id);
    if (!pending) return;
    const log = this.opts.log.child({ callId: pending.callId });
    const session = new ThreadSession(
      id,
      answerSdp,
      (m) => this.send(m),
      log,
      (s) => {
        this.sessions.delete(s.id);
        this.holdWhileBusy();
      },
    );
    this.sessions.set(id, session);
    pending.resolve(session);
  }

  /** The worker is gone: after close() as asked, else a crash that ends its calls. */
  private onExit(running: Running, code: number): void {
    if (this.running === running) this.running = undefined;
    const crashed = !this.closed;
    if (crashed) {
      if (!running.ready) this.failedStartAtMs = performance.now();
      this.opts.log.error(
        { exitCode: code, calls: this.sessions.size, ready: running.ready },
        'media worker stopped unexpectedly: its calls end, the next call starts a new worker',
      );
    }
    for (const [id, pending] of this.creating) {
      this.creating.delete(id);
      pending.reject(new PapgateError('unavailable', 'the media worker stopped before the session was set up'));
    }
    for (const session of [...this.sessions.values()]) {
      if (crashed) session.lost();
      else session.closed();
    }
  }
}
