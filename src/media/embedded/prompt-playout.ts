/**
 * The prompt queue of one session: hands out one 20 ms frame of encoded audio
 * at a time, skips files that cannot be played, and reports the end of each
 * play() exactly once (interrupted when stopped or replaced).
 */
import type { Logger } from '../../ports/logger';
import { SAMPLES_PER_FRAME, SILENCE_BYTE } from './g711';
import type { PromptCache } from './prompt-cache';
import type { Codec } from './sdp';

type Slot = { audio: Buffer } | { error: string };

interface Playback {
  files: string[];
  /** Filled in as each file loads; undefined while it is still loading. */
  slots: (Slot | undefined)[];
  index: number;
  offset: number;
}

export class PromptPlayout {
  private current: Playback | undefined;

  constructor(
    private readonly codec: Codec,
    private readonly prompts: PromptCache,
    private readonly log: Logger,
    /** Called once per play(); may call play() again. */
    private readonly onFinished: (interrupted: boolean) => void,
  ) {}

  get playing(): boolean {
    return this.current !== undefined;
  }

  play(files: string[]): void {
    this.stop();
    const pb: Playback = { files: [...files], slots: new Array(files.length), index: 0, offset: 0 };
    pb.files.forEach((file, i) => {
      const cached = this.prompts.cached(file, this.codec);
      if (cached) {
        pb.slots[i] = { audio: cached }; // no wait: the prompt starts on the next frame
        return;
      }
      // Load every file now (in parallel); they still play in order.
      this.prompts.get(file, this.codec).then(
        (audio) => {
          pb.slots[i] = { audio };
        },
        (err: unknown) => {
          pb.slots[i] = { error: err instanceof Error ? err.message : String(err) };
        },
      );
    });
    this.current = pb;
  }

  /** Ends the current play() as interrupted; no-op when nothing plays. */
  stop(): void {
    if (this.current) this.finish(true);
  }

  /**
   * The next frame of prompt audio, or undefined for silence (nothing playing,
   * or the next file still loading). Ending a play() happens here.
   */
  nextFrame(): Buffer | undefined {
    const pb = this.current;
    if (!pb) return undefined;
    while (pb.index < pb.files.length) {
      const slot = pb.slots[pb.index];
      if (slot === undefined) return undefined; // still loading
      if ('error' in slot) {
        this.log.warn({ file: pb.files[pb.index], reason: slot.error }, 'prompt skipped: cannot play this file');
      } else if (pb.offset < slot.audio.length) {
        return this.cut(pb, slot.audio);
      }
      pb.index++;
      pb.offset = 0;
    }
    this.finish(false);
    return undefined;
  }

  private cut(pb: Playback, audio: Buffer): Buffer {
    const end = pb.offset + SAMPLES_PER_FRAME;
    let frame: Buffer;
    if (end <= audio.length) frame = audio.subarray(pb.offset, end);
    else {
      frame = Buffer.alloc(SAMPLES_PER_FRAME, SILENCE_BYTE[this.codec]); // pad the last frame
      audio.copy(frame, 0, pb.offset);
    }
    pb.offset = end;
    return frame;
  }

  private finish(interrupted: boolean): void {
    this.current = undefined;
    this.onFinished(interrupted);
  }
}
