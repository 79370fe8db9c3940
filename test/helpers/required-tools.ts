import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import type { Context } from 'mocha';

/**
 * The system tools some test tiers drive (SIPp, sox, baresip, Chromium, ...).
 * A tier whose tool is missing is skipped through `requireTool` only, which
 * records why; the root hook in test/helpers/tool-report-hooks.ts lists the
 * skipped tiers at the end of the run and, with CI set, fails the run: a CI
 * machine that lacks a tool must not pass green with a tier silently left out.
 */

export interface ToolSpec {
  /** The Debian package that provides it. */
  package: string;
  /** Why it cannot be used here, or null when it can. */
  probe(): string | null;
}

/** True when `command args` runs at all (exit status ignored: some tools print their version and exit 1). */
function runs(command: string, args: string[]): boolean {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 5000, stdio: 'ignore' });
  return !r.error;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false; // absent or not executable: both mean "not installed"
  }
}

const onPath = (command: string, args: string[]) => () => (runs(command, args) ? null : `"${command}" is not on PATH`);

export const TOOLS = {
  sipp: { package: 'sip-tester', probe: onPath('sipp', ['-v']) },
  /** SIPp's RFC 4733 DTMF captures (shipped with sip-tester). */
  'sipp-dtmf-pcaps': {
    package: 'sip-tester',
    probe: () => (existsSync('/usr/share/sip-tester/dtmf_2833_1.pcap') ? null : '/usr/share/sip-tester/dtmf_2833_*.pcap are missing'),
  },
  sox: { package: 'sox', probe: onPath('sox', ['--version']) },
  'espeak-ng': { package: 'espeak-ng', probe: onPath('espeak-ng', ['--version']) },
  baresip: { package: 'baresip-core', probe: onPath('baresip', ['-h']) },
  chromium: { package: 'chromium', probe: () => (executable('/usr/bin/chromium') ? null : '/usr/bin/chromium is missing') },
  /** Debian puts the server binaries outside PATH: either place will do. */
  postgresql: {
    package: 'postgresql-15',
    probe: () =>
      runs('initdb', ['--version']) || executable('/usr/lib/postgresql/15/bin/initdb') ? null : 'initdb is neither on PATH nor in /usr/lib/postgresql/15/bin',
  },
  kamailio: { package: 'kamailio', probe: onPath('kamailio', ['-v']) },
  /** dumpcap captures what crosses lo (shipped with tshark). */
  tshark: { package: 'tshark', probe: onPath('dumpcap', ['-v']) },
} satisfies Record<string, ToolSpec>;

export type ToolName = keyof typeof TOOLS;

/** A tier skipped for a missing tool. */
export interface SkippedTier {
  tool: ToolName;
  package: string;
  /** What the tool is missing for (the tier or test). */
  why: string;
  /** The probe's finding. */
  problem: string;
  /** Mocha's full title of the suite or test that skipped. */
  where: string;
}

const probed = new Map<ToolName, string | null>();
const skipped: SkippedTier[] = [];

/** Why `tool` cannot be used here (probed once per run), or null. */
export function toolProblem(tool: ToolName): string | null {
  if (!probed.has(tool)) probed.set(tool, TOOLS[tool].probe());
  return probed.get(tool)!;
}

/**
 * Skips the current suite (in a `before` hook) or test when `tool` is
 * missing, recording it for the end-of-run report. Pass `problem` when the
 * caller has its own finer check (baresip's modules, say).
 */
export function requireTool(ctx: Context, tool: ToolName, why: string, problem: string | null = toolProblem(tool)): void {
  if (problem === null) return;
  // In a hook the whole suite is skipped: name the suite, else the test.
  const runnable = ctx.test;
  const where = (runnable as { type?: string } | undefined)?.type === 'hook' ? runnable?.parent?.fullTitle() : runnable?.fullTitle();
  skipped.push({ tool, package: TOOLS[tool].package, why, problem, where: where || '(root)' });
  ctx.skip();
}

/** The tiers skipped so far in this run. */
export function skippedTiers(): readonly SkippedTier[] {
  return skipped;
}

/** CI=true (or 1, yes, any value but false/0/empty) marks a CI run. */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const v = (env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== 'false' && v !== '0' && v !== 'no';
}

export interface ToolReport {
  /** Lines to print at the end of the run (empty when nothing was skipped). */
  lines: string[];
  /** The run must fail: a CI run skipped a tier. */
  fail: boolean;
}

/** The end-of-run decision: what to say about the skipped tiers, and whether that fails the run. */
export function toolReport(tiers: readonly SkippedTier[], env: NodeJS.ProcessEnv): ToolReport {
  if (tiers.length === 0) return { lines: [], fail: false };
  const byTool = new Map<ToolName, SkippedTier[]>();
  for (const t of tiers) byTool.set(t.tool, [...(byTool.get(t.tool) ?? []), t]);
  const ci = isCi(env);
  const lines = [`${ci ? 'FAILED' : 'WARNING'}: ${tiers.length} test tier(s) skipped because a tool is missing:`];
  for (const [tool, list] of byTool) {
    lines.push(`  ${tool} (${list[0]!.problem}; apt-get install ${list[0]!.package}):`);
    for (const t of list) lines.push(`    - ${t.where}: ${t.why}`);
  }
  const packages = [...new Set(tiers.map((t) => t.package))].join(' ');
  lines.push(
    ci
      ? `  CI is set, so a skipped tier fails the run. Install: apt-get install -y ${packages}`
      : `  These tiers did not run. Install: apt-get install -y ${packages} (with CI=true this fails the run)`,
  );
  return { lines, fail: ci };
}
