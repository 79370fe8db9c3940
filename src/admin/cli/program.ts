import { Command, CommanderError } from 'commander';
import { EXIT_CODES, EXIT_CODES_HELP } from '../errors';
import { plainAction, reportFailure } from './action';
import { addDataCommands } from './commands-data';
import { addDeviceCommands } from './commands-devices';
import { addStoreCommands } from './commands-store';
import { addTenantCommands } from './commands-tenants';
import { addWebhookCommands } from './commands-webhooks';
import type { CliContext, ServeFlags } from './context';

export type { CliContext, ServeFlags } from './context';

const SERVE_FLAGS: [flag: string, variable: keyof ServeFlags, help: string][] = [
  ['--db <path>', 'PAPGATE_DB', 'SQLite database file or postgres:// URL'],
  ['--provisioning-port <port>', 'PAPGATE_PROVISIONING_PORT', 'HTTP port phones fetch their configuration from'],
  ['--admin-port <port>', 'PAPGATE_ADMIN_PORT', 'HTTP port of the admin API and web portal'],
  ['--sip-port <port>', 'PAPGATE_SIP_PORT', 'SIP port of the authentication service'],
  ['--public-url <url>', 'PAPGATE_PUBLIC_URL', 'URL phones reach the provisioning service at'],
];

/** The `papgate` command line (commander). Exit codes: see EXIT_CODES_HELP. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('papgate')
    .description('papgate: two-factor provisioning gate for SIP desk phones')
    .configureOutput({
      writeOut: (s) => ctx.stdout(s),
      writeErr: (s) => ctx.stderr(s),
      outputError: (s, write) => write(`papgate: ${s.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride((err) => {
      // Usage errors (unknown option, missing argument) are invalid input: exit 2; --help is success.
      const code = err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.invalid;
      if (!ctx.setExitCode) process.exit(code);
      ctx.setExitCode(code);
      throw err;
    })
    .addHelpText(
      'after',
      `
Every store command takes --db PATH-OR-URL (default: $PAPGATE_DB, else ./data/papgate.db) and --json.

${EXIT_CODES_HELP}`,
    );

  addTenantCommands(program, ctx);
  addDeviceCommands(program, ctx);
  addDataCommands(program, ctx);
  addStoreCommands(program, ctx);
  addWebhookCommands(program, ctx);

  const serve = program
    .command('serve')
    .description('run papgate: provisioning, SIP authentication service and admin API (flags override PAPGATE_* variables)');
  for (const [flag, variable, help] of SERVE_FLAGS) serve.option(flag, `${help} (env ${variable})`);
  serve.action(
    plainAction(ctx, async (_args, opts) => {
      const flags: ServeFlags = {};
      for (const [flag, variable] of SERVE_FLAGS) {
        const key = flag.slice(2, flag.indexOf(' ')).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
        if (typeof opts[key] === 'string') flags[variable] = opts[key];
      }
      await ctx.serve(flags);
    }),
  );
  return program;
}

/**
 * Runs the CLI once and returns its exit code; never throws, never exits the
 * process. `argv` as process.argv (node, script, ...args).
 */
export async function runProgram(ctx: CliContext, argv: readonly string[]): Promise<number> {
  let code: number = EXIT_CODES.ok;
  const c: CliContext = {
    ...ctx,
    setExitCode: (n) => {
      code = n;
      ctx.setExitCode?.(n);
    },
  };
  try {
    await buildProgram(c).parseAsync([...argv]);
  } catch (e) {
    if (!(e instanceof CommanderError)) {
      reportFailure(c, e);
    }
  }
  return code;
}
