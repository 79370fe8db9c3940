/**
 * The media thread's scheduling priority. Its 20 ms send grid only holds when
 * the thread gets a core the moment its timer fires; with SIP, the store and
 * the phones' own load on the same cores, the kernel otherwise lets it wait
 * its turn, which phones hear as jitter. Media servers ask for a better
 * priority for their clock thread for this reason (FreeSWITCH -rp, Asterisk -p).
 *
 * Linux keeps a nice value per thread: setpriority() on a thread id changes
 * only that thread, so the SIP and provisioning threads keep theirs.
 * Raising it (a negative value) needs CAP_SYS_NICE or an RLIMIT_NICE that
 * allows it (systemd LimitNICE=); lowering it is always allowed.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export type NiceOutcome = { ok: true; tid: number; nice: number } | { ok: false; reason: string };

/** Gives the calling thread the nice value `nice` (-20 … 19). Never throws. */
export function setCallingThreadNice(nice: number): NiceOutcome {
  let tid: number;
  try {
    // "/proc/thread-self" names the calling thread: <pid>/task/<tid>.
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return { ok: false, reason: 'the system has no per-thread priorities (not Linux)' };
  }
  if (!Number.isInteger(tid) || tid <= 0) return { ok: false, reason: 'the thread id could not be read' };
  try {
    setPriority(tid, nice);
    return { ok: true, tid, nice: getPriority(tid) };
  } catch (e) {
    // Node wraps libuv's answer: the errno name is in info.code.
    const code = (e as { info?: { code?: unknown } } | null)?.info?.code;
    const refused = code === 'EACCES' || code === 'EPERM';
    return { ok: false, reason: refused ? 'not permitted (needs CAP_SYS_NICE or LimitNICE)' : e instanceof Error ? e.message : String(e) };
  }
}
