import type { Command } from 'commander';
import type { AdminServices } from '../../app/services';
import { ConfigError } from '../../config/config';
import { describeError, exitCodeOf, EXIT_CODES } from '../errors';
import type { CliContext } from './context';

/** How a CLI command runs: open the store, do the work, print text or JSON, close; errors become one stderr line and an exit code. */

export interface CommandIo {
  services: AdminServices;
  /** --json was given. */
  json: boolean;
  /** Prints `data` as JSON with --json, else the `human` text. */
  emit(human: string, data: unknown): void;
  /** Raw text to stdout (CSV). */
  write(text: string): void;
  /** `papgate: warning: ...` on stderr. */
  warn(text: string): void;
}

export type Opts = Record<string, unknown>;

export function setExitCode(ctx: CliContext, code: number): void {
  if (ctx.setExitCode) ctx.setExitCode(code);
  else process.exitCode = code;
}

/** One `papgate: <message>` on stderr and the mapped exit code; never a stack trace. */
export function reportFailure(ctx: CliContext, e: unknown): void {
  if (e instanceof ConfigError) {
    ctx.stderr(`papgate: ${e.message}\n`);
    setExitCode(ctx, EXIT_CODES.invalid);
    return;
  }
  const r = describeError(e);
  // A local operator may see what broke (no remote client here), but not the stack.
  const message = r.code === 'internal' && e instanceof Error ? `internal error: ${e.message}` : r.message;
  ctx.stderr(`papgate: ${message}\n`);
  setExitCode(ctx, exitCodeOf(r.code));
}

/** The positional arguments and options of the command commander is running. */
function parts(a: unknown[]): { args: string[]; opts: Opts } {
  const cmd = a[a.length - 1] as Command;
  return { args: cmd.processedArgs as string[], opts: cmd.opts() };
}

/** An action that needs no store (serve). */
export function plainAction(ctx: CliContext, run: (args: string[], opts: Opts) => Promise<void>) {
  return async (...a: unknown[]): Promise<void> => {
    const { args, opts } = parts(a);
    try {
      await run(args, opts);
    } catch (e) {
      reportFailure(ctx, e);
    }
  };
}

/** An action over the admin services of the database named by --db. */
export function serviceAction(ctx: CliContext, run: (io: CommandIo, args: string[], opts: Opts) => Promise<void>) {
  return plainAction(ctx, async (args, opts) => {
    const { services, close } = await ctx.openServices(String(opts.db));
    try {
      const json = opts.json === true;
      await run(
        {
          services,
          json,
          emit: (human, data) => ctx.stdout(json ? `${JSON.stringify(data, null, 2)}\n` : `${human}\n`),
          write: (text) => ctx.stdout(text),
          warn: (text) => ctx.stderr(`papgate: warning: ${text}\n`),
        },
        args,
        opts,
      );
    } finally {
      await close();
    }
  });
}

/** --db and --json, which every store command takes. */
export function common(cmd: Command, ctx: CliContext): Command {
  return cmd
    .option('--db <path>', 'SQLite database file or postgres:// URL (env PAPGATE_DB)', ctx.env.PAPGATE_DB || './data/papgate.db')
    .option('--json', 'print JSON instead of text');
}

/** Collects a repeatable option. */
export const collect = (value: string, previous: string[]) => [...previous, value];
