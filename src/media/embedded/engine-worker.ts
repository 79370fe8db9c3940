/**
 * The worker thread of the threaded media engine (engine-thread.ts starts
 * it): the EmbeddedMediaEngine as it is, its sessions driven by messages,
 * their events, its log lines and its figures sent back to the main thread.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { Logger } from '../../ports/logger';
import { EmbeddedMediaEngine } from './engine';
import type { RtpSession } from './rtp-session';
import { setCallingThreadNice } from './thread-priority';
import { STAT_FIELDS, toWire, type FromWorker, type LogLevel, type MediaWorkerData, type ToWorker } from './thread-messages';

/** How often the shared figures are brought up to date. */
const STATS_EVERY_MS = 100;

/** A Logger whose lines go to the main thread's logger (only the levels it writes). */
function forwardingLogger(port: MessagePort, levels: ReadonlySet<LogLevel>, bindings: Record<string, unknown>): Logger {
  const line = (level: LogLevel) => (obj: object | string, msg?: string) => {
    if (!levels.has(level)) return;
    try {
      port.postMessage({ t: 'log', level, bindings, obj, msg } satisfies FromWorker);
    } catch {
      // obj held something that cannot cross threads: the message alone still tells what happened
      port.postMessage({ t: 'log', level, bindings, obj: {}, msg: msg ?? String(obj) } satisfies FromWorker);
    }
  };
  return {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    child: (more) => forwardingLogger(port, levels, { ...bindings, ...more }),
    isLevelEnabled: (level) => levels.has(level as LogLevel),
  };
}

class MediaWorker {
  private readonly engine: EmbeddedMediaEngine;
  private readonly sessions = new Map<number, RtpSession>();
  private readonly stats: Float64Array;
  private readonly statsTimer: NodeJS.Timeout;

  constructor(
    private readonly port: MessagePort,
    data: MediaWorkerData,
  ) {
    // First, so the engine's sockets and timers start on a thread that already has its priority.
    const nice = data.nice === undefined ? undefined : setCallingThreadNice(data.nice);
    const log = forwardingLogger(port, new Set(data.logLevels), {});
    this.engine = new EmbeddedMediaEngine({ ...data.options, log });
    this.stats = new Float64Array(data.stats);
    this.statsTimer = setInterval(() => this.writeStats(), STATS_EVERY_MS);
    port.on('message', (m: ToWorker) => this.onMessage(m));
    this.send({ t: 'ready', ...(nice ? { nice } : {}) });
  }

  private send(m: FromWorker): void {
    this.port.postMessage(m);
  }

  private onMessage(m: ToWorker): void {
    switch (m.t) {
      case 'create':
        return void this.create(m);
      case 'play':
        return this.sessions.get(m.id)?.play(m.files);
      case 'stopPlayback':
        return this.sessions.get(m.id)?.stopPlayback();
      case 'ignoreDigits':
        return this.sessions.get(m.id)?.ignoreDigits();
      case 'close':
        return void this.close(m.id);
      case 'resetStats':
        this.engine.resetStats();
        return this.writeStats();
      case 'shutdown':
        return void this.shutdown();
    }
  }

  private async create(m: Extract<ToWorker, { t: 'create' }>): Promise<void> {
    let session: RtpSession;
    try {
      session = await this.engine.createSession({ callId: m.callId, offerSdp: m.offerSdp, signallingAddress: m.signallingAddress });
    } catch (err) {
      this.send({ t: 'createFailed', id: m.id, error: toWire(err) });
      return;
    }
    this.sessions.set(m.id, session);
    session.on('digit', (digit, source) => this.send({ t: 'event', id: m.id, name: 'digit', args: [digit, source] }));
    session.on('playbackFinished', (interrupted) => this.send({ t: 'event', id: m.id, name: 'playbackFinished', args: [interrupted] }));
    session.on('inactive', () => this.send({ t: 'event', id: m.id, name: 'inactive', args: [] }));
    this.send({ t: 'created', id: m.id, answerSdp: session.answerSdp });
  }

  private async close(id: number): Promise<void> {
    const session = this.sessions.get(id);
    await session?.close();
    this.sessions.delete(id);
    this.send({ t: 'closed', id });
  }

  private writeStats(): void {
    const s = this.engine.stats();
    STAT_FIELDS.forEach((field, i) => {
      this.stats[i] = s[field];
    });
  }

  /** Closes every session and lets the thread end (nothing left on its loop). */
  private async shutdown(): Promise<void> {
    clearInterval(this.statsTimer);
    await this.engine.close();
    this.port.close();
  }
}

if (parentPort) new MediaWorker(parentPort, workerData as MediaWorkerData);
