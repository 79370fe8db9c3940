/**
 * A media session whose RTP runs in the media worker thread: the port's
 * calls go there as messages, the worker's events come back through deliver().
 */
import type { Logger } from '../../ports/logger';
import { TypedEmitter } from '../../ports/events';
import type { MediaSession, MediaSessionEvents } from '../../ports/media';
import type { SessionEvent, ToWorker } from './thread-messages';

export class ThreadSession extends TypedEmitter<MediaSessionEvents> implements MediaSession {
  /** Plays whose playbackFinished has not come back (reported interrupted should the worker die). */
  private playsOut = 0;
  private closing: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;
  private ended = false;

  constructor(
    readonly id: number,
    readonly answerSdp: string,
    private readonly send: (m: ToWorker) => void,
    private readonly log: Logger,
    /** Forgets the session (engine side), once. */
    private readonly onEnded: (s: ThreadSession) => void,
  ) {
    super((event, err) => {
      log.error({ err: err instanceof Error ? err.message : String(err), event }, 'media event listener threw');
    });
  }

  play(files: string[]): void {
    if (this.closing) {
      this.log.debug({ files }, 'play() after close ignored');
      return;
    }
    this.playsOut++;
    this.send({ t: 'play', id: this.id, files });
  }

  stopPlayback(): void {
    if (!this.closing) this.send({ t: 'stopPlayback', id: this.id });
  }

  ignoreDigits(): void {
    if (!this.closing) this.send({ t: 'ignoreDigits', id: this.id });
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        this.resolveClosed = resolve;
      });
      if (this.ended) this.resolveClosed?.();
      else this.send({ t: 'close', id: this.id });
    }
    return this.closing;
  }

  /** An event of the worker's session; they stop once the worker said it is closed. */
  deliver(e: SessionEvent): void {
    if (this.ended) return;
    if (e.name === 'playbackFinished') {
      this.playsOut = Math.max(0, this.playsOut - 1);
      this.emit('playbackFinished', ...e.args);
    } else if (e.name === 'digit') {
      this.emit('digit', ...e.args);
    } else {
      this.emit('inactive');
    }
  }

  /** The worker closed the session (after close(), or when the engine shut down). */
  closed(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnded(this);
    this.resolveClosed?.();
  }

  /**
   * The worker died with this call on it: a running prompt ends interrupted,
   * and 'inactive' tells the IVR the media is gone (it hangs up). A close()
   * waiting for the worker returns.
   */
  lost(): void {
    if (this.ended) return;
    if (!this.closing) {
      for (let plays = this.playsOut; plays > 0; plays--) this.emit('playbackFinished', true);
      this.emit('inactive');
    }
    this.closed();
  }
}
