import { performance } from 'node:perf_hooks';

/**
 * Long loops on the event loop (a 50,000-row CSV import) run in slices:
 * after `budgetMs` of work the loop yields with setImmediate, so SIP,
 * provisioning and admin requests that arrived meanwhile run before the next
 * slice. A slice is short enough not to be noticed by them, long enough that
 * the yields cost little (one turn of the loop each).
 */
export class TimeSlicer {
  private sliceStart = performance.now();

  constructor(private readonly budgetMs = 4) {}

  /** True when the current slice has used its budget: the caller should `yield()`. */
  due(): boolean {
    return performance.now() - this.sliceStart >= this.budgetMs;
  }

  /** Lets the event loop run (timers, I/O), then starts a new slice. */
  async yield(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
  }

  /** Yields if the slice is used up. */
  async pause(): Promise<void> {
    if (this.due()) await this.yield();
  }
}
