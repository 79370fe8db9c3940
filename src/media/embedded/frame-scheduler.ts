/**
 * One timer for every session of the engine. Each member has its own 20 ms
 * grid (absolute target times from a monotonic clock, so there is no drift);
 * members start at different phases, which spreads the sends over the period
 * instead of bursting them all at once. The timer sleeps until the earliest
 * target, so an idle grid costs nothing. A member that had nothing to send
 * may move its grid to now when it has something again (`startNow`): a prompt
 * then starts at once instead of up to a frame later.
 */
import { performance } from 'node:perf_hooks';
import { JitterHistogram } from './jitter-histogram';

export const FRAME_MS = 20;
/** Frames sent late in one wake-up before the rest are skipped (event loop stalled). */
const MAX_CATCH_UP_FRAMES = 5;
/**
 * Node timers have 1 ms resolution and can fire a fraction of a millisecond
 * before the target: sending a frame that early beats sleeping another
 * millisecond and sending it late.
 */
const EARLY_MS = 0.5;
const GOLDEN_RATIO_FRACTION = 0.6180339887;

export interface FrameClient {
  /** Called once per due frame; returns true when a packet went out. */
  onFrame(nowMs: number): boolean;
  /** Called for each frame skipped after a stall (keep RTP timestamps advancing). */
  onSkippedFrame(): void;
  /** Called when a frame of the client is due (before it), for cheap housekeeping (inactivity). */
  onHousekeeping(nowMs: number): void;
  /** Its grid moves `earlierMs` (< one frame) earlier: the media clock moves back as much. */
  onRephase(earlierMs: number): void;
}

interface Member {
  client: FrameClient;
  dueMs: number;
}

export class FrameScheduler {
  private readonly members = new Map<FrameClient, Member>();
  private timer: NodeJS.Timeout | undefined;
  private timerDueMs = Infinity;
  readonly jitter = new JitterHistogram();
  packetsSent = 0;
  framesSkipped = 0;
  private added = 0;

  constructor(private readonly onError: (err: unknown) => void) {}

  get size(): number {
    return this.members.size;
  }

  /**
   * Adds a client. Its first frame is due within one period, at a phase from
   * a golden-ratio sequence: calls set up in a burst still land evenly spread
   * over the 20 ms, so no wake-up has to send a large batch.
   */
  add(client: FrameClient): void {
    const phase = ((this.added++ * GOLDEN_RATIO_FRACTION) % 1) * FRAME_MS;
    const dueMs = performance.now() + phase;
    this.members.set(client, { client, dueMs });
    this.arm(dueMs);
  }

  remove(client: FrameClient): void {
    this.members.delete(client);
    if (this.members.size === 0) this.disarm();
  }

  stop(): void {
    this.members.clear();
    this.disarm();
  }

  /**
   * The client's next frame is due now instead of at its grid's next point,
   * and is served at once; the grid goes on from now. For a client that sent
   * nothing since its last frame was due (silence is not sent), so the
   * receiver sees no packet early: only the gap before it is shorter.
   */
  startNow(client: FrameClient): void {
    const m = this.members.get(client);
    if (m === undefined) return;
    const now = performance.now();
    const earlierMs = Math.min(m.dueMs - now, FRAME_MS);
    if (earlierMs <= EARLY_MS) return; // due now anyway: the timer serves it
    client.onRephase(earlierMs);
    m.dueMs = now;
    this.serve(m);
    if (this.members.has(client)) this.arm(m.dueMs);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueMs = Infinity;
  }

  private arm(dueMs: number): void {
    if (this.members.size === 0 || dueMs >= this.timerDueMs) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDueMs = dueMs;
    const delay = Math.max(0, Math.floor(dueMs - performance.now()));
    this.timer = setTimeout(() => this.wake(), delay);
  }

  private wake(): void {
    this.timer = undefined;
    this.timerDueMs = Infinity;
    let nextDue = Infinity;
    // With hundreds of sessions spread over the period the timer wakes every
    // millisecond, and only a few are due each time: the rest cost a compare.
    const horizon = performance.now() + EARLY_MS;
    for (const m of this.members.values()) {
      if (m.dueMs > horizon) {
        nextDue = Math.min(nextDue, m.dueMs);
        continue;
      }
      try {
        this.serve(m);
      } catch (err) {
        this.onError(err); // one broken session must not stop the others' audio
      }
      if (this.members.has(m.client)) nextDue = Math.min(nextDue, m.dueMs);
    }
    this.arm(nextDue);
  }

  private serve(m: Member): void {
    let now = performance.now();
    m.client.onHousekeeping(now);
    for (let n = 0; m.dueMs <= now + EARLY_MS; n++) {
      if (!this.members.has(m.client)) return; // closed by a listener
      if (n === MAX_CATCH_UP_FRAMES) {
        while (m.dueMs <= now) {
          m.dueMs += FRAME_MS;
          m.client.onSkippedFrame();
          this.framesSkipped++;
        }
        return;
      }
      const deviation = now - m.dueMs;
      if (m.client.onFrame(now)) {
        this.jitter.record(deviation);
        this.packetsSent++;
      }
      m.dueMs += FRAME_MS;
      now = performance.now();
    }
  }
}
