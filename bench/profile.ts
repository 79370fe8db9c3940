import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * CPU profiles of the servers a benchmark starts: BENCH_CPU_PROF=DIR makes
 * them run with `node --cpu-prof` (the .cpuprofile is written when the
 * process exits), and `summariseProfiles(DIR)` prints where the time went,
 * by self time per function and per file, without a GUI.
 * Also runnable alone: `node --require tsx/cjs bench/profile.ts FILE|DIR`.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const ROOT = resolve(__dirname, '..');

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
  for (const f of readdirSync(out).filter((n) => n.endsWith('.cpuprofile'))) summarise(join(out, f), top);
}

function where(url: string): string {
  if (!url) return '(native/vm)';
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith('node:')) return path;
  const rel = relative(ROOT, path);
  return rel.startsWith('..') ? path : rel;
}

export function summarise(file: string, top = 25): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i: charge it to the sample's node.
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const perFunction = new Map<string, number>();
  const perFile = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === '(idle)') { idle += us; continue; }
    total += us;
    const file = where(cf.url);
    const fn = `${cf.functionName || '(anonymous)'} ${file}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
    perFunction.set(fn, (perFunction.get(fn) ?? 0) + us);
    const key = file.startsWith('node_modules') ? file.split('/').slice(0, 2).join('/') : file;
    perFile.set(key, (perFile.get(key) ?? 0) + us);
  }
  const ms = (us: number) => (us / 1000).toFixed(0).padStart(7);
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  console.log(`\nprofile ${relative(process.cwd(), file)}: ${(total / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle`);
  console.log('  self time by file (node_modules by package):');
  for (const [k, us] of [...perFile].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${ms(us)} ms ${pct(us)}  ${k}`);
  console.log('  self time by function:');
  for (const [k, us] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${ms(us)} ms ${pct(us)}  ${k}`);
}

if (require.main === module) {
  for (const arg of process.argv.slice(2)) {
    const files = arg.endsWith('.cpuprofile') ? [arg] : readdirSync(arg).filter((n) => n.endsWith('.cpuprofile')).map((n) => join(arg, n));
    for (const f of files) summarise(f);
  }
}
