import type { AdminServices } from '../../app/services';
import type { DeliveryView, WebhookView } from '../../app/webhooks';
import { bodyObject, queryParam } from './params';
import { param, type ApiRoute } from './route';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export const webhookJson = (w: WebhookView) => ({ tenant: w.tenant, url: w.url, updatedAt: iso(w.updatedAt) });

export const deliveryJson = (x: DeliveryView) => ({
  id: x.id, event: x.event, mac: x.mac, state: x.state, at: iso(x.at), status: x.status, attempts: x.attempts,
  nextAttemptAt: iso(x.nextAttemptAt), lastResult: x.lastResult, finishedAt: iso(x.finishedAt),
});

/** A tenant's webhook: URL, secret rotation (the secret is in the answer once), recent deliveries. */
export function webhookRoutes(s: AdminServices): ApiRoute[] {
  return [
    {
      method: 'GET', url: '/tenants/:tenant/webhook',
      handler: async (req, actor) => webhookJson(await s.webhooks.show(actor, param(req, 'tenant'))),
    },
    {
      method: 'PUT', url: '/tenants/:tenant/webhook', action: 'webhook-set',
      handler: async (req, actor) => {
        const b = bodyObject(req.body, ['url']);
        const { webhook, secret } = await s.webhooks.set(actor, param(req, 'tenant'), b.url);
        return secret === undefined ? { webhook: webhookJson(webhook) } : { webhook: webhookJson(webhook), secret };
      },
    },
    {
      method: 'DELETE', url: '/tenants/:tenant/webhook', action: 'webhook-remove', status: 204,
      handler: async (req, actor) => s.webhooks.remove(actor, param(req, 'tenant')),
    },
    {
      method: 'POST', url: '/tenants/:tenant/webhook/secret', action: 'webhook-secret',
      handler: async (req, actor) => {
        const { webhook, secret } = await s.webhooks.rotateSecret(actor, param(req, 'tenant'));
        return { webhook: webhookJson(webhook), secret };
      },
    },
    {
      method: 'GET', url: '/tenants/:tenant/webhook/deliveries',
      handler: async (req, actor) => {
        const limit = queryParam(req.query, 'limit') ?? 50;
        return (await s.webhooks.deliveries(actor, param(req, 'tenant'), limit)).map(deliveryJson);
      },
    },
  ];
}
