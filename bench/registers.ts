import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../src/store/sqlite';
import { kamailioMissing, startKamailio } from '../test/helpers/kamailio';
import { startServe, type ServeProcess } from '../test/helpers/serve-process';
import { sippAvailable } from '../test/helpers/sipp';
import { makeDevice, makeTenant } from '../test/helpers/store-fixtures';
import { meterTree, microsPer } from './cpu';
import { profileArgs, summariseProfiles } from './profile';
import { freeUdpPort, startRegistrar } from './registers-kamailio';
import { runRegisterStep, type RegisterStep } from './registers-sipp';

/**
 * Digest REGISTERs (401, REGISTER with credentials, 200) from SIPp, the same
 * DEVICES devices (one digest user per call), against one papgate node and,
 * in the same run, Debian's Kamailio as a bare registrar (bench/kamailio/).
 * For each server, after a short warm-up, the offered rate steps up until a
 * step fails a call or falls behind (p99 10 x the limit, or under 80 % of
 * the offered rate answered: SIPp itself may be the limit on a busy machine); its figures are the highest step with no failed call,
 * and the highest that met also p99 <= P99_LIMIT_MS with every step below it, with the CPU time per
 * registration of its processes. Then, as before, papgate behind
 * Kamailio's load balancer (kamailio-conf/) at one fixed rate. Loopback
 * addresses 127.0.0.10-12: run it in a network namespace of its own.
 * BENCH_REG_RATES=250,500 and BENCH_REG_STEP_SECONDS=2 change the steps;
 * BENCH_REG_PARTS=papgate,kamailio,lb picks what runs; BENCH_CPU_PROF=DIR
 * profiles the measured papgate node and prints where its time went.
 */

const DEVICES = 1_000;
const DEFAULT_RATES = [500, 1000, 2000, 3000, 4000, 6000, 8000, 12000, 16000, 20000, 25000];
const P99_LIMIT_MS = 20;
const LB = '127.0.0.10';
const NODE_IPS = ['127.0.0.11', '127.0.0.12'];
const SIPP_PORT = 5090;

interface Measured extends RegisterStep {
  server: string;
  cpuMs: number;
}

