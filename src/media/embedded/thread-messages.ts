/**
 * What the media engine's worker thread and its proxy on the main thread say
 * to each other (engine-thread.ts, engine-worker.ts). Sessions are named by
 * a number the main side picks.
 */
import { PapgateError, type ErrorCode } from '../../domain/errors';
import { NoCommonCodec, type MediaSessionEvents } from '../../ports/media';
import type { EmbeddedMediaEngineOptions, EmbeddedMediaStats } from './engine';
import type { NiceOutcome } from './thread-priority';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The engine's options as a worker gets them: the logger stays on the main thread. */
export interface MediaWorkerData {
  options: Omit<EmbeddedMediaEngineOptions, 'log'>;
  /** Levels the main logger writes: the worker does not send the others. */
  logLevels: LogLevel[];
  /** Float64 slots, STAT_FIELDS order, which the worker keeps current (read without a round trip). */
  stats: SharedArrayBuffer;
  /** The nice value the worker gives its own thread (thread-priority.ts); undefined keeps the process's. */
  nice?: number;
}

export type ToWorker =
  | { t: 'create'; id: number; callId: string; offerSdp: string; signallingAddress?: string }
  | { t: 'play'; id: number; files: string[] }
  | { t: 'stopPlayback'; id: number }
  | { t: 'ignoreDigits'; id: number }
  | { t: 'close'; id: number }
  | { t: 'resetStats' }
  | { t: 'shutdown' };

export type SessionEvent = { [K in keyof MediaSessionEvents]: { t: 'event'; id: number; name: K; args: MediaSessionEvents[K] } }[keyof MediaSessionEvents];

export type FromWorker =
  | { t: 'ready'; nice?: NiceOutcome }
  | { t: 'created'; id: number; answerSdp: string }
  | { t: 'createFailed'; id: number; error: WireError }
  | SessionEvent
  | { t: 'closed'; id: number }
  | { t: 'log'; level: LogLevel; bindings: Record<string, unknown>; obj: object | string; msg?: string };

/** The figures of EmbeddedMediaStats the worker writes into shared memory (sessions are counted on the main side). */
export const STAT_FIELDS = [
  'packetsSent',
  'jitterP50Ms',
  'jitterP99Ms',
  'framesSkipped',
  'packetsReceived',
  'badPacketsReceived',
  'foreignPacketsReceived',
  'srtpRejected',
] as const satisfies readonly (keyof EmbeddedMediaStats)[];

export const STATS_BYTES = STAT_FIELDS.length * Float64Array.BYTES_PER_ELEMENT;

/** An error as it crosses the thread: the classes the port promises are rebuilt on the other side. */
export interface WireError {
  kind: 'NoCommonCodec' | 'PapgateError' | 'Error';
  message: string;
  code?: ErrorCode;
  field?: string;
}

export function toWire(err: unknown): WireError {
  if (err instanceof NoCommonCodec) return { kind: 'NoCommonCodec', message: err.message };
  if (err instanceof PapgateError) return { kind: 'PapgateError', message: err.message, code: err.code, ...(err.field ? { field: err.field } : {}) };
  return { kind: 'Error', message: err instanceof Error ? err.message : String(err) };
}

export function fromWire(e: WireError): Error {
  if (e.kind === 'NoCommonCodec') return new NoCommonCodec(e.message);
  if (e.kind === 'PapgateError') return new PapgateError(e.code ?? 'unavailable', e.message, e.field);
  return new Error(e.message);
}
