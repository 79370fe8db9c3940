import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { shippedPromptsDir } from '../../src/app/prompt-library';
import { PORTS, startPapgateHarness, type PapgateHarness } from '../../test/helpers/papgate-harness';
import { sippAvailable } from '../../test/helpers/sipp';
import { findBinaries, startDrachtio, startFreeswitch, type Server, type StackPorts } from './servers';
import { SUITE, type SuiteCase } from './suite';

/**
 * `npm run test:real-stack`: the scenario suite against papgate's embedded
 * stack and against real drachtio-server + FreeSWITCH (found on PATH or named
 * by PAPGATE_DRACHTIO_BIN / PAPGATE_FREESWITCH_BIN), all on 127.0.0.1, then a
 * scenario x stack table. Exit 0 when every case passed on the real stack,
 * 1 when one failed, 2 when the servers (or SIPp) are missing.
 *
 *   REAL_STACK_CASES="auth-success-rfc4733.xml,..."  run only these cases
 *   REAL_STACK_SKIP_EMBEDDED=1                      skip the embedded column
 *   REAL_STACK_MEDIA=embedded                       drachtio-server with papgate's own media (no FreeSWITCH)
 * Ports: drachtio SIP 18000 (where the embedded stack listens in the tests),
 * admin 19022; FreeSWITCH as in freeswitch-conf/ (event socket 8021, SIP 5080,
 * RTP 20000-20999); papgate's event-socket listener 18085.
 */

const SECRET = 'cymru';
const PORTS_REAL: StackPorts = { sip: PORTS.sip, drachtioAdmin: 19022, esl: 8021, freeswitchSip: 5080 };
const CASE_TIMEOUT_MS = 150_000;

type Outcome = { ok: true; ms: number } | { ok: false; ms: number; error: string };

async function main(): Promise<number> {
  const drachtioOnly = process.env.REAL_STACK_MEDIA === 'embedded';
  const { found, missing } = findBinaries(drachtioOnly ? { ...process.env, PAPGATE_FREESWITCH_BIN: process.execPath } : process.env);
  if (!found) {
    console.error('test:real-stack needs the drachtio-server and FreeSWITCH binaries:');
    for (const m of missing) console.error(`  ${m}`);
    console.error('Build them as docs/production.md ("Building the servers from source") says, then put them on PATH');
    console.error('or name them: PAPGATE_DRACHTIO_BIN=/opt/.../bin/drachtio PAPGATE_FREESWITCH_BIN=/opt/.../bin/freeswitch');
    return 2;
  }
  if (!sippAvailable()) {
    console.error('test:real-stack needs SIPp (Debian: apt-get install -y sip-tester)');
    return 2;
  }
  const only = process.env.REAL_STACK_CASES?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const cases = only ? SUITE.filter((c) => only.includes(c.name)) : SUITE;
  const dir = mkdtempSync(path.join(tmpdir(), 'papgate-real-stack-'));
  console.log(
    `drachtio-server: ${found.drachtio}\nFreeSWITCH:      ${drachtioOnly ? '(not used: REAL_STACK_MEDIA=embedded)' : found.freeswitch}\nlogs:            ${dir}`,
  );

  const results = new Map<string, { embedded?: Outcome; real?: Outcome }>();
  const record = (stack: 'embedded' | 'real', name: string, o: Outcome) => {
    results.set(name, { ...results.get(name), [stack]: o });
    console.log(`${stack.padEnd(8)} ${o.ok ? 'pass' : 'FAIL'} ${name} (${(o.ms / 1000).toFixed(1)} s)${o.ok ? '' : `\n${indent(o.error)}`}`);
  };

  if (process.env.REAL_STACK_SKIP_EMBEDDED !== '1') {
    const h = await startPapgateHarness({ prompts: 'shipped', env: { PAPGATE_MAX_CALLS_PER_DEVICE: '10' } });
    try {
      for (const c of cases) record('embedded', c.name, await runCase(c, h));
    } finally {
      await h.stop();
    }
  }

  const servers: Server[] = [];
  try {
    servers.push(await startDrachtio(found.drachtio, dir, PORTS_REAL, SECRET));
    if (!drachtioOnly) servers.push(await startFreeswitch(found.freeswitch, dir, PORTS_REAL, shippedPromptsDir()));
    const env = drachtioOnly
      ? {
          ...realStackEnv(),
          PAPGATE_MEDIA: 'embedded',
          PAPGATE_RTP_ADDRESS: '127.0.0.1',
          PAPGATE_RTP_PORT_MIN: String(PORTS.rtpMin),
          PAPGATE_RTP_PORT_MAX: String(PORTS.rtpMax),
        }
      : realStackEnv();
    const h = await startPapgateHarness({ prompts: 'shipped', env });
    try {
      await untilReady(h);
      for (const c of cases) record('real', c.name, await runCase(c, h));
    } finally {
      await h.stop();
    }
  } catch (e) {
    console.error(`the real stack did not come up: ${(e as Error).message}`);
    for (const c of cases) if (!results.get(c.name)?.real) record('real', c.name, { ok: false, ms: 0, error: 'stack not started' });
  } finally {
    for (const s of servers.reverse()) await s.stop();
  }

  printTable(cases, results);
  const failed = cases.filter((c) => !results.get(c.name)?.real?.ok).length;
  console.log(
    failed ? `${failed} case(s) failed on drachtio-server + FreeSWITCH; logs in ${dir}` : `every case passed on drachtio-server + FreeSWITCH (logs in ${dir})`,
  );
  return failed ? 1 : 0;
}

