import { readFileSync } from 'node:fs';

/**
 * Where a .cpuprofile's time went, as text: self time by function and by
 * file (node_modules packages folded into one line each), largest first, as
 * a share of the busy time: idle samples and the profiler's own (anything
 * under node:inspector) are left out.
 * Usage: node --require tsx/cjs bench/profile-summary.ts FILE [TOP]
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The package a node_modules path belongs to, else the file under the repo, else V8's name for it. */
export function placeOf(url: string): string {
  if (url === '') return '(native/V8)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const parts = path.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  const src = path.search(/\/(src|bench)\//);
  if (src !== -1) return path.slice(src + 1);
  return path.startsWith('node:') ? path : path.split('/').slice(-2).join('/');
}

export function summarise(profile: Profile): { total: number; byFunction: Map<string, number>; byPlace: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const skipped = skippedNodes(profile.nodes);
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node || skipped.has(id)) return;
    const f = node.callFrame;
    const place = placeOf(f.url);
    const fn = `${f.functionName || '(anonymous)'} ${place}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byPlace.set(place, (byPlace.get(place) ?? 0) + us);
    total += us;
  });
  return { total, byFunction, byPlace };
}

/** Idle samples, and the profiler's own work with everything it called. */
function skippedNodes(nodes: ProfileNode[]): Set<number> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const skipped = new Set<number>();
  const skip = (id: number) => {
    skipped.add(id);
    for (const c of byId.get(id)?.children ?? []) skip(c);
  };
  for (const n of nodes) {
    if (n.callFrame.url === 'node:inspector' || n.callFrame.functionName === '(idle)') skip(n.id);
  }
  return skipped;
}

function print(title: string, m: Map<string, number>, total: number, top: number): void {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${k}`);
  }
}

/** Prints where a .cpuprofile's busy time went, by file/package and by function. */
export function summariseFile(file: string, top = 25): void {
  const { total, byFunction, byPlace } = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s busy sampled`);
  print('self time by file / package', byPlace, total, top);
  print('self time by function', byFunction, total, top);
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: profile-summary.ts FILE.cpuprofile [TOP]');
    process.exit(2);
  }
  summariseFile(file, Number(process.argv[3] ?? 25));
}
