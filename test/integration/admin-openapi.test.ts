import { strict as assert } from 'node:assert';
import { openApiPath } from '../../src/admin/rest/openapi';
import type { ApiRoute } from '../../src/admin/rest/route';
import { apiRoutes } from '../../src/admin/rest/server';
import { openApiProblems, resolveRef } from '../helpers/openapi-structure';
import { startAdmin, type AdminHarness, type RequestOptions } from './admin-harness';

/**
 * The OpenAPI document is the contract: it is valid OpenAPI 3.1, lists every
 * route with its schemas, every constraint it documents is enforced (a
 * request violating it gets a 400 naming the field, and writes nothing),
 * and real answers have the documented shapes.
 */

type Json = Record<string, unknown>;
interface Call {
  method: string;
  path: string;
  o?: RequestOptions;
}

const MAC = '02dd00000001';
const LINE = { server: 'sip.example.net', user: '201', authName: '201-auth', password: 'pw', displayName: 'Desk 1' };
/** One valid call per route, in an order that works (each creates what the next needs). */
const CALLS: Call[] = [
  { method: 'POST', path: '/tenants', o: { body: { name: 'zeta', locale: 'de' } } },
  { method: 'GET', path: '/whoami' },
  { method: 'GET', path: '/tenants' },
  { method: 'GET', path: '/tenants/zeta' },
  { method: 'PATCH', path: '/tenants/zeta', o: { body: { locale: 'en' } } },
  { method: 'POST', path: '/tenants/zeta/token' },
  { method: 'POST', path: '/tenants/zeta/sites', o: { body: { name: 'hq', locale: 'de' } } },
  { method: 'GET', path: '/tenants/zeta/sites' },
  { method: 'PATCH', path: '/tenants/zeta/sites/hq', o: { body: { locale: 'fr', emergencyNumbers: ['17', '18'] } } },
  { method: 'POST', path: '/tenants/zeta/devices', o: { body: { mac: MAC, vendor: 'snom', model: 'D785', site: 'hq' } } },
  { method: 'GET', path: '/tenants/zeta/devices?state=needed&site=hq' },
  { method: 'GET', path: `/devices/${MAC}` },
  { method: 'PUT', path: `/devices/${MAC}/lines`, o: { body: { lines: [LINE] } } },
  { method: 'POST', path: `/devices/${MAC}/reset` },
  { method: 'POST', path: `/devices/${MAC}/suspend` },
  { method: 'POST', path: '/tenants/zeta/allow-list', o: { body: { cidr: '203.0.113.0/24' } } },
  { method: 'GET', path: '/tenants/zeta/allow-list' },
  { method: 'DELETE', path: '/tenants/zeta/allow-list?cidr=203.0.113.0/24' },
  { method: 'POST', path: '/tenants/zeta/import', o: { contentType: 'text/csv', raw: 'mac,vendor,model\n02dd00000002,yealink,T46U\n' } },
  { method: 'GET', path: '/tenants/zeta/export.csv' },
  { method: 'GET', path: '/tenants/zeta/audit?limit=5' },
  { method: 'GET', path: '/audit?limit=5' },
  { method: 'PUT', path: '/tenants/zeta/webhook', o: { body: { url: 'https://hooks.example.com/papgate' } } },
  { method: 'GET', path: '/tenants/zeta/webhook' },
  { method: 'POST', path: '/tenants/zeta/webhook/secret' },
  { method: 'GET', path: '/tenants/zeta/webhook/deliveries?limit=5' },
  { method: 'DELETE', path: '/tenants/zeta/webhook' },
  { method: 'DELETE', path: '/devices/02dd00000002' },
];

function routeOf(routes: readonly ApiRoute[], c: Call): ApiRoute | undefined {
  const path = c.path.split('?')[0]!;
  return routes.find((r) => r.method === c.method && new RegExp(`^${r.url.replace(/:\w+/g, '[^/]+')}$`).test(path));
}

/**
 * Values that break a documented constraint (empty when none is documented).
 * Path and query values are text: only JSON bodies get wrong types; a path segment is never empty, and an
 * empty query parameter counts as not given.
 */
