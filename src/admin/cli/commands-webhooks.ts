import type { Command } from 'commander';
import { CLI_ACTOR } from '../../app/actor';
import { deliveryJson, webhookJson } from '../rest/routes-webhooks';
import { common, serviceAction } from './action';
import type { CliContext } from './context';
import { keyValues, table } from './format';

const SHOWN_ONCE = '(the secret is shown only now: receivers verify X-Papgate-Signature with it; rotate with "papgate webhook secret TENANT")';

/** `papgate webhook ...`: a tenant's webhook URL, its signing secret and recent deliveries. */
export function addWebhookCommands(program: Command, ctx: CliContext): void {
  const webhook = program.command('webhook').description('per-tenant webhooks: POSTs when a device becomes blocked, failed or successful');

  common(webhook.command('set').argument('<tenant>', 'tenant name').argument('<url>', 'http:// or https:// URL'), ctx)
    .description('set or change the webhook URL; a new webhook prints its signing secret (shown once)')
    .action(
      serviceAction(ctx, async (io, [tenant, url]) => {
        const { webhook: w, secret } = await io.services.webhooks.set(CLI_ACTOR, tenant, url);
        const j = webhookJson(w);
        const pairs: [string, string][] = [
          ['tenant', j.tenant],
          ['url', j.url],
        ];
        if (secret !== undefined) pairs.push(['secret', secret]);
        io.emit(keyValues(pairs) + (secret !== undefined ? `\n${SHOWN_ONCE}` : ''), secret === undefined ? { webhook: j } : { webhook: j, secret });
      }),
    );

  common(webhook.command('show').argument('<tenant>', 'tenant name'), ctx)
    .description('show the webhook URL (never the secret)')
    .action(
      serviceAction(ctx, async (io, [tenant]) => {
        const j = webhookJson(await io.services.webhooks.show(CLI_ACTOR, tenant));
        io.emit(
          keyValues([
            ['tenant', j.tenant],
            ['url', j.url],
            ['updated', j.updatedAt],
          ]),
          j,
        );
      }),
    );

  common(webhook.command('secret').argument('<tenant>', 'tenant name'), ctx)
    .description('replace the signing secret and print the new one (shown once)')
    .action(
      serviceAction(ctx, async (io, [tenant]) => {
        const { webhook: w, secret } = await io.services.webhooks.rotateSecret(CLI_ACTOR, tenant);
        io.emit(
          `${keyValues([
            ['tenant', w.tenant],
            ['secret', secret],
          ])}\n${SHOWN_ONCE}`,
          { webhook: webhookJson(w), secret },
        );
      }),
    );

  common(webhook.command('remove').argument('<tenant>', 'tenant name'), ctx)
    .description('remove the webhook; pending deliveries are dropped')
    .action(
      serviceAction(ctx, async (io, [tenant]) => {
        await io.services.webhooks.remove(CLI_ACTOR, tenant);
        io.emit(`webhook of ${String(tenant).toLowerCase()} removed`, { removed: true });
      }),
    );

  common(webhook.command('deliveries').argument('<tenant>', 'tenant name'), ctx)
    .description('recent deliveries, newest first')
    .option('--limit <n>', 'how many (1-200)', '20')
    .action(
      serviceAction(ctx, async (io, [tenant], opts) => {
        const all = (await io.services.webhooks.deliveries(CLI_ACTOR, tenant, opts.limit)).map(deliveryJson);
        io.emit(
          all.length === 0
            ? '(no deliveries)'
            : table(
                ['AT', 'EVENT', 'MAC', 'STATUS', 'ATTEMPTS', 'LAST RESULT'],
                all.map((x) => [x.at, x.event, x.mac, x.status, String(x.attempts), x.lastResult]),
              ),
          all,
        );
      }),
    );
}