export async function benchRegisters(): Promise<void> {
  const missing = kamailioMissing() ?? (sippAvailable() ? null : 'sipp is not installed');
  if (missing) {
    console.log(`REGISTER benchmark skipped: ${missing}`);
    return;
  }
  const rates = (process.env.BENCH_REG_RATES?.split(',').map(Number) ?? DEFAULT_RATES).filter((n) => n > 0);
  const seconds = Number(process.env.BENCH_REG_STEP_SECONDS ?? 5);
  const parts = new Set((process.env.BENCH_REG_PARTS ?? 'papgate,kamailio,lb').split(','));
  const dir = mkdtempSync(join(tmpdir(), 'papgate-bench-reg-'));
  const nodes: ServeProcess[] = [];
  try {
    const db = join(dir, 'papgate.db');
    const store = await openSqliteStore(db);
    await makeTenant(store, 'bench');
    const devices = Array.from({ length: DEVICES }, () => makeDevice());
    await store.insertDevices(devices, []);
    await store.close();
    const users = join(dir, 'users.csv');
    writeFileSync(users, `SEQUENTIAL\n${devices.map((d) => `${d.sipUsername};${d.sipPassword}`).join('\n')}\n`);
    // The measured node runs profiled when BENCH_CPU_PROF asks for it. The second node starts only for the
    // balancer rows: idle beside the first, its own garbage collections took CPU from the measured steps.
    nodes.push(await startServe(nodeEnv(NODE_IPS[0]!, db), 60_000, profileArgs('registers')));

    const papgate = parts.has('papgate') ? await stepUp('papgate', `${NODE_IPS[0]}:5060`, nodes[0]!.child.pid!, users, rates, seconds) : [];
    let kamailio: Measured[] = [];
    if (parts.has('kamailio')) {
      const port = await freeUdpPort();
      const registrar = await startRegistrar(
        dir,
        devices.map((d) => [d.sipUsername, d.sipPassword]),
        port,
      );
      try {
        kamailio = await stepUp('kamailio', `127.0.0.1:${port}`, registrar.pid, users, rates, seconds);
      } finally {
        await registrar.stop();
      }
    }
    printSteps([...papgate, ...kamailio], seconds);
    printVerdict(papgate, kamailio);
    if (parts.has('lb')) {
      for (const ip of NODE_IPS.slice(1)) nodes.push(await startServe(nodeEnv(ip, db)));
      await throughBalancer(dir, users, seconds, nodes);
    }
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
  summariseProfiles('registers');
}

/** Steps the offered rate up until a step fails a call or falls behind (p99 10 x the limit, or under 80 % answered). */
async function stepUp(server: string, target: string, pid: number, usersFile: string, rates: number[], seconds: number): Promise<Measured[]> {
  const steps: Measured[] = [];
  // Warm-up, not counted: the JIT, the store's page cache, the first bindings.
  await runRegisterStep({ target, usersFile, rate: rates[0]!, seconds: 2, localPort: SIPP_PORT });
  for (const rate of rates) {
    const meter = meterTree(pid);
    const step = await runRegisterStep({ target, usersFile, rate, seconds, localPort: SIPP_PORT });
    steps.push({ ...step, server, cpuMs: meter.stop() });
    console.log(`  ${server} at ${rate}/s: ${step.passed} passed, ${step.failed} failed, p99 ${step.p99Ms} ms`);
    if (!keptUp(step)) break;
    await new Promise((r) => setTimeout(r, 500)); // let retransmission timers of the step run out
  }
  return steps;
}

const noFailure = (s: RegisterStep) => s.failed === 0 && s.passed > 0;
/** Answered (nearly) what was offered, without falling far behind: else the offered rate means nothing. */
const keptUp = (s: RegisterStep) => noFailure(s) && s.p99Ms <= 10 * P99_LIMIT_MS && s.achieved >= 0.8 * s.offered;
const fast = (s: RegisterStep) => noFailure(s) && s.p99Ms <= P99_LIMIT_MS;

function printSteps(steps: Measured[], seconds: number): void {
  console.log(`\nREGISTER with digest, ${DEVICES} devices, ${seconds} s per step; CPU = the server's processes (/proc)`);
  const head = ['server', 'offered/s', 'answered/s', 'failed', 'p99 ms', 'CPU µs/reg', 'cores busy'];
  const rows = steps.map((s) => [
    s.server,
    String(s.offered),
    s.achieved.toFixed(0),
    String(s.failed),
    String(s.p99Ms),
    microsPer(s.cpuMs, s.passed),
    (s.cpuMs / (s.seconds * 1000)).toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

/**
 * The highest step that met `ok` with every step below it: one step's tail
 * (a collection, the machine) can miss a bound that a higher step then meets,
 * and a rate is only a capacity if the rates below it are too.
 */
function highestMeeting(steps: Measured[], ok: (s: Measured) => boolean): Measured | undefined {
  let best: Measured | undefined;
  for (const s of steps) {
    if (!ok(s)) break;
    best = s;
  }
  return best;
}

function printVerdict(papgate: Measured[], kamailio: Measured[]): void {
  for (const [what, ok] of [
    ['0 failed', keptUp],
    [`0 failed and p99 <= ${P99_LIMIT_MS} ms`, fast],
  ] as const) {
    const say = (steps: Measured[]) => {
      const m = highestMeeting(steps, ok);
      if (!m) return 'none';
      const top = m === steps[steps.length - 1] ? ', the top step: not pushed to its limit' : '';
      return `${m.offered}/s (answered ${m.achieved.toFixed(0)}/s, p99 ${m.p99Ms} ms, ${microsPer(m.cpuMs, m.passed)} µs CPU/reg${top})`;
    };
    console.log(`highest rate with ${what}: papgate ${say(papgate)}; kamailio ${say(kamailio)}`);
    const [p, k] = [highestMeeting(papgate, ok), highestMeeting(kamailio, ok)];
    if (p && k) {
      const cpu = (m: Measured) => m.cpuMs / m.passed;
      console.log(
        `  papgate = ${((p.achieved / k.achieved) * 100).toFixed(0)} % of Kamailio's answered rate; CPU per registration ${(cpu(p) / cpu(k)).toFixed(1)} x Kamailio's`,
      );
    }
  }
}

/** papgate behind the load balancer of kamailio-conf/, one node and two, at one rate. */
async function throughBalancer(dir: string, usersFile: string, seconds: number, nodes: ServeProcess[]): Promise<void> {
  const rate = Number(process.env.BENCH_REG_LB_RATE ?? 1000);
  console.log(`\nthrough Kamailio's load balancer (kamailio-conf/kamailio.cfg), ${rate}/s for ${seconds} s`);
  for (const count of [1, 2]) {
    const lb = await startKamailio({ address: LB, nodes: NODE_IPS.slice(0, count).map((ip) => `sip:${ip}:5060`), dir, frTimerMs: 3000 });
    const meters = nodes.map((n) => meterTree(n.child.pid!));
    const lbMeter = meterTree(lb.child.pid!);
    const logged = nodes.map((n) => n.logs().length);
    try {
      await new Promise((r) => setTimeout(r, 1500)); // first OPTIONS probes
      const s = await runRegisterStep({ target: `${LB}:5060`, usersFile, rate, seconds, localPort: SIPP_PORT });
      const cpu = meters.reduce((sum, m) => sum + m.stop(), 0);
      console.log(
        `  to ${count} node${count > 1 ? 's' : ''}: answered ${s.achieved.toFixed(0)}/s, failed ${s.failed}, p99 ${s.p99Ms} ms; ` +
          `CPU µs/reg: papgate nodes ${microsPer(cpu, s.passed)}, balancer ${microsPer(lbMeter.stop(), s.passed)}`,
      );
      // What the nodes complained about (warnings and errors) says why a step failed.
      nodes.forEach((n, i) => {
        const bad = n
          .logs()
          .slice(logged[i])
          .filter((l) => (l.level ?? 0) >= 40);
        if (bad.length) console.log(`    node ${NODE_IPS[i]}: ${bad.length} warnings/errors, first: ${JSON.stringify(bad[0])}`);
      });
      // And what the balancer said (a node it marked down answers nobody until its next probe).
      const lbBad = lb
        .output()
        .split('\n')
        .filter((l) => /WARNING|ERROR/.test(l));
      if (lbBad.length) console.log(`    balancer: ${lbBad.length} warnings/errors, first: ${lbBad[0]!.trim().slice(0, 300)}`);
    } finally {
      await lb.stop();
    }
  }
}

function nodeEnv(ip: string, db: string): Record<string, string> {
  return {
    PAPGATE_DB: db,
    PAPGATE_WORKERS: '1',
    PAPGATE_LOG_LEVEL: 'info', // as deployed; the start-up line is info
    PAPGATE_PROVISIONING_ADDRESS: ip,
    PAPGATE_ADMIN_ADDRESS: ip,
    PAPGATE_PUBLIC_URL: `http://${ip}:8080`,
    PAPGATE_SIP_ADDRESS: ip,
    PAPGATE_SIP_PORT: '5060',
    PAPGATE_SIP_TRANSPORTS: 'udp',
    PAPGATE_SIP_ADVERTISED_ADDRESS: ip,
    PAPGATE_SIP_PROXY: `${LB}:5060`,
    PAPGATE_SIP_TRUSTED_PROXIES: LB,
    PAPGATE_RTP_ADDRESS: ip,
    PAPGATE_LIMIT_EXEMPT: '127.0.0.0/8', // the whole load comes from one loopback source
  };
}
