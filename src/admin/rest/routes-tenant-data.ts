import { assertPlatform, type Actor } from '../../app/actor';
import type { AdminServices } from '../../app/services';
import { invalid } from '../../domain/errors';
import { bodyObject, parseLimit, queryParam } from './params';
import { jsonListInSlices } from './json-slices';
import { param, type ApiRoute } from './route';
import { allowEntryJson, allowListJson, auditJson } from './views';

/** Largest CSV accepted by the import route (the use case refuses more than 5 MiB itself). */
export const IMPORT_BODY_LIMIT = 6 * 1024 * 1024;

/** Allow-list, CSV export/import and the audit log. */
export function tenantDataRoutes(s: AdminServices): ApiRoute[] {
  const tenantNames = async (actor: Actor) => new Map((await s.tenants.list(actor)).map((t) => [t.id, t.name]));
  return [
    {
      method: 'GET', url: '/tenants/:tenant/allow-list',
      handler: async (req, actor) => allowListJson(await s.allowList.list(actor, param(req, 'tenant'))),
    },
    {
      method: 'POST', url: '/tenants/:tenant/allow-list', action: 'trust-add', status: 201,
      handler: async (req, actor) => {
        const b = bodyObject(req.body, ['cidr']);
        const { entry, warning } = await s.allowList.add(actor, param(req, 'tenant'), b.cidr);
        return warning ? { entry: allowEntryJson(entry), warning } : { entry: allowEntryJson(entry) };
      },
    },
    {
      method: 'DELETE', url: '/tenants/:tenant/allow-list', action: 'trust-remove', status: 204,
      handler: async (req, actor) => s.allowList.remove(actor, param(req, 'tenant'), queryParam(req.query, 'cidr')),
    },
    {
      method: 'GET', url: '/tenants/:tenant/export.csv',
      handler: async (req, actor, reply) => {
        const tenant = param(req, 'tenant');
        const csv = await s.csv.export(actor, tenant);
        // The tenant name is validated ([a-z0-9._-]) before we get here, so it is safe in the header.
        reply.header('Content-Type', 'text/csv; charset=utf-8')
          .header('Content-Disposition', `attachment; filename="${tenant.trim().toLowerCase()}-devices.csv"`);
        return csv;
      },
    },
    {
      method: 'POST', url: '/tenants/:tenant/import', action: 'device-import', status: 201, bodyLimit: IMPORT_BODY_LIMIT,
      handler: async (req, actor, reply) => {
        if (typeof req.body !== 'string') {
          throw invalid('file', 'send the CSV file as the request body with "Content-Type: text/csv"');
        }
        const devices = await s.csv.import(actor, param(req, 'tenant'), req.body);
        reply.type('application/json; charset=utf-8');
        return jsonListInSlices('imported', 'devices', devices);
      },
    },
    {
      method: 'GET', url: '/tenants/:tenant/audit',
      handler: async (req, actor) => {
        const limit = parseLimit(queryParam(req.query, 'limit'));
        const events = await s.audit.recent(actor, param(req, 'tenant'), limit);
        const names = await tenantNames(actor);
        return events.map((e) => auditJson(e, names));
      },
    },
    {
      method: 'GET', url: '/audit',
      handler: async (req, actor) => {
        assertPlatform(actor);
        const limit = parseLimit(queryParam(req.query, 'limit'));
        const events = await s.audit.recent(actor, undefined, limit);
        const names = await tenantNames(actor);
        return events.map((e) => auditJson(e, names));
      },
    },
  ];
}
