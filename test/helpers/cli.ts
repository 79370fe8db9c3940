import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** Runs the real `papgate` CLI (src/cli.ts through tsx) as a child process from the repository root. */

export const REPO_ROOT = resolve(__dirname, '..', '..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  /** Added to the test process's environment (PAPGATE_DB, ...). */
  env?: Record<string, string>;
  /** Written to the CLI's stdin (then closed). */
  input?: string;
  /** Kill the child after this long (default 20 s): a hung CLI fails the test instead of the run. */
  timeoutMs?: number;
}

export function runCli(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'src/cli.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, PAPGATE_LOG_LEVEL: 'silent', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`papgate ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 20_000} ms; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => {
      /* the CLI may exit before reading stdin */
    });
    child.stdin.end(opts.input ?? '');
  });
}
