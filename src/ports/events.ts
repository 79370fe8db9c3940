import { EventEmitter } from 'node:events';

/**
 * Typed events for the ports: each port names its events and their listener
 * arguments in an event map, so a misspelt event name or a wrong listener
 * signature does not compile.
 */

/** Event name → the arguments its listeners get. */
export type EventMap = { [event: string]: unknown[] };

/** The listening side of an event map (what a port's user sees). */
export interface EventSource<E extends EventMap> {
  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this;
  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this;
  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this;
}

/** Told when a listener throws; the emitter then carries on as if it had returned. */
export type ListenerFailure = (event: string, err: unknown) => void;

type AnyListener = (...args: unknown[]) => void;

/**
 * The one emitter adapters use, over node:events. A listener that throws is
 * reported to `onListenerFailure` (when given) instead of unwinding into the
 * network or timer code that emitted.
 */
export class TypedEmitter<E extends EventMap> implements EventSource<E> {
  private readonly emitter = new EventEmitter();
  private onListenerFailure: ListenerFailure | undefined;

  constructor(onListenerFailure?: ListenerFailure) {
    this.onListenerFailure = onListenerFailure;
  }

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.on(event, listener as AnyListener);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.once(event, listener as AnyListener);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.off(event, listener as AnyListener);
    return this;
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.emitter.listenerCount(event);
  }

  /** For subclasses that learn their logger after super(). */
  protected reportListenerFailures(report: ListenerFailure): void {
    this.onListenerFailure = report;
  }

  /** True when someone listened. */
  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    if (!this.onListenerFailure) return this.emitter.emit(event, ...args);
    try {
      return this.emitter.emit(event, ...args);
    } catch (err) {
      this.onListenerFailure(event, err);
      return true;
    }
  }
}
