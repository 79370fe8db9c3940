import type { Logger } from '../../ports/logger';

/**
 * At most `perSecond` lines a second for a kind of event a flood can cause
 * (malformed input, refused connections); what is dropped is counted and the
 * count is logged with the next line that gets through.
 */
export class RateLimitedLog {
  private windowStart = 0;
  private inWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly perSecond = 10,
    private readonly now: () => number = Date.now,
  ) {}

  info(fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      this.windowStart = t;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.perSecond) {
      this.suppressed++;
      return;
    }
    this.inWindow++;
    const dropped = this.suppressed;
    this.suppressed = 0;
    this.log.info(dropped > 0 ? { ...fields, suppressedBefore: dropped } : fields, msg);
  }
}
