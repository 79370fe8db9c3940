/**
 * DTMF material for the call scenarios, and a staging dir per SIPp run so the
 * scenario XML stays static: SIPp 3.6 looks for pcap / rtp_stream files next to
 * the scenario first, so the test copies the scenario into a temp dir together
 * with pcaps of fixed names (pap-1.pcap ... pap-6.pcap). rtp_stream files are
 * the exception (see INBAND_DTMF_FILE).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toolProblem } from './required-tools';
import { keyFileName, rtpEventPcaps } from './rtp-event-pcap';

export const SCENARIOS_DIR = path.resolve(__dirname, '..', '..', 'scenarios');
const SIPP_PCAPS = '/usr/share/sip-tester';

export interface StagedScenario {
  /** Absolute path of the copied scenario (pass it to runSipp). */
  scenario: string;
  dir: string;
  remove(): void;
}

/** Copies scenarios/<name> into a fresh temp dir with `files` (name -> contents or source path). */
export function stageScenario(name: string, files: Record<string, Buffer | { copyOf: string }> = {}): StagedScenario {
  const dir = mkdtempSync(path.join(tmpdir(), 'papgate-scenario-'));
  const scenario = path.join(dir, name);
  copyFileSync(path.join(SCENARIOS_DIR, name), scenario);
  for (const [file, content] of Object.entries(files)) {
    if (Buffer.isBuffer(content)) writeFileSync(path.join(dir, file), content);
    else copyFileSync(content.copyOf, path.join(dir, file));
  }
  return { scenario, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The RFC 4733 capture SIPp ships for a key ('0'-'9', '*', '#'). */
export function rfc4733Pcap(key: string): string {
  const name = key === '*' ? 'star' : key === '#' ? 'pound' : key;
  if (!/^([0-9]|star|pound)$/.test(name)) throw new Error(`no DTMF capture for "${key}"`);
  return path.join(SIPP_PCAPS, `dtmf_2833_${name}.pcap`);
}

/** To skip a tier without them, use requireTool(this, 'sipp-dtmf-pcaps', why): it reports the skip. */
export function rfc4733PcapsAvailable(): boolean {
  return existsSync(rfc4733Pcap('0')) && existsSync(rfc4733Pcap('#'));
}

/**
 * pap-1.pcap ... pap-6.pcap (the digits of `pap`) and key-pound.pcap, as RFC
 * 4733 captures numbered as one stream (rtp-event-pcap.ts: SIPp's shipped
 * captures repeat their sequence numbers, and FreeSWITCH drops such digits).
 */
export function papPcaps(pap: string): Record<string, Buffer> {
  if (!/^\d{6}$/.test(pap)) throw new Error('a PAP has 6 digits');
  return rtpEventPcaps(`${pap}#`, keyFileName);
}

/** Scenario variables d1..d6 holding the digits of `pap` (for SIP INFO). */
export function papVars(pap: string): Record<string, string> {
  return Object.fromEntries([...pap].map((d, i) => [`d${i + 1}`, d]));
}

/** A wrong PAP made of one repeated digit (scenarios type it as six times [$wrong]). */
export function wrongDigitFor(pap: string): string {
  for (const d of '0123456789') if (d.repeat(6) !== pap) return d;
  throw new Error('unreachable');
}

const DTMF_ROWS: Record<string, number> = { 1: 697, 2: 697, 3: 697, 4: 770, 5: 770, 6: 770, 7: 852, 8: 852, 9: 852, '*': 941, 0: 941, '#': 941 };
const DTMF_COLS: Record<string, number> = { 1: 1209, 2: 1336, 3: 1477, 4: 1209, 5: 1336, 6: 1477, 7: 1209, 8: 1336, 9: 1477, '*': 1209, 0: 1336, '#': 1477 };

/**
 * In-band DTMF as raw µ-law (PT 0) for `<exec rtp_stream="file,1,0"/>`: each
 * key a dual tone synthesised by sox (`synth sine <row> sine <col>`, mixed to
 * one channel), then silence; padded to whole 20 ms frames.
 */
export function inbandDtmfUlaw(keys: string, toneMs = 120, gapMs = 120, leadMs = 200): Buffer {
  const silence = (ms: number) => Buffer.alloc(ms * 8, 0xff);
  const parts: Buffer[] = [silence(leadMs)];
  for (const key of keys) {
    const row = DTMF_ROWS[key];
    const col = DTMF_COLS[key];
    if (!row || !col) throw new Error(`no DTMF tone for "${key}"`);
    const r = spawnSync(
      'sox',
      [
        '-n',
        '-r',
        '8000',
        '-c',
        '1',
        '-e',
        'u-law',
        '-t',
        'raw',
        '-',
        'synth',
        String(toneMs / 1000),
        'sine',
        String(row),
        'sine',
        String(col),
        'channels',
        '1',
        'gain',
        '-n',
        '-6',
      ],
      { maxBuffer: 1 << 20 },
    );
    if (r.status !== 0 || !r.stdout?.length) throw new Error(`sox failed: ${r.stderr?.toString() ?? r.error?.message}`);
    parts.push(r.stdout, silence(gapMs));
  }
  const all = Buffer.concat(parts);
  const padded = Buffer.alloc(Math.ceil(all.length / 160) * 160, 0xff);
  all.copy(padded);
  return padded;
}

/**
 * Where auth-success-inband.xml streams its tones from: SIPp 3.6 reads
 * rtp_stream files relative to its working directory (never next to the
 * scenario), so the scenario names this absolute path.
 */
export const INBAND_DTMF_FILE = '/tmp/papgate-calls-inband/pap-inband.ulaw';

/** Writes `keys` as in-band DTMF to INBAND_DTMF_FILE; returns a function that removes it. */
export function writeInbandDtmf(keys: string): () => void {
  mkdirSync(path.dirname(INBAND_DTMF_FILE), { recursive: true });
  writeFileSync(INBAND_DTMF_FILE, inbandDtmfUlaw(keys));
  return () => rmSync(path.dirname(INBAND_DTMF_FILE), { recursive: true, force: true });
}

/** To skip a tier without sox, use requireTool(this, 'sox', why): it reports the skip. */
export function soxAvailable(): boolean {
  return toolProblem('sox') === null;
}
