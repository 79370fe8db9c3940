import { benchProvisioning } from './provisioning';
import { benchCalls } from './calls-run';
import { benchLimits } from './limits';
import { benchProvisioningStores } from './provisioning-stores';
import { benchProvisioningScale } from './provisioning-scale';
import { cpus, loadavg } from 'node:os';
import { benchProvisioningWorkers } from './provisioning-workers';
import { benchRegisters } from './registers';
import { benchWebhooks } from './webhooks';
import { benchRtp } from './rtp';

/**
 * `npm run bench`: every benchmark in turn, printing its figures. Nothing is
 * asserted: these machines are shared, so numbers are for reading, not gating.
 * `npm run bench -- provisioning` (or `scale`, `workers`, `registers`, `calls`) runs just one.
 */
async function main(): Promise<void> {
  const only = process.argv[2];
  // Shared machines: say what ran the numbers and how busy it was before.
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}; load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const benches: [string, () => Promise<void>][] = [
    ['provisioning', benchProvisioning],
    ['scale', benchProvisioningScale],
    ['workers', benchProvisioningWorkers],
    ['registers', benchRegisters],
    ['calls', benchCalls],
    ['limits', benchLimits],
    ['provisioning-stores', benchProvisioningStores],
    ['webhooks', benchWebhooks],
    ['rtp', benchRtp],
  ];
  for (const [name, run] of benches) {
    if (only && only !== name) continue;
    console.log(`\n== ${name} ==`);
    await run();
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`bench failed: ${e.stack ?? e.message}`);
    process.exit(1);
  },
);
