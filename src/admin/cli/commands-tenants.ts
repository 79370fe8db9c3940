import type { Command } from 'commander';
import { CLI_ACTOR } from '../../app/actor';
import { splitNumberList } from '../../domain/dialplan';
import { LOCALES } from '../../domain/types';
import { siteJson, tenantJson, type SiteJson } from '../rest/views';
import { common, serviceAction } from './action';
import type { CliContext } from './context';
import { keyValues, table } from './format';

/** `papgate tenant ...` and `papgate site ...`. */
export function addTenantCommands(program: Command, ctx: CliContext): void {
  const tenant = program.command('tenant').description('tenants (customer accounts) and their admin tokens');

  common(tenant.command('add').argument('<name>', 'tenant name: letters, digits, . _ -'), ctx)
    .description('create a tenant and print its admin token (shown once)')
    .option('--locale <locale>', `prompt language: ${LOCALES.join(', ')}`, 'en')
    .action(
      serviceAction(ctx, async (io, [name], opts) => {
        const { tenant: t, token } = await io.services.tenants.create(CLI_ACTOR, name, opts.locale);
        io.emit(
          `${keyValues([
            ['tenant', t.name],
            ['locale', t.locale],
            ['token', token],
          ])}\n(the token is shown only now: keep it safe; rotate with "papgate tenant token ${t.name}")`,
          { tenant: tenantJson(t), token },
        );
      }),
    );

  common(tenant.command('list'), ctx)
    .description('list tenants')
    .action(
      serviceAction(ctx, async (io) => {
        const all = (await io.services.tenants.list(CLI_ACTOR)).map(tenantJson);
        io.emit(
          all.length === 0
            ? '(no tenants)'
            : table(
                ['NAME', 'LOCALE', 'CREATED'],
                all.map((t) => [t.name, t.locale, t.createdAt]),
              ),
          all,
        );
      }),
    );

  common(tenant.command('token').argument('<name>', 'tenant name'), ctx)
    .description("replace the tenant's admin token (the old one stops working) and print the new one")
    .action(
      serviceAction(ctx, async (io, [name]) => {
        const { tenant: t, token } = await io.services.tenants.rotateToken(CLI_ACTOR, name);
        io.emit(
          keyValues([
            ['tenant', t.name],
            ['token', token],
          ]),
          { tenant: t.name, token },
        );
      }),
    );

  common(tenant.command('locale').argument('<name>', 'tenant name').argument('<locale>', LOCALES.join(', ')), ctx)
    .description("change the tenant's prompt language")
    .action(
      serviceAction(ctx, async (io, [name, locale]) => {
        const t = tenantJson(await io.services.tenants.setLocale(CLI_ACTOR, name, locale));
        io.emit(
          keyValues([
            ['tenant', t.name],
            ['locale', t.locale],
          ]),
          t,
        );
      }),
    );

  const site = program.command('site').description('sites (locations) of a tenant');

  common(site.command('add').argument('<name>', 'site name: letters, digits, . _ -'), ctx)
    .description('add a site to a tenant')
    .requiredOption('--tenant <tenant>', 'tenant name')
    .option('--locale <locale>', `prompt language for this site: ${LOCALES.join(', ')} (default: the tenant's)`)
    .option('--emergency-numbers <list>', EMERGENCY_HELP)
    .action(
      serviceAction(ctx, async (io, [name], opts) => {
        const s = siteJson(await io.services.tenants.addSite(CLI_ACTOR, opts.tenant, name, opts.locale, numberList(opts.emergencyNumbers)));
        io.emit(siteLines(s, opts.tenant), s);
      }),
    );

  common(site.command('set').argument('<name>', 'site name'), ctx)
    .description("change a site's prompt language or emergency numbers (what is not given stays)")
    .requiredOption('--tenant <tenant>', 'tenant name')
    .option('--locale <locale>', `prompt language for this site: ${LOCALES.join(', ')}, or "tenant" for the tenant's`)
    .option('--emergency-numbers <list>', `${EMERGENCY_HELP}; "" removes them`)
    .action(
      serviceAction(ctx, async (io, [name], opts) => {
        const change = { locale: opts.locale === 'tenant' ? null : opts.locale, emergencyNumbers: numberList(opts.emergencyNumbers) };
        const s = siteJson(await io.services.tenants.updateSite(CLI_ACTOR, opts.tenant, name, change));
        io.emit(siteLines(s, opts.tenant), s);
      }),
    );

  common(site.command('list'), ctx)
    .description('list the sites of a tenant')
    .requiredOption('--tenant <tenant>', 'tenant name')
    .action(
      serviceAction(ctx, async (io, _args, opts) => {
        const all = (await io.services.tenants.listSites(CLI_ACTOR, opts.tenant)).map(siteJson);
        io.emit(
          all.length === 0
            ? '(no sites)'
            : table(
                ['NAME', 'LOCALE', 'EMERGENCY'],
                all.map((s) => [s.name, s.locale, s.emergencyNumbers.join(',')]),
              ),
          all,
        );
      }),
    );
}

const numberList = (text: unknown) => (typeof text === 'string' ? splitNumberList(text) : undefined);

const EMERGENCY_HELP = 'comma-separated emergency numbers of this site, on top of the global ones (e.g. 15,17,18)';

function siteLines(s: SiteJson, tenant: unknown): string {
  return keyValues([
    ['site', s.name],
    ['tenant', String(tenant).toLowerCase()],
    ['locale', s.locale ?? "(tenant's)"],
    ['emergency numbers', s.emergencyNumbers.length > 0 ? `${s.emergencyNumbers.join(',')} (plus the global ones)` : '(the global ones only)'],
  ]);
}
