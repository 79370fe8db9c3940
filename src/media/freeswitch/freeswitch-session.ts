import { TypedEmitter } from '../../ports/events';
import type { Logger } from '../../ports/logger';
import type { DtmfSource, MediaSession, MediaSessionEvents } from '../../ports/media';
import type { FsDtmfEvent, FsEndpointLike } from './fsmrf-types';

/** FreeSWITCH's DTMF-Source values, in our words. ENDPOINT: SIP INFO that reached FreeSWITCH. */
function dtmfSource(source: string | undefined): DtmfSource {
  switch ((source ?? '').toUpperCase()) {
    case 'INBAND_AUDIO':
      return 'inband';
    case 'ENDPOINT':
      return 'info';
    default:
      return 'rfc4733';
  }
}

const KEYS = /^[0-9*#A-D]$/;

export interface FreeswitchSessionOptions {
  endpoint: FsEndpointLike;
  /** Maps a prompt path of ours to the path FreeSWITCH sees. */
  mapPath(file: string): string;
  log: Logger;
  /** close() stops waiting for FreeSWITCH's BYE after this long. */
  closeTimeoutMs: number;
}

/**
 * A MediaSession over one fsmrf Endpoint (a FreeSWITCH channel). Each play()
 * is one `playback` application; FreeSWITCH runs them in order, so every
 * play() gets exactly one 'playbackFinished', in order. stopPlayback() is
 * `uuid_break` on the channel; barge-in itself is the IVR driver's decision.
 */
export class FreeswitchMediaSession extends TypedEmitter<MediaSessionEvents> implements MediaSession {
  readonly answerSdp: string;
  /** Playbacks not yet finished, oldest first. */
  private readonly pending: { interrupted: boolean; done: boolean }[] = [];
  private closed = false;

  constructor(private readonly o: FreeswitchSessionOptions) {
    super((event, err) => o.log.error({ err: err instanceof Error ? err.message : String(err), event }, 'media event listener threw'));
    this.answerSdp = o.endpoint.local.sdp;
    o.endpoint.on('dtmf', (evt: FsDtmfEvent) => {
      const key = String(evt.dtmf ?? '').toUpperCase();
      if (!this.closed && KEYS.test(key)) this.emit('digit', key, dtmfSource(evt.source));
    });
    o.endpoint.on('destroy', () => {
      if (this.closed) return;
      this.closed = true;
      o.log.info('FreeSWITCH ended the media channel');
      this.finishAll();
      this.emit('inactive');
    });
  }

  play(files: string[]): void {
    if (this.closed) {
      // As the embedded engine does: the call is over, nobody waits for this prompt.
      this.o.log.debug({ files }, 'play() after close ignored');
      return;
    }
    const entry = { interrupted: false, done: false };
    this.pending.push(entry);
    if (files.length === 0) return this.complete(entry);
    const mapped = files.map((f) => this.o.mapPath(f));
    this.o.endpoint.play(mapped).then(
      () => this.complete(entry),
      (err: unknown) => {
        this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'playback failed');
        this.complete(entry);
      },
    );
  }

  stopPlayback(): void {
    const current = this.pending.find((p) => !p.done);
    if (!current || current.interrupted || this.closed) return;
    current.interrupted = true; // uuid_break ends the running playback only
    this.o.endpoint.api('uuid_break', this.o.endpoint.uuid).catch((err: unknown) => {
      this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'uuid_break failed');
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.finishAll();
    if (!this.o.endpoint.connected) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.o.closeTimeoutMs);
    });
    const hangup = this.o.endpoint.destroy().then(
      () => undefined,
      (err: unknown) => {
        this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'hanging up the media channel failed');
      },
    );
    await Promise.race([hangup, timeout]);
    clearTimeout(timer);
  }

  /** Marks a playback over and reports finished ones in play() order. */
  private complete(entry: { interrupted: boolean; done: boolean }): void {
    entry.done = true;
    while (this.pending[0]?.done) {
      const head = this.pending.shift()!;
      this.emit('playbackFinished', head.interrupted);
    }
  }

  /** The channel is gone: every outstanding play() still gets its one event. */
  private finishAll(): void {
    for (const p of this.pending) p.interrupted = true;
    for (const p of [...this.pending]) this.complete(p);
  }
}
