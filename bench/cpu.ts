import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of the servers under load, the same way for every table: the
 * user + system time a process tree used between start() and stop(), read
 * from /proc/<pid>/stat (papgate's primary and workers, nginx's master and
 * worker, Kamailio's processes). Divided by the requests answered it gives
 * CPU per request, which compares across machines better than req/s alone.
 */

const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** Fields of /proc/PID/stat after the command name (state [0], ppid [1], utime [11], stime [12]). */
function readStat(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // the process ended meanwhile
  }
}

/** `root` and all its descendants, from /proc. */
export function processTree(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) parentOf.set(Number(name), Number(stat[1]));
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    for (const [pid, ppid] of parentOf) if (ppid === out[i]) out.push(pid);
  }
  return out;
}

/** user + system CPU of these processes so far, in ms. */
export function cpuMsOf(pids: number[]): number {
  return systemAndUserMsOf(pids).total;
}

/** The same, with the system (kernel) part apart. */
function systemAndUserMsOf(pids: number[]): { total: number; system: number } {
  let user = 0;
  let system = 0;
  for (const pid of pids) {
    const s = readStat(pid);
    if (!s) continue;
    user += Number(s[11]);
    system += Number(s[12]);
  }
  return { total: ((user + system) * 1000) / TICKS_PER_SECOND, system: (system * 1000) / TICKS_PER_SECOND };
}

export interface CpuMeter {
  /** CPU ms used by the tree since the meter was started. */
  stop(): number;
  /** Of that, the system (kernel) part, in ms: system calls, loopback TCP. Valid after stop(). */
  systemMs(): number;
}

/** Starts measuring the tree of `root` (the tree is read now: start after workers are up). */
export function meterTree(root: number): CpuMeter {
  const pids = processTree(root);
  const before = systemAndUserMsOf(pids);
  let system = 0;
  return {
    stop: () => {
      const now = systemAndUserMsOf(pids);
      system = now.system - before.system;
      return now.total - before.total;
    },
    systemMs: () => system,
  };
}

/** The same for this very process (papgate served in-process), at µs resolution. */
export function meterSelf(): CpuMeter {
  const before = process.cpuUsage();
  let system = 0;
  return {
    stop: () => {
      const d = process.cpuUsage(before);
      system = d.system / 1000;
      return (d.user + d.system) / 1000;
    },
    systemMs: () => system,
  };
}

/** µs of CPU per unit of work, as a table cell. */
export function microsPer(cpuMs: number, count: number): string {
  return count > 0 ? ((cpuMs * 1000) / count).toFixed(0) : '-';
}