function breakers(schema: Json, doc: Json, where: 'body' | 'path' | 'query' = 'body'): unknown[] {
  const s = (typeof schema.$ref === 'string' ? resolveRef(doc, schema.$ref) : schema) as Json;
  const out: unknown[] = [];
  const patterns = [s.pattern, ...(Array.isArray(s.allOf) ? s.allOf.map((a: Json) => a.pattern) : [])].filter((p): p is string => typeof p === 'string');
  for (const p of patterns) {
    const bad = ['', 'zz zz"', '\u0001', '-x', '~~'].find((c) => !new RegExp(p).test(c));
    if (bad !== undefined) out.push(bad);
  }
  if (Array.isArray(s.enum)) out.push('zz-not-listed');
  if (typeof s.maxLength === 'number') out.push('a'.repeat(s.maxLength + 1));
  if (typeof s.minLength === 'number' && s.minLength > 0) out.push('');
  if (typeof s.minimum === 'number') out.push(s.minimum - 1);
  if (typeof s.maximum === 'number') out.push(s.maximum + 1);
  if (s.type === 'integer') out.push(1.5);
  if (where !== 'body') return out.filter((v) => v !== '').map(String);
  if (s.type === 'string' || Array.isArray(s.enum) || patterns.length) out.push(12345);
  if (s.type === 'array') out.push('not a list');
  return out;
}

/** Bodies that break the documented body schema, each with the field the 400 must name. */
function badBodies(schemaRef: Json, valid: Json, doc: Json, prefix = ''): [unknown, string][] {
  const schema = (typeof schemaRef.$ref === 'string' ? resolveRef(doc, schemaRef.$ref) : schemaRef) as Json;
  const props = (schema.properties ?? {}) as Record<string, Json>;
  const name = (k: string) => (prefix ? `${prefix}.${k}` : k);
  const out: [unknown, string][] = [];
  assert.equal(schema.additionalProperties, false, `${prefix || 'body'} is not strict in the document`);
  out.push([{ ...valid, zzUnknown: 1 }, name('zzUnknown')]);
  for (const k of (schema.required ?? []) as string[]) {
    out.push([Object.fromEntries(Object.entries(valid).filter(([key]) => key !== k)), name(k)]);
  }
  for (const [k, p] of Object.entries(props)) {
    for (const bad of breakers(p, doc)) out.push([{ ...valid, [k]: bad }, name(k)]);
    if (p.type === 'array' && Array.isArray(valid[k]) && (valid[k] as unknown[]).length > 0) {
      const item = (valid[k] as Json[])[0]!;
      if (typeof p.maxItems === 'number') out.push([{ ...valid, [k]: Array.from({ length: p.maxItems + 1 }, () => item) }, name(k)]);
      for (const [badItem, field] of badBodies(p.items as Json, item, doc, `${name(k)}[0]`)) out.push([{ ...valid, [k]: [badItem] }, field]);
    }
  }
  return out;
}

