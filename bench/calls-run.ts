/**
 * What `npm run bench -- calls` runs: the steps (BENCH_CALLS_STEPS, e.g.
 * `50,100`) on the stacks BENCH_CALLS_STACK names: `embedded` (default,
 * calls.ts), `drachtio-freeswitch` (calls-real-stack.ts), or `both`, the
 * real stack's figures then printed beside the embedded ones. Run on its
 * own: `node --require tsx/cjs bench/calls-run.ts`.
 */
import { benchCallsEmbedded } from './calls';
import { benchCallsRealStack } from './calls-real-stack';

const DEFAULT_STEPS = [50, 100, 200, 300];

export async function benchCalls(): Promise<void> {
  const steps = (process.env.BENCH_CALLS_STEPS ?? DEFAULT_STEPS.join(','))
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  const stack = process.env.BENCH_CALLS_STACK ?? 'embedded';
  if (stack === 'drachtio-freeswitch') return benchCallsRealStack(steps, []);
  const embedded = await benchCallsEmbedded(steps);
  if (stack === 'both') await benchCallsRealStack(steps, embedded);
}

if (require.main === module) {
  benchCalls().catch((err: Error) => {
    console.error(err);
    process.exitCode = 1;
  });
}
