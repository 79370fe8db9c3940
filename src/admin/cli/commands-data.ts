import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CLI_ACTOR } from '../../app/actor';
import { devicesToCsv } from '../../app/device-csv';
import { invalid } from '../../domain/errors';
import { parseLimit } from '../rest/params';
import { allowEntryJson, allowListJson, auditJson } from '../rest/views';
import { common, serviceAction } from './action';
import type { CliContext } from './context';
import { deviceTable, table } from './format';

/** `papgate trust ...`, `export`, `import` and `audit`. */
export function addDataCommands(program: Command, ctx: CliContext): void {
  const trust = program.command('trust').description('the permanent IP allow-list of a tenant (trusted networks skip the PAP)');

  common(trust.command('add').argument('<cidr>', 'an IPv4/IPv6 address or CIDR range, e.g. 203.0.113.0/24'), ctx)
    .description('trust an address or range for a tenant (warns about very wide ranges)')
    .requiredOption('--tenant <tenant>', 'tenant name')
    .action(
      serviceAction(ctx, async (io, [cidr], o) => {
        const { entry, warning } = await io.services.allowList.add(CLI_ACTOR, o.tenant, cidr);
        if (warning) io.warn(warning);
        io.emit(`trusted ${entry.cidr}`, warning ? { entry: allowEntryJson(entry), warning } : { entry: allowEntryJson(entry) });
      }),
    );

  common(trust.command('remove').argument('<cidr>', 'the entry to remove'), ctx)
    .description("remove an entry from a tenant's allow-list")
    .requiredOption('--tenant <tenant>', 'tenant name')
    .action(
      serviceAction(ctx, async (io, [cidr], o) => {
        await io.services.allowList.remove(CLI_ACTOR, o.tenant, cidr);
        io.emit(`removed ${cidr}`, { removed: cidr });
      }),
    );

  common(trust.command('list'), ctx)
    .description('list permanent entries and temporary windows (opened by full provisioning)')
    .requiredOption('--tenant <tenant>', 'tenant name')
    .action(
      serviceAction(ctx, async (io, _args, o) => {
        const l = allowListJson(await io.services.allowList.list(CLI_ACTOR, o.tenant));
        const rows = [
          ...l.permanent.map((e) => ['permanent', e.cidr, `since ${e.createdAt}`]),
          ...l.temporary.map((t) => ['temporary', t.ip, `until ${t.until}`]),
        ];
        io.emit(rows.length === 0 ? '(no trusted networks)' : table(['KIND', 'ADDRESS', 'VALID'], rows), l);
      }),
    );

  common(program.command('export'), ctx)
    .description("print the tenant's devices as CSV (vendor, model, mac, created, site, state, pap)")
    .requiredOption('--tenant <tenant>', 'tenant name')
    .action(
      serviceAction(ctx, async (io, _args, o) => {
        const views = await io.services.devices.list(CLI_ACTOR, o.tenant);
        if (io.json) io.emit('', views);
        else io.write(devicesToCsv(views));
      }),
    );

  common(program.command('import').argument('<file>', 'CSV file with the header mac,vendor,model[,site]; - reads stdin'), ctx)
    .description('add many devices from a CSV file: every row is checked first, and nothing is written if one is bad')
    .requiredOption('--tenant <tenant>', 'tenant name')
    .action(
      serviceAction(ctx, async (io, [file], o) => {
        const csv = readCsv(file!);
        const devices = await io.services.csv.import(CLI_ACTOR, o.tenant, csv);
        io.emit(`imported ${devices.length} device${devices.length === 1 ? '' : 's'}\n${deviceTable(devices)}`, { imported: devices.length, devices });
      }),
    );

  common(program.command('audit'), ctx)
    .description('recent audit events (authentication attempts and admin actions), newest first')
    .option('--tenant <tenant>', 'only this tenant')
    .option('--limit <n>', 'how many events: 1-1000', '100')
    .action(
      serviceAction(ctx, async (io, _args, o) => {
        const limit = parseLimit(o.limit as string);
        const events = await io.services.audit.recent(CLI_ACTOR, o.tenant, limit);
        const names = new Map((await io.services.tenants.list(CLI_ACTOR)).map((t) => [t.id, t.name]));
        const list = events.map((e) => auditJson(e, names));
        io.emit(
          list.length === 0
            ? '(no events)'
            : table(
                ['TIME', 'TENANT', 'MAC', 'ACTOR', 'ACTION', 'OUTCOME', 'SOURCE'],
                list.map((e) => [e.at, e.tenant, e.mac, e.actor, e.action, e.outcome, e.sourceIp]),
              ),
          list,
        );
      }),
    );
}

function readCsv(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code ?? (e as Error).message;
    throw invalid('file', `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code}`);
  }
}
