/**
 * The receiver's packet index state for one SSRC (RFC 3711 section 3.3.1 and
 * appendix A): the rollover counter guessed from the sequence number, and the
 * 64-packet replay list of section 3.3.2. Nothing changes until the caller has
 * authenticated the packet and calls `accept`.
 */

export const REPLAY_WINDOW = 64;
const WINDOW_MASK = (1n << BigInt(REPLAY_WINDOW)) - 1n;

export class ReplayWindow {
  /** Highest packet index accepted so far (ROC * 2^16 + SEQ). */
  private highest: number;
  /** Bit i set: index `highest - i` was accepted. */
  private seen = 1n;

  /** Starts at the first authenticated packet's index. */
  constructor(firstIndex: number) {
    this.highest = firstIndex;
  }

  get rolloverCounter(): number {
    return Math.floor(this.highest / 0x10000);
  }

  /**
   * The packet index a sequence number most likely stands for: the one
   * closest to the highest index seen (appendix A). -1 before index 0.
   */
  estimateIndex(seq: number): number {
    const roc = this.rolloverCounter;
    const sl = this.highest & 0xffff;
    let v = roc;
    if (sl < 0x8000) {
      if (seq - sl > 0x8000) v = roc - 1;
    } else if (sl - 0x8000 > seq) {
      v = roc + 1;
    }
    if (v < 0 || v > 0xffffffff) return -1;
    return v * 0x10000 + seq;
  }

  /** False for an index already accepted or older than the window. */
  isFresh(index: number): boolean {
    if (index > this.highest) return true;
    const age = this.highest - index;
    if (age >= REPLAY_WINDOW) return false;
    return (this.seen & (1n << BigInt(age))) === 0n;
  }

  /** Records an authenticated packet's index. */
  accept(index: number): void {
    if (index > this.highest) {
      const shift = index - this.highest;
      this.seen = shift >= REPLAY_WINDOW ? 1n : ((this.seen << BigInt(shift)) | 1n) & WINDOW_MASK;
      this.highest = index;
      return;
    }
    this.seen |= 1n << BigInt(this.highest - index);
  }
}
