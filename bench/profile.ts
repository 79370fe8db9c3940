import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { summariseFile } from './profile-summary';

/**
 * CPU profiles of the servers a benchmark starts: BENCH_CPU_PROF=DIR makes
 * them run with `node --cpu-prof` (the .cpuprofile is written when the
 * process exits), and `summariseProfiles(DIR)` prints where the time went,
 * by self time per function and per file, without a GUI.
 * Also runnable alone: `node --require tsx/cjs bench/profile.ts FILE|DIR`.
 */

/** The node arguments for a profiled server, or none when BENCH_CPU_PROF is unset. */
export function profileArgs(name: string): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return [];
  const out = resolve(dir, name);
  mkdirSync(out, { recursive: true });
  return ['--cpu-prof', '--cpu-prof-dir', out];
}

/** Prints the summaries of every profile under BENCH_CPU_PROF/`name`, if profiling was asked for. */
export function summariseProfiles(name: string, top = 25): void {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return;
  const out = resolve(dir, name);
  for (const f of readdirSync(out).filter((n) => n.endsWith('.cpuprofile'))) summariseFile(join(out, f), top);
}

if (require.main === module) {
  for (const arg of process.argv.slice(2)) {
    const files = arg.endsWith('.cpuprofile')
      ? [arg]
      : readdirSync(arg)
          .filter((n) => n.endsWith('.cpuprofile'))
          .map((n) => join(arg, n));
    for (const f of files) summariseFile(f);
  }
}
