import { z } from 'zod';
import type { ApiRoute } from './route';
import { ErrorSchema } from './schemas-answers';

/**
 * The OpenAPI 3.1 description of the admin API, generated from the route
 * table's zod schemas (the ones requests are validated with), so it cannot
 * drift from what the server accepts. Schemas with an id (`.meta({ id })`)
 * become components; the rest are written inline.
 */

type Json = Record<string, unknown>;

export const API_PREFIX = '/api/v1';

const ERROR_TEXT: Record<number, string> = {
  400: 'invalid input; `field` names the field',
  401: 'missing or unknown token',
  403: 'the token may not do this',
  404: 'no such tenant, site, device or entry',
  409: 'already exists',
  503: 'the database is unavailable',
};

/** Collects components while routes are converted; one id must always mean one schema. */
class Components {
  readonly schemas: Record<string, Json> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    const raw = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
    const json = JSON.parse(JSON.stringify(raw).replaceAll('"#/$defs/', '"#/components/schemas/')) as Json;
    const defs = (json.$defs ?? {}) as Record<string, Json>;
    for (const [id, def] of Object.entries(defs)) this.add(id, def);
    delete json.$defs;
    delete json.$schema;
    return json;
  }

  private add(id: string, def: Json): void {
    const known = this.schemas[id];
    if (known && JSON.stringify(known) !== JSON.stringify(def)) throw new Error(`two different schemas carry the id ${id}`);
    this.schemas[id] = def;
  }
}

/** The path and query parameters of an object schema, one entry per property. */
function parameters(c: Components, schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, prop]) => {
    const { description, ...json } = c.convert(prop, 'input');
    return {
      name,
      in: where,
      required: where === 'path' || !prop.safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema: json,
    };
  });
}

function operation(c: Components, r: ApiRoute): Json {
  const status = r.status ?? 200;
  const success =
    status === 204 || !r.response
      ? { description: 'done' }
      : { description: 'success', content: { [r.produces ?? 'application/json']: { schema: c.convert(r.response, 'output') } } };
  const body = r.consumes
    ? { required: true, content: { [r.consumes]: { schema: { type: 'string' } } } }
    : r.body
      ? { required: true, content: { 'application/json': { schema: c.convert(r.body, 'input') } } }
      : undefined;
  const errors = [...new Set([...r.errors, 401])].sort();
  const params = [...parameters(c, r.params, 'path'), ...parameters(c, r.query, 'query')];
  return {
    summary: r.summary,
    ...(params.length ? { parameters: params } : {}),
    ...(body ? { requestBody: body } : {}),
    responses: {
      [String(status)]: success,
      ...Object.fromEntries(errors.map((e) => [String(e), { $ref: `#/components/responses/E${e}` }])),
    },
  };
}

/** The endpoints beside the API: no token, fixed shapes. */
const OPERATIONAL_PATHS = {
  '/healthz': { get: { summary: 'Liveness', security: [], responses: { 200: { description: 'alive' } } } },
  '/readyz': {
    get: {
      summary: 'Readiness of store, SIP and media (503 while a part is not ready; `problems` says why)',
      security: [],
      responses: {
        200: { description: 'ready' },
        503: { description: 'a part is not ready' },
      },
    },
  },
  '/metrics': {
    get: {
      summary: 'Prometheus metrics',
      security: [],
      responses: {
        200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
      },
    },
  },
  [`${API_PREFIX}/openapi.json`]: { get: { summary: 'This document', security: [], responses: { 200: { description: 'OpenAPI 3.1' } } } },
};

/** `/devices/:mac` → `/api/v1/devices/{mac}`. */
export const openApiPath = (url: string) => API_PREFIX + url.replace(/:([A-Za-z]+)/g, '{$1}');

export function openApiDocument(routes: readonly ApiRoute[]): Json {
  const c = new Components();
  const paths: Record<string, Json> = { ...OPERATIONAL_PATHS };
  for (const r of routes) {
    const path = openApiPath(r.url);
    paths[path] = { ...(paths[path] ?? {}), [r.method.toLowerCase()]: operation(c, r) };
  }
  const error = c.convert(ErrorSchema, 'output');
  return {
    openapi: '3.1.0',
    info: {
      title: 'papgate admin API',
      version: '1',
      description:
        'Tenants, devices, trusted networks, CSV and audit of papgate. Authenticate with "Authorization: Bearer <token>": ' +
        "the platform admin token or a tenant's token (which sees only its own tenant). Request bodies are strict: unknown fields are refused. An empty query parameter counts as not given.",
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: c.schemas,
      responses: Object.fromEntries(
        Object.entries(ERROR_TEXT).map(([s, description]) => [`E${s}`, { description, content: { 'application/json': { schema: error } } }]),
      ),
    },
  };
}