describe('admin REST API: the OpenAPI document is the contract', () => {
  let h: AdminHarness;
  let doc: Json;
  let routes: ApiRoute[];
  const api = (c: Call) => h.req(c.method, `/api/v1${c.path}`, c.o);
  const operation = (r: ApiRoute) => ((doc.paths as Json)[openApiPath(r.url)] as Json)[r.method.toLowerCase()] as Json;

  before(async () => {
    h = await startAdmin();
    routes = apiRoutes(h.services);
    const answer = await h.req('GET', '/api/v1/openapi.json', { token: null });
    assert.equal(answer.status, 200);
    doc = answer.json;
  });
  after(async () => {
    await h.close();
  });

  it('is a well-formed OpenAPI 3.1 document', () => {
    assert.deepEqual(openApiProblems(doc), []);
  });

  it('lists every route with its parameters, body and answer', () => {
    for (const r of routes) {
      const op = operation(r);
      const at = `${r.method} ${r.url}`;
      assert.ok(op, `${at} is not documented`);
      const params = ((op.parameters ?? []) as Json[]).map((p) => `${p.in}:${p.name}`).sort();
      const expected = [
        ...Object.keys((r.params as unknown as { shape?: object })?.shape ?? {}).map((n) => `path:${n}`),
        ...Object.keys((r.query as unknown as { shape?: object })?.shape ?? {}).map((n) => `query:${n}`),
      ].sort();
      assert.deepEqual(params, expected, at);
      const content = (op.requestBody as Json | undefined)?.content as Json | undefined;
      assert.equal(Boolean(content), Boolean(r.body ?? r.consumes), `${at}: request body`);
      if (r.body) assert.ok((content!['application/json'] as Json).schema, at);
      const success = (op.responses as Json)[String(r.status ?? 200)] as Json;
      assert.equal(Boolean(success.content), Boolean(r.response) && r.status !== 204, `${at}: answer`);
      assert.ok((op.responses as Json)['401'], `${at}: 401 not documented`);
    }
    // The device shape exists once, and line limits and the model pattern are documented.
    const schemas = (doc.components as Json).schemas as Record<string, Json>;
    assert.ok(schemas.Device && !Object.keys(schemas).some((k) => k !== 'Device' && /device/i.test(k) && !/create/i.test(k)));
    assert.equal((schemas.LinesPut!.properties as Record<string, Json>).lines!.maxItems, 16);
    assert.equal((schemas.LineInput!.properties as Record<string, Json>).server!.maxLength, 128);
    assert.ok((schemas.DeviceCreate!.properties as Record<string, Json>).model!.pattern);
  });

  it('answers every route with the documented shape', async () => {
    const covered = new Set<ApiRoute>();
    for (const c of CALLS) {
      const r = routeOf(routes, c);
      assert.ok(r, `no route for ${c.method} ${c.path}`);
      covered.add(r);
      const a = await api(c);
      assert.equal(a.status, r.status ?? 200, `${c.method} ${c.path}: ${a.text}`);
      if (r.response && r.status !== 204) {
        const parsed = r.response.safeParse(r.produces ? a.text : a.json);
        assert.ok(parsed.success, `${c.method} ${c.path}: ${parsed.error?.message}`);
      }
    }
    const missing = routes.filter((r) => !covered.has(r)).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(missing, [], 'add a valid call for each new route to CALLS');
  });

  it('enforces every documented body, path and query constraint with a 400 naming the field, writing nothing', async () => {
    const snapshot = async () =>
      (
        await Promise.all(
          ['/tenants', '/tenants/zeta/devices', '/tenants/zeta/sites', '/tenants/zeta/allow-list'].map(
            async (p) => (await api({ method: 'GET', path: p })).text,
          ),
        )
      ).join('\n');
    const before = await snapshot();
    let tried = 0;
    const expect400 = async (c: Call, field: string) => {
      const a = await api(c);
      tried++;
      assert.equal(a.status, 400, `${c.method} ${c.path} ${JSON.stringify(c.o?.body)}: ${a.status} ${a.text}`);
      assert.equal(a.json.error, 'invalid');
      assert.equal(a.json.field, field, `${c.method} ${c.path} ${JSON.stringify(c.o?.body)}: ${a.text}`);
    };
    for (const c of CALLS) {
      const r = routeOf(routes, c)!;
      const op = operation(r);
      if (r.body) {
        const schema = ((op.requestBody as Json).content as Record<string, Json>)['application/json']!.schema as Json;
        for (const [body, field] of badBodies(schema, c.o!.body as Json, doc)) await expect400({ ...c, o: { body } }, field);
      }
      const [path, query = ''] = c.path.split('?');
      for (const p of (op.parameters ?? []) as Json[]) {
        const bad = breakers(p.schema as Json, doc, p.in === 'path' ? 'path' : 'query');
        for (const value of bad) {
          if (p.in === 'path') {
            const segments = r.url.split('/');
            const real = path!.split('/');
            const i = segments.indexOf(`:${String(p.name)}`);
            real[i] = encodeURIComponent(String(value));
            await expect400({ ...c, path: real.join('/') + (query ? `?${query}` : '') }, String(p.name));
          } else {
            const q = new URLSearchParams(query);
            q.set(String(p.name), String(value));
            await expect400({ ...c, path: `${path}?${q}` }, String(p.name));
          }
        }
        if (p.in === 'query' && p.required) {
          const q = new URLSearchParams(query);
          q.delete(String(p.name));
          await expect400({ ...c, path: `${path}?${q}` }, String(p.name));
        }
      }
    }
    assert.ok(tried > 60, `only ${tried} violations tried`);
    assert.equal(await snapshot(), before);
  });
});
