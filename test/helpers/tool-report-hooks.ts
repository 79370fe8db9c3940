import { reserveHarnessPorts } from './harness-ports';
import { skippedTiers, toolReport } from './required-tools';

/**
 * Mocha root hook plugin (registered in .mocharc.cjs). Before the run it
 * reserves the call harness's ports; after the whole run it
 * lists the tiers skipped for a missing tool. Locally that is a warning
 * printed after mocha's summary; with CI set this hook fails, so the run
 * exits non-zero and the failure names the missing tools.
 */
export const mochaHooks = {
  /** The call harness's ports, taken from the OS once for the whole run. */
  async beforeAll(): Promise<void> {
    await reserveHarnessPorts();
  },
  afterAll(): void {
    const report = toolReport(skippedTiers(), process.env);
    if (report.fail) throw new Error(report.lines.join('\n'));
    if (report.lines.length > 0) {
      // After mocha's epilogue, where a reader looks last.
      process.once('exit', () => process.stderr.write(`\n${report.lines.join('\n')}\n\n`));
    }
  },
};