export function realStackEnv(): Record<string, string> {
  return {
    PAPGATE_SIGNALLING: 'drachtio',
    PAPGATE_MEDIA: 'freeswitch',
    PAPGATE_DRACHTIO_HOST: '127.0.0.1',
    PAPGATE_DRACHTIO_PORT: String(PORTS_REAL.drachtioAdmin),
    PAPGATE_DRACHTIO_SECRET: SECRET,
    PAPGATE_FREESWITCH_HOST: '127.0.0.1',
    PAPGATE_FREESWITCH_PORT: String(PORTS_REAL.esl),
    PAPGATE_FREESWITCH_SECRET: 'ClueCon',
    PAPGATE_FREESWITCH_PROMPTS: shippedPromptsDir(),
    PAPGATE_FREESWITCH_LISTEN_ADDRESS: '127.0.0.1',
    PAPGATE_FREESWITCH_LISTEN_PORT: '18085',
    PAPGATE_MAX_CALLS_PER_DEVICE: '10',
  };
}

/** Both connections up (bounded). */
export async function untilReady(h: PapgateHarness, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // an adapter without isReady is always ready (the ports say so)
  const ready = () => !!h.instance.signalling && (h.instance.signalling.isReady?.() ?? true) && (h.instance.media?.isReady?.() ?? true);
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`papgate did not reach drachtio-server and FreeSWITCH in ${timeoutMs} ms\n${h.logTail(30)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function runCase(c: SuiteCase, h: PapgateHarness): Promise<Outcome> {
  const start = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      c.run(h),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no result in ${CASE_TIMEOUT_MS / 1000} s`)), CASE_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, ms: Date.now() - start };
  } catch (e) {
    return { ok: false, ms: Date.now() - start, error: `${(e as Error).message}\n--- papgate log ---\n${h.logTail(15)}` };
  } finally {
    clearTimeout(timer);
    await new Promise((r) => setTimeout(r, 300)); // let ports and dialogs settle between cases
  }
}

function printTable(cases: SuiteCase[], results: Map<string, { embedded?: Outcome; real?: Outcome }>): void {
  const width = Math.max(...cases.map((c) => c.name.length), 8);
  const cell = (o?: Outcome) => (o === undefined ? '-' : o.ok ? 'pass' : 'FAIL');
  console.log(`\n| ${'scenario'.padEnd(width)} | embedded | drachtio + FreeSWITCH |`);
  console.log(`| ${'-'.repeat(width)} | -------- | --------------------- |`);
  for (const c of cases) {
    const r = results.get(c.name);
    console.log(`| ${c.name.padEnd(width)} | ${cell(r?.embedded).padEnd(8)} | ${cell(r?.real).padEnd(21)} |`);
  }
}

const indent = (t: string) =>
  t
    .split('\n')
    .slice(0, 40)
    .map((l) => `    ${l}`)
    .join('\n');

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(`test:real-stack failed: ${e.stack ?? e.message}`);
      process.exit(1);
    },
  );
}
