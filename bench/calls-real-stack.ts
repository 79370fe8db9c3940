/**
 * The call benchmark on the production stack: the same SIPp calls
 * (scenarios/bench-ivr-call.xml, RFC 4733 digits 1-6 and `*`, -rtp_echo)
 * against drachtio-server (SIP on 127.0.0.1:18200, where the embedded bench
 * listens) and FreeSWITCH (freeswitch-conf/, as test:real-stack starts them),
 * with papgate in a child process on PAPGATE_SIGNALLING=drachtio
 * PAPGATE_MEDIA=freeswitch. Reports calls held and failed, and the CPU of
 * papgate, drachtio-server and FreeSWITCH per held call, beside the embedded
 * stack's figures when they ran first (BENCH_CALLS_STACK=both).
 *
 *   BENCH_CALLS_STACK=both npm run bench -- calls                # embedded, then this
 *   BENCH_CALLS_STACK=drachtio-freeswitch npm run bench -- calls # this only
 * Binaries: PAPGATE_DRACHTIO_BIN / PAPGATE_FREESWITCH_BIN or PATH.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { shippedPromptsDir } from '../src/app/prompt-library';
import { findBinaries, startDrachtio, startFreeswitch, type Server, type StackPorts } from '../scripts/real-stack/servers';
import { BenchServer, runStep, type CallsStepResult, type OtherCpu } from './calls';

const PORTS: StackPorts = { sip: 18200, drachtioAdmin: 19023, esl: 8021, freeswitchSip: 5080 };
const CLOCK_TICKS = 100; // USER_HZ on Linux

export async function benchCallsRealStack(steps: number[], embedded: CallsStepResult[]): Promise<void> {
  console.log(`\ncalls on drachtio-server + FreeSWITCH: steps ${steps.join(', ')}`);
  const { found, missing } = findBinaries();
  if (!found) {
    console.log(`  skipped: ${missing.join('; ')}`);
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'papgate-bench-real-'));
  const servers: Server[] = [];
  const results: CallsStepResult[] = [];
  let server: BenchServer | undefined;
  try {
    const drachtio = await startDrachtio(found.drachtio, dir, PORTS, 'cymru');
    servers.push(drachtio);
    const freeswitch = await startFreeswitch(found.freeswitch, dir, PORTS, shippedPromptsDir());
    servers.push(freeswitch);
    server = BenchServer.start(Math.max(...steps), {
      BENCH_CALLS_STACK: 'drachtio-freeswitch',
      PAPGATE_SIGNALLING: 'drachtio',
      PAPGATE_MEDIA: 'freeswitch',
      PAPGATE_DRACHTIO_HOST: '127.0.0.1',
      PAPGATE_DRACHTIO_PORT: String(PORTS.drachtioAdmin),
      PAPGATE_DRACHTIO_SECRET: 'cymru',
      PAPGATE_FREESWITCH_HOST: '127.0.0.1',
      PAPGATE_FREESWITCH_PORT: String(PORTS.esl),
      PAPGATE_FREESWITCH_SECRET: 'ClueCon',
      PAPGATE_FREESWITCH_PROMPTS: shippedPromptsDir(),
      PAPGATE_FREESWITCH_LISTEN_ADDRESS: '127.0.0.1',
      PAPGATE_FREESWITCH_LISTEN_PORT: '18086',
    });
    await server.ready;
    const other = processCpu({ 'drachtio-server': drachtio.proc.pid!, FreeSWITCH: freeswitch.proc.pid! });
    for (const n of steps) {
      const r = await runStep(server, n, other);
      results.push(r);
      console.log(`  ${n} concurrent: held ${r.heldMin}-${r.heldMax}, ${r.callsPassed} passed, ${r.callsFailed} failed`);
    }
  } finally {
    await server?.stop();
    for (const s of servers.reverse()) await s.stop();
  }
  printPerCall(embedded, results);
  console.log(`server logs: ${dir}`);
}

/** CPU % of one core per process between mark() and percent(), from /proc/<pid>/stat. */
function processCpu(pids: Record<string, number>): OtherCpu {
  const ticks = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15)
  };
  let at = 0;
  let marks: Record<string, number> = {};
  return {
    mark() {
      at = performance.now();
      marks = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, ticks(pid)]));
    },
    percent() {
      const seconds = (performance.now() - at) / 1000;
      return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, ((ticks(pid) - (marks[name] ?? 0)) / CLOCK_TICKS / seconds) * 100]));
    },
  };
}

function printPerCall(embedded: CallsStepResult[], real: CallsStepResult[]): void {
  const perCall = (pct: number, held: number) => (held > 0 ? (pct / held).toFixed(2) : '-');
  const head = ['stack', 'calls', 'held', 'passed', 'failed', 'papgate %/call', 'drachtio %/call', 'FreeSWITCH %/call', 'total %/call'];
  const rows: string[][] = [];
  for (const r of embedded) {
    rows.push([
      'embedded',
      String(r.concurrent),
      `${r.heldMin}-${r.heldMax}`,
      String(r.callsPassed),
      String(r.callsFailed),
      perCall(r.cpuPercent, r.heldMax),
      '-',
      '-',
      perCall(r.cpuPercent, r.heldMax),
    ]);
  }
  for (const r of real) {
    const d = r.otherCpuPercent?.['drachtio-server'] ?? 0;
    const f = r.otherCpuPercent?.FreeSWITCH ?? 0;
    rows.push([
      'drachtio+FS',
      String(r.concurrent),
      `${r.heldMin}-${r.heldMax}`,
      String(r.callsPassed),
      String(r.callsFailed),
      perCall(r.cpuPercent, r.heldMax),
      perCall(d, r.heldMax),
      perCall(f, r.heldMax),
      perCall(r.cpuPercent + d + f, r.heldMax),
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log('\nCPU per held call (% of one core; 2-core machine shared with other work):');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}
