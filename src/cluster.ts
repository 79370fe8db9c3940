import cluster, { type Worker } from 'node:cluster';
import type { MetricsJson } from './observability/metrics';
import type { Logger } from './ports/logger';

/**
 * Worker processes for the provisioning HTTP service (node:cluster), part of
 * the composition root. The primary keeps SIP/RTP, the admin API and the
 * portal; each worker runs only provisioning on the shared port. node:cluster
 * rather than SO_REUSEPORT: Node 20 cannot set SO_REUSEPORT on a listening
 * socket, and the primary's round-robin hand-out of connections spreads
 * phones evenly where the kernel's accept() contention would not.
 *
 * A worker that dies is started again after a back-off that doubles while
 * workers keep dying young (a crash loop must not spin a core), and resets
 * once one stayed up. stop() ends all of them with SIGTERM, then SIGKILL.
 */

export interface WorkerPoolOptions {
  count: number;
  /** Overrides (keyed by PAPGATE_* name) sent to each worker before it starts, e.g. the bound SIP port. */
  overrides: Record<string, string>;
  log: Logger;
  /** First restart delay; doubled per young death up to maxRestartDelayMs. */
  minRestartDelayMs?: number;
  maxRestartDelayMs?: number;
  /** A worker that lived this long resets the back-off. */
  stableAfterMs?: number;
  /** How long stop() waits for a worker after SIGTERM before SIGKILL. */
  stopTimeoutMs?: number;
}

/** The message a new worker waits for (see runWorkerFromPrimary). */
export interface WorkerStartMessage {
  kind: 'papgate-worker-start';
  overrides: Record<string, string>;
}

interface Slot {
  worker: Worker | null;
  startedAt: number;
  youngDeaths: number;
  timer?: NodeJS.Timeout;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private stopping = false;
  private metricsRequests = 0;

  constructor(private readonly o: WorkerPoolOptions) {}

  /** Forks every worker; resolves when all of them listen (or rejects after timeoutMs). */
  async start(timeoutMs = 30_000): Promise<void> {
    const listening: Promise<void>[] = [];
    for (let i = 0; i < this.o.count; i++) {
      const slot: Slot = { worker: null, startedAt: 0, youngDeaths: 0 };
      this.slots.push(slot);
      listening.push(this.fork(slot));
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`provisioning workers did not listen within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.all(listening), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Process ids of the running workers (for logs and tests). */
  pids(): number[] {
    return this.slots.flatMap((s) => (s.worker?.process.pid ? [s.worker.process.pid] : []));
  }

  /** Each live worker's metrics; a worker that does not answer within timeoutMs is left out. */
  async collectMetrics(timeoutMs = 1000): Promise<MetricsJson[]> {
    const id = ++this.metricsRequests;
    const live = this.slots.flatMap((s) => (s.worker && !s.worker.isDead() ? [s.worker] : []));
    const answers = await Promise.all(
      live.map(
        (w) =>
          new Promise<MetricsJson | null>((resolve) => {
            const timer = setTimeout(() => done(null), timeoutMs);
            const onMessage = (m: { kind?: string; id?: number; metrics?: MetricsJson } | null) => {
              if (m?.kind === 'papgate-metrics' && m.id === id) done(m.metrics ?? null);
            };
            const done = (v: MetricsJson | null) => {
              clearTimeout(timer);
              w.off('message', onMessage);
              resolve(v);
            };
            w.on('message', onMessage);
            try {
              w.send({ kind: 'papgate-metrics-request', id });
            } catch {
              done(null); // the worker died between the check and the send
            }
          }),
      ),
    );
    return answers.filter((a): a is MetricsJson => a !== null);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map((slot) => {
        clearTimeout(slot.timer);
        const w = slot.worker;
        if (!w || w.isDead()) return undefined;
        return new Promise<void>((resolve) => {
          const kill = setTimeout(() => w.process.kill('SIGKILL'), this.o.stopTimeoutMs ?? 10_000);
          w.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          w.process.kill('SIGTERM');
        });
      }),
    );
  }

  private fork(slot: Slot): Promise<void> {
    const w = cluster.fork();
    slot.worker = w;
    slot.startedAt = Date.now();
    const log = this.o.log.child({ worker: w.id, pid: w.process.pid });
    // The worker asks once its listener is in place (a message sent earlier could be lost).
    w.on('message', (m: { kind?: string } | null) => {
      if (m?.kind === 'papgate-worker-ready') w.send({ kind: 'papgate-worker-start', overrides: this.o.overrides } satisfies WorkerStartMessage);
    });
    w.on('exit', (code, signal) => this.onExit(slot, w, code, signal, log));
    return new Promise<void>((resolve) => {
      w.once('listening', () => {
        log.info('provisioning worker listening');
        resolve();
      });
    });
  }

  private onExit(slot: Slot, w: Worker, code: number | null, signal: string | null, log: Logger): void {
    if (slot.worker !== w) return;
    slot.worker = null;
    if (this.stopping) {
      log.info({ code, signal }, 'provisioning worker stopped');
      return;
    }
    const lived = Date.now() - slot.startedAt;
    slot.youngDeaths = lived >= (this.o.stableAfterMs ?? 10_000) ? 0 : slot.youngDeaths + 1;
    const min = this.o.minRestartDelayMs ?? 200;
    const delay = Math.min(min * 2 ** slot.youngDeaths, this.o.maxRestartDelayMs ?? 30_000);
    log.error({ code, signal, livedMs: lived, restartInMs: delay }, 'provisioning worker died; starting another');
    slot.timer = setTimeout(() => {
      if (!this.stopping) void this.fork(slot);
    }, delay);
  }
}

/** In a worker: waits for the primary's start message (its overrides). */
export function startMessageFromPrimary(timeoutMs = 30_000): Promise<WorkerStartMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no start message from the primary process')), timeoutMs);
    const onMessage = (m: unknown) => {
      if ((m as WorkerStartMessage | null)?.kind !== 'papgate-worker-start') return;
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(m as WorkerStartMessage);
    };
    process.on('message', onMessage);
    process.send?.({ kind: 'papgate-worker-ready' });
  });
}

/** In a worker: answers the primary's requests for this process's metrics. */
export function answerMetricsRequests(json: () => Promise<MetricsJson>): void {
  process.on('message', (m: { kind?: string; id?: number } | null) => {
    if (m?.kind !== 'papgate-metrics-request') return;
    json().then(
      (metrics) => process.send?.({ kind: 'papgate-metrics', id: m.id, metrics }),
      () => process.send?.({ kind: 'papgate-metrics', id: m.id, metrics: [] }),
    );
  });
}

export const isClusterWorker = (): boolean => cluster.isWorker;
export const workerId = (): number | undefined => cluster.worker?.id;
