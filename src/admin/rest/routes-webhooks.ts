import { z } from 'zod';
import type { AdminServices } from '../../app/services';
import type { DeliveryView, WebhookView } from '../../app/webhooks';
import { route, type ApiRoute } from './route';
import { TenantParams } from './schemas';

const STD = [400, 403, 404, 503] as const;
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const time = z.string().meta({ format: 'date-time' });

export const webhookJson = (w: WebhookView) => ({ tenant: w.tenant, url: w.url, updatedAt: iso(w.updatedAt)! });

export const deliveryJson = (x: DeliveryView) => ({
  id: x.id,
  event: x.event,
  mac: x.mac,
  state: x.state,
  at: iso(x.at)!,
  status: x.status,
  attempts: x.attempts,
  nextAttemptAt: iso(x.nextAttemptAt),
  lastResult: x.lastResult,
  finishedAt: iso(x.finishedAt),
});

const WebhookSchema = z
  .strictObject({ tenant: z.string(), url: z.string().meta({ format: 'uri' }), updatedAt: time })
  .describe('never the secret')
  .meta({ id: 'Webhook' });
const SecretSchema = z
  .string()
  .regex(/^whsec_/)
  .describe('the signing secret: shown in this answer only, never again');
const WebhookSavedSchema = z.strictObject({ webhook: WebhookSchema, secret: SecretSchema.optional() });
const WebhookSecretSchema = z.strictObject({ webhook: WebhookSchema, secret: SecretSchema });
const DeliverySchema = z
  .strictObject({
    id: z.string().describe('event id (X-Papgate-Event-Id)'),
    event: z.enum(['device.blocked', 'device.failed', 'device.successful']),
    mac: z.string(),
    state: z.enum(['blocked', 'failed', 'successful']),
    at: time,
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    nextAttemptAt: time.nullable(),
    lastResult: z.string().nullable(),
    finishedAt: time.nullable(),
  })
  .meta({ id: 'WebhookDelivery' });

// The URL's scheme and form are checked by the use case (http/https, no credentials): one rule for REST, CLI and portal.
const WebhookBody = z.strictObject({
  url: z
    .string({ error: 'must be the receiver URL (http or https)' })
    .max(2048)
    .meta({ examples: ['https://hooks.example.com/papgate'] }),
});
const limitRule = 'must be a whole number from 1 to 200';
const DeliveriesQuery = z.object({
  limit: z.coerce.number({ error: limitRule }).int(limitRule).min(1, limitRule).max(200, limitRule).optional().describe('deliveries to return, default 50'),
});

/** A tenant's webhook: URL, secret rotation (the secret is in the answer once), recent deliveries. */
export function webhookRoutes(s: AdminServices): ApiRoute[] {
  return [
    route({
      method: 'GET',
      url: '/tenants/:tenant/webhook',
      summary: "The tenant's webhook",
      params: TenantParams,
      response: WebhookSchema,
      errors: STD,
      handler: async ({ params, actor }) => webhookJson(await s.webhooks.show(actor, params.tenant)),
    }),
    route({
      method: 'PUT',
      url: '/tenants/:tenant/webhook',
      summary: 'Set or change the webhook URL; a new webhook answers with its secret once',
      action: 'webhook-set',
      params: TenantParams,
      body: WebhookBody,
      response: WebhookSavedSchema,
      errors: STD,
      handler: async ({ params, body, actor }) => {
        const { webhook, secret } = await s.webhooks.set(actor, params.tenant, body.url);
        return secret === undefined ? { webhook: webhookJson(webhook) } : { webhook: webhookJson(webhook), secret };
      },
    }),
    route({
      method: 'DELETE',
      url: '/tenants/:tenant/webhook',
      summary: 'Remove the webhook; pending deliveries are dropped',
      action: 'webhook-remove',
      status: 204,
      params: TenantParams,
      errors: STD,
      handler: async ({ params, actor }) => s.webhooks.remove(actor, params.tenant),
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/webhook/secret',
      summary: 'Replace the signing secret',
      action: 'webhook-secret',
      params: TenantParams,
      response: WebhookSecretSchema,
      errors: STD,
      handler: async ({ params, actor }) => {
        const { webhook, secret } = await s.webhooks.rotateSecret(actor, params.tenant);
        return { webhook: webhookJson(webhook), secret };
      },
    }),
    route({
      method: 'GET',
      url: '/tenants/:tenant/webhook/deliveries',
      summary: 'Recent deliveries, newest first',
      params: TenantParams,
      query: DeliveriesQuery,
      response: DeliverySchema.array(),
      errors: STD,
      handler: async ({ params, query, actor }) => (await s.webhooks.deliveries(actor, params.tenant, query.limit ?? 50)).map(deliveryJson),
    }),
  ];
}
