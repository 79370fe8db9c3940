import { z } from 'zod';
import { assertPlatform, type Actor } from '../../app/actor';
import type { AdminServices } from '../../app/services';
import { invalid } from '../../domain/errors';
import { AUDIT_LIMIT } from '../../domain/input-rules';
import { jsonListInSlices } from './json-slices';
import { route, type ApiRoute } from './route';
import { AllowAddedSchema, AllowListSchema, AuditEventSchema, ImportedSchema } from './schemas-answers';
import { AllowAddBody, AllowRemoveQuery, AuditQuery, TenantParams } from './schemas';
import { allowEntryJson, allowListJson, auditJson } from './views';

/** Largest CSV accepted by the import route (the use case refuses more than 5 MiB itself). */
export const IMPORT_BODY_LIMIT = 6 * 1024 * 1024;

const STD = [400, 403, 404, 503] as const;
const AUDIT_DEFAULT = AUDIT_LIMIT.default;

/** Allow-list, CSV export/import and the audit log. */
export function tenantDataRoutes(s: AdminServices): ApiRoute[] {
  const tenantNames = async (actor: Actor) => new Map((await s.tenants.list(actor)).map((t) => [t.id, t.name]));
  return [
    route({
      method: 'GET',
      url: '/tenants/:tenant/allow-list',
      summary: 'Permanent and temporary trusted networks',
      params: TenantParams,
      response: AllowListSchema,
      errors: STD,
      handler: async ({ params, actor }) => allowListJson(await s.allowList.list(actor, params.tenant)),
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/allow-list',
      summary: 'Trust an address or CIDR range permanently',
      action: 'trust-add',
      status: 201,
      params: TenantParams,
      body: AllowAddBody,
      response: AllowAddedSchema,
      errors: [...STD, 409],
      handler: async ({ params, body, actor }) => {
        const { entry, warning } = await s.allowList.add(actor, params.tenant, body.cidr);
        return warning ? { entry: allowEntryJson(entry), warning } : { entry: allowEntryJson(entry) };
      },
    }),
    route({
      method: 'DELETE',
      url: '/tenants/:tenant/allow-list',
      summary: 'Remove a permanent entry',
      action: 'trust-remove',
      status: 204,
      params: TenantParams,
      query: AllowRemoveQuery,
      errors: STD,
      handler: async ({ params, query, actor }) => s.allowList.remove(actor, params.tenant, query.cidr),
    }),
    route({
      method: 'GET',
      url: '/tenants/:tenant/export.csv',
      summary: 'CSV export (vendor, model, mac, created, site, state, pap)',
      params: TenantParams,
      response: z.string().describe('RFC 4180 CSV, formula cells defused'),
      produces: 'text/csv',
      errors: STD,
      handler: async ({ params, actor, reply }) => {
        const csv = await s.csv.export(actor, params.tenant);
        // The tenant name matched the name pattern ([A-Za-z0-9._-]), so it is safe in the header.
        reply
          .header('Content-Type', 'text/csv; charset=utf-8')
          .header('Content-Disposition', `attachment; filename="${params.tenant.toLowerCase()}-devices.csv"`);
        return csv;
      },
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/import',
      summary: 'Batch import (header mac,vendor,model[,site]): all rows are checked before any is written',
      action: 'device-import',
      status: 201,
      bodyLimit: IMPORT_BODY_LIMIT,
      params: TenantParams,
      consumes: 'text/csv',
      response: ImportedSchema,
      errors: STD,
      handler: async ({ params, request, actor, reply }) => {
        if (typeof request.body !== 'string') {
          throw invalid('file', 'send the CSV file as the request body with "Content-Type: text/csv"');
        }
        const devices = await s.csv.import(actor, params.tenant, request.body);
        reply.type('application/json; charset=utf-8');
        return jsonListInSlices('imported', 'devices', devices);
      },
    }),
    route({
      method: 'GET',
      url: '/tenants/:tenant/audit',
      summary: 'Recent audit events of the tenant, newest first',
      params: TenantParams,
      query: AuditQuery,
      response: AuditEventSchema.array(),
      errors: STD,
      handler: async ({ params, query, actor }) => {
        const events = await s.audit.recent(actor, params.tenant, query.limit ?? AUDIT_DEFAULT);
        const names = await tenantNames(actor);
        return events.map((e) => auditJson(e, names));
      },
    }),
    route({
      method: 'GET',
      url: '/audit',
      summary: 'Recent audit events of all tenants (platform only), newest first',
      query: AuditQuery,
      response: AuditEventSchema.array(),
      errors: [400, 403, 503],
      handler: async ({ query, actor }) => {
        assertPlatform(actor);
        const events = await s.audit.recent(actor, undefined, query.limit ?? AUDIT_DEFAULT);
        const names = await tenantNames(actor);
        return events.map((e) => auditJson(e, names));
      },
    }),
  ];
}
