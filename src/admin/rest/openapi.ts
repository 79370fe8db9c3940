import { LOCALES, VENDORS } from '../../domain/types';

/**
 * The OpenAPI 3.1 description of the admin API, written by hand. A test
 * checks that every route the server registers under /api/v1 is listed here.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ 'application/json': { schema } });
const ok = (description: string, schema: object) => ({ description, content: json(schema) });
const body = (schema: object) => ({ required: true, content: json(schema) });
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/E${s}` }]));
const pathParam = (name: string, description: string) =>
  ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const queryParam = (name: string, description: string, schema: object = { type: 'string' }) =>
  ({ name, in: 'query', required: false, description, schema });

const TENANT = pathParam('tenant', 'tenant name');
const MAC = pathParam('mac', 'MAC in any accepted form (1a2b3c4d5e6f, 1a:2b:.., 1A-2B-.., 1a2b.3c4d.5e6f), URL-encoded');
const STD = [400, 401, 403, 404, 503] as const;

const schemas = {
  Error: {
    type: 'object', required: ['error', 'message'],
    properties: {
      error: { enum: ['invalid', 'not_found', 'conflict', 'forbidden', 'unauthorized', 'unavailable', 'internal'] },
      message: { type: 'string' },
      field: { type: 'string', description: 'the input field the message is about' },
      errors: { type: 'array', description: 'per-line problems of a rejected CSV import', items: ref('ImportError') },
    },
  },
  ImportError: {
    type: 'object', required: ['line', 'message'],
    properties: { line: { type: 'integer' }, field: { type: ['string', 'null'] }, message: { type: 'string' } },
  },
  Locale: { enum: [...LOCALES] },
  Tenant: {
    type: 'object', required: ['name', 'locale', 'createdAt'],
    properties: { name: { type: 'string' }, locale: ref('Locale'), createdAt: { type: 'string', format: 'date-time' } },
  },
  Site: {
    type: 'object', required: ['name', 'locale', 'emergencyNumbers'],
    properties: { name: { type: 'string' }, locale: { oneOf: [ref('Locale'), { type: 'null' }] }, emergencyNumbers: ref('SiteEmergencyNumbers') },
  },
  SiteEmergencyNumbers: {
    type: 'array', maxItems: 20, items: { type: 'string', pattern: '^[0-9*#+]{1,15}$' },
    description: 'emergency numbers of the site\'s devices on top of the global ones (which always apply)',
  },
  LineInput: {
    type: 'object', required: ['server', 'user', 'password'],
    properties: {
      server: { type: 'string' }, user: { type: 'string' }, authName: { type: 'string', description: 'default: user' },
      password: { type: 'string' }, displayName: { type: 'string' },
    },
  },
  Device: {
    type: 'object', description: 'DeviceView: the PAP only while the device is not successful; never the identity secret',
    required: ['mac', 'tenant', 'site', 'vendor', 'model', 'state', 'pap', 'createdAt', 'sipUsername', 'sipPassword'],
    properties: {
      mac: { type: 'string', pattern: '^[0-9a-f]{12}$' }, tenant: { type: 'string' }, site: { type: ['string', 'null'] },
      vendor: { enum: [...VENDORS] }, model: { type: 'string' },
      state: { enum: ['needed', 'failed', 'blocked', 'successful'] },
      pap: { type: ['string', 'null'], pattern: '^[0-9]{6}$' },
      createdAt: { type: 'string', format: 'date-time' },
      sipUsername: { type: 'string' }, sipPassword: { type: 'string' },
      failures: { type: 'integer' }, lockouts: { type: 'integer' },
      lockedUntil: { type: ['string', 'null'], format: 'date-time' },
      suspendedUntil: { type: ['string', 'null'], format: 'date-time' },
      lastProvisionedIp: { type: ['string', 'null'] },
      lastProvisionedAt: { type: ['string', 'null'], format: 'date-time' },
      lines: {
        type: 'array', description: 'line passwords are never returned',
        items: { type: 'object', properties: { server: { type: 'string' }, user: { type: 'string' }, authName: { type: 'string' }, displayName: { type: 'string' } } },
      },
    },
  },
  AllowEntry: {
    type: 'object', required: ['cidr', 'createdAt'],
    properties: { cidr: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' } },
  },
  AllowList: {
    type: 'object', required: ['permanent', 'temporary'],
    properties: {
      permanent: { type: 'array', items: ref('AllowEntry') },
      temporary: {
        type: 'array',
        items: { type: 'object', properties: { ip: { type: 'string' }, until: { type: 'string', format: 'date-time' } } },
      },
    },
  },
  AuditEvent: {
    type: 'object',
    properties: {
      at: { type: 'string', format: 'date-time' }, tenant: { type: ['string', 'null'] }, mac: { type: ['string', 'null'] },
      sourceIp: { type: ['string', 'null'] }, actor: { type: 'string' }, action: { type: 'string' }, outcome: { type: 'string' },
    },
  },
};

const errorResponse = (description: string) => ({ description, content: json(ref('Error')) });

const paths = {
  '/healthz': { get: { summary: 'Liveness', security: [], responses: { 200: ok('alive', { type: 'object', properties: { ok: { const: true } } }) } } },
  '/readyz': { get: { summary: 'Readiness: store, SIP and media connections (503 while a part is not ready)', security: [], responses: {
    200: ok('ready', { type: 'object', properties: { ready: { type: 'boolean' }, parts: { type: 'object', additionalProperties: { type: 'boolean' } } } }),
    503: { description: 'a part is not ready; `problems` says why, per part', content: { 'application/json': { schema: { type: 'object', properties: {
      ready: { const: false }, parts: { type: 'object', additionalProperties: { type: 'boolean' } },
      problems: { type: 'object', additionalProperties: { type: 'string' } } } } } } },
  } } },
  '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
  '/api/v1/openapi.json': { get: { summary: 'This document', security: [], responses: { 200: ok('OpenAPI 3.1', { type: 'object' }) } } },
  '/api/v1/whoami': {
    get: { summary: 'Who the token belongs to', responses: { 200: ok('the actor', { type: 'object', properties: { kind: { enum: ['platform', 'tenant'] }, tenant: { type: 'string' }, locales: { type: 'array', description: 'the prompt languages papgate ships', items: ref('Locale') } } }), ...errors(401) } },
  },
  '/api/v1/tenants': {
    get: { summary: 'Tenants the token may see', responses: { 200: ok('tenants', { type: 'array', items: ref('Tenant') }), ...errors(401, 503) } },
    post: {
      summary: 'Create a tenant (platform only); returns its admin token once',
      requestBody: body({ type: 'object', required: ['name'], properties: { name: { type: 'string' }, locale: ref('Locale') } }),
      responses: { 201: ok('created', { type: 'object', properties: { tenant: ref('Tenant'), token: { type: 'string' } } }), ...errors(400, 401, 403, 409, 503) },
    },
  },
  '/api/v1/tenants/{tenant}': {
    parameters: [TENANT],
    get: { summary: 'One tenant', responses: { 200: ok('tenant', ref('Tenant')), ...errors(...STD) } },
    patch: {
      summary: 'Change the tenant\'s prompt language',
      requestBody: body({ type: 'object', required: ['locale'], properties: { locale: ref('Locale') } }),
      responses: { 200: ok('tenant', ref('Tenant')), ...errors(...STD) },
    },
  },
  '/api/v1/tenants/{tenant}/token': {
    parameters: [TENANT],
    post: { summary: 'Rotate the tenant\'s admin token (platform only)', responses: { 200: ok('new token', { type: 'object', properties: { token: { type: 'string' } } }), ...errors(...STD) } },
  },
  '/api/v1/tenants/{tenant}/sites': {
    parameters: [TENANT],
    get: { summary: 'Sites of the tenant', responses: { 200: ok('sites', { type: 'array', items: ref('Site') }), ...errors(...STD) } },
    post: {
      summary: 'Add a site',
      requestBody: body({ type: 'object', required: ['name'], properties: { name: { type: 'string' }, locale: ref('Locale'), emergencyNumbers: ref('SiteEmergencyNumbers') } }),
      responses: { 201: ok('created', ref('Site')), ...errors(...STD, 409) },
    },
  },
  '/api/v1/tenants/{tenant}/sites/{site}': {
    parameters: [TENANT, pathParam('site', 'site name')],
    patch: {
      summary: 'Change a site\'s locale (null: the tenant\'s) or emergency numbers; absent fields stay as they are',
      requestBody: body({ type: 'object', properties: { locale: { oneOf: [ref('Locale'), { type: 'null' }] }, emergencyNumbers: ref('SiteEmergencyNumbers') } }),
      responses: { 200: ok('site', ref('Site')), ...errors(...STD) },
    },
  },
  '/api/v1/tenants/{tenant}/devices': {
    parameters: [TENANT],
    get: {
      summary: 'Devices of the tenant',
      parameters: [queryParam('site', 'only this site'), queryParam('state', 'only this (effective) state', { enum: ['needed', 'failed', 'blocked', 'successful'] })],
      responses: { 200: ok('devices', { type: 'array', items: ref('Device') }), ...errors(...STD) },
    },
    post: {
      summary: 'Add a device; the answer carries its PAP',
      requestBody: body({
        type: 'object', required: ['mac', 'vendor', 'model'],
        properties: { mac: { type: 'string' }, vendor: { enum: [...VENDORS] }, model: { type: 'string' }, site: { type: 'string' } },
      }),
      responses: { 201: ok('created', ref('Device')), ...errors(...STD, 409) },
    },
  },
  '/api/v1/devices/{mac}': {
    parameters: [MAC],
    get: { summary: 'One device', responses: { 200: ok('device', ref('Device')), ...errors(...STD) } },
    delete: { summary: 'Delete a device', responses: { 204: { description: 'deleted' }, ...errors(...STD) } },
  },
  '/api/v1/devices/{mac}/reset': {
    parameters: [MAC],
    post: { summary: 'Reset authentication: new PAP, counters cleared, identity secret revoked', responses: { 200: ok('device', ref('Device')), ...errors(...STD) } },
  },
  '/api/v1/devices/{mac}/suspend': {
    parameters: [MAC],
    post: { summary: 'Suspend authentication (no PAP needed for a while)', responses: { 200: ok('device', ref('Device')), ...errors(...STD) } },
  },
  '/api/v1/devices/{mac}/lines': {
    parameters: [MAC],
    put: {
      summary: 'Replace the SIP lines of the full configuration',
      requestBody: body({ type: 'object', required: ['lines'], properties: { lines: { type: 'array', maxItems: 16, items: ref('LineInput') } } }),
      responses: { 200: ok('device', ref('Device')), ...errors(...STD) },
    },
  },
  '/api/v1/tenants/{tenant}/allow-list': {
    parameters: [TENANT],
    get: { summary: 'Permanent and temporary trusted networks', responses: { 200: ok('allow-list', ref('AllowList')), ...errors(...STD) } },
    post: {
      summary: 'Trust an address or CIDR range permanently',
      requestBody: body({ type: 'object', required: ['cidr'], properties: { cidr: { type: 'string', examples: ['203.0.113.0/24'] } } }),
      responses: { 201: ok('added; warning for very wide ranges', { type: 'object', properties: { entry: ref('AllowEntry'), warning: { type: 'string' } } }), ...errors(...STD, 409) },
    },
    delete: {
      summary: 'Remove a permanent entry',
      parameters: [{ ...queryParam('cidr', 'the entry to remove'), required: true }],
      responses: { 204: { description: 'removed' }, ...errors(...STD) },
    },
  },
  '/api/v1/tenants/{tenant}/export.csv': {
    parameters: [TENANT],
    get: {
      summary: 'CSV export (vendor, model, mac, created, site, state, pap)',
      responses: { 200: { description: 'RFC 4180 CSV, formula cells defused', content: { 'text/csv': { schema: { type: 'string' } } } }, ...errors(...STD) },
    },
  },
  '/api/v1/tenants/{tenant}/import': {
    parameters: [TENANT],
    post: {
      summary: 'Batch import: all rows are checked before any is written',
      requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string', description: 'header mac,vendor,model[,site]' } } } },
      responses: {
        201: ok('imported', { type: 'object', properties: { imported: { type: 'integer' }, devices: { type: 'array', items: ref('Device') } } }),
        ...errors(...STD),
      },
    },
  },
  '/api/v1/tenants/{tenant}/audit': {
    parameters: [TENANT],
    get: {
      summary: 'Recent audit events of the tenant',
      parameters: [queryParam('limit', '1-1000, default 100', { type: 'integer', minimum: 1, maximum: 1000 })],
      responses: { 200: ok('events, newest first', { type: 'array', items: ref('AuditEvent') }), ...errors(...STD) },
    },
  },
  '/api/v1/audit': {
    get: {
      summary: 'Recent audit events of all tenants (platform only)',
      parameters: [queryParam('limit', '1-1000, default 100', { type: 'integer', minimum: 1, maximum: 1000 })],
      responses: { 200: ok('events, newest first', { type: 'array', items: ref('AuditEvent') }), ...errors(400, 401, 403, 503) },
    },
  },
};

export const OPENAPI_DOCUMENT = Object.freeze({
  openapi: '3.1.0',
  info: {
    title: 'papgate admin API',
    version: '1',
    description: 'Tenants, devices, trusted networks, CSV and audit of papgate. Authenticate with "Authorization: Bearer <token>": the platform admin token or a tenant\'s token (which sees only its own tenant).',
  },
  security: [{ bearer: [] }],
  paths,
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas,
    responses: {
      E400: errorResponse('invalid input; `field` names the field'),
      E401: errorResponse('missing or unknown token'),
      E403: errorResponse('the token may not do this'),
      E404: errorResponse('no such tenant, site, device or entry'),
      E409: errorResponse('already exists'),
      E503: errorResponse('the database is unavailable'),
    },
  },
});
