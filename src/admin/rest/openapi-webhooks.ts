/** The webhook part of the OpenAPI document (openapi.ts merges it in). */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const ok = (description: string, schema: object) => ({ description, content: { 'application/json': { schema } } });
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/E${s}` }]));
const TENANT = { name: 'tenant', in: 'path', required: true, description: 'tenant name', schema: { type: 'string' } };
const STD = [400, 401, 403, 404, 503] as const;
const SECRET = { type: 'string', pattern: '^whsec_', description: 'the signing secret: shown in this answer only, never again' };

export const webhookSchemas = {
  Webhook: {
    type: 'object', required: ['tenant', 'url', 'updatedAt'], description: 'never the secret',
    properties: { tenant: { type: 'string' }, url: { type: 'string', format: 'uri' }, updatedAt: { type: 'string', format: 'date-time' } },
  },
  WebhookDelivery: {
    type: 'object',
    properties: {
      id: { type: 'string', description: 'event id (X-Papgate-Event-Id)' }, event: { enum: ['device.blocked', 'device.failed', 'device.successful'] },
      mac: { type: 'string' }, state: { enum: ['blocked', 'failed', 'successful'] }, at: { type: 'string', format: 'date-time' },
      status: { enum: ['pending', 'delivered', 'failed'] }, attempts: { type: 'integer' },
      nextAttemptAt: { type: ['string', 'null'], format: 'date-time' }, lastResult: { type: ['string', 'null'] },
      finishedAt: { type: ['string', 'null'], format: 'date-time' },
    },
  },
};

export const webhookPaths = {
  '/api/v1/tenants/{tenant}/webhook': {
    parameters: [TENANT],
    get: { summary: 'The tenant\'s webhook', responses: { 200: ok('the webhook', ref('Webhook')), ...errors(...STD) } },
    put: {
      summary: 'Set or change the webhook URL (http or https); a new webhook answers with its secret once',
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['url'], properties: { url: { type: 'string', examples: ['https://hooks.example.com/papgate'] } } } } } },
      responses: { 200: ok('saved', { type: 'object', required: ['webhook'], properties: { webhook: ref('Webhook'), secret: SECRET } }), ...errors(...STD) },
    },
    delete: { summary: 'Remove the webhook; pending deliveries are dropped', responses: { 204: { description: 'removed' }, ...errors(...STD) } },
  },
  '/api/v1/tenants/{tenant}/webhook/secret': {
    parameters: [TENANT],
    post: { summary: 'Replace the signing secret', responses: { 200: ok('the new secret, once', { type: 'object', properties: { webhook: ref('Webhook'), secret: SECRET } }), ...errors(...STD) } },
  },
  '/api/v1/tenants/{tenant}/webhook/deliveries': {
    parameters: [TENANT],
    get: {
      summary: 'Recent deliveries, newest first',
      parameters: [{ name: 'limit', in: 'query', required: false, description: '1-200, default 50', schema: { type: 'integer', minimum: 1, maximum: 200 } }],
      responses: { 200: ok('deliveries', { type: 'array', items: ref('WebhookDelivery') }), ...errors(...STD) },
    },
  },
};
