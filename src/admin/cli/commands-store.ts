import type { Command } from 'commander';
import { plainAction } from './action';
import type { CliContext } from './context';

/** `papgate migrate` and `papgate copy`: the store itself rather than what is in it. */
export function addStoreCommands(program: Command, ctx: CliContext): void {
  const emitter = (json: unknown) => (human: string, data: unknown) => ctx.stdout(json === true ? `${JSON.stringify(data, null, 2)}\n` : `${human}\n`);

  program
    .command('migrate')
    .description("bring the store's schema up to date (PostgreSQL: run once before starting new nodes; safe to run on several at once)")
    .option('--db <path>', 'SQLite file or postgres:// URL (env PAPGATE_DB)', ctx.env.PAPGATE_DB || './data/papgate.db')
    .option('--json', 'print JSON instead of text')
    .action(
      plainAction(ctx, async (_args, o) => {
        if (!ctx.migrate) throw new Error('this build of papgate cannot migrate stores');
        const r = await ctx.migrate(String(o.db));
        const human = r.from === r.to ? `${r.store} schema is up to date (version ${r.to})` : `${r.store} schema migrated from version ${r.from} to ${r.to}`;
        emitter(o.json)(human, r);
      }),
    );

  program
    .command('copy')
    .description(
      'copy a whole SQLite store (tenants, sites, devices, allow-lists, open trust windows, audit) into an empty PostgreSQL database, in one transaction',
    )
    .requiredOption('--from <file>', 'the SQLite database file (only read)')
    .requiredOption('--to <url>', 'postgres:// URL of an empty database (migrated first if needed)')
    .option('--json', 'print JSON instead of text')
    .action(
      plainAction(ctx, async (_args, o) => {
        if (!ctx.copy) throw new Error('this build of papgate cannot copy stores');
        const counts = await ctx.copy(String(o.from), String(o.to));
        const human = `copied ${Object.entries(counts)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ')}`;
        emitter(o.json)(human, { copied: counts });
      }),
    );
}
