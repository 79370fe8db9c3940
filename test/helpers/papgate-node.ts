import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from './cli';

/**
 * A real `papgate serve` process (src/cli.ts through tsx), as one node of
 * several: its settings come from `env` only. Its log (JSON lines) is kept
 * for failure messages.
 */
export class PapgateNode {
  private log = '';
  private readonly child: ChildProcess;
  private exited = false;

  constructor(
    readonly name: string,
    readonly adminPort: number,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['--require', 'tsx/cjs', 'src/cli.ts', 'serve'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PAPGATE_LOG_LEVEL: 'info', PAPGATE_ADMIN_PORT: String(adminPort), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b: Buffer) => {
      this.log = (this.log + b.toString('utf8')).slice(-64 * 1024);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.child.on('exit', () => {
      this.exited = true;
    });
  }

  /** Resolves when /readyz answers 200 (bounded); fails with the node's log if it exits or never gets ready. */
  async ready(timeoutMs = 40_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.exited) throw new Error(`${this.name} exited:\n${this.logTail()}`);
      const ok = await fetch(`http://127.0.0.1:${this.adminPort}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.logTail()}`);
  }

  logTail(chars = 4000): string {
    return this.log.slice(-chars);
  }

  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}
