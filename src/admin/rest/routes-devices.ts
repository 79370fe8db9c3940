import type { AdminServices } from '../../app/services';
import { DeviceSchema } from './schemas-answers';
import { DeviceCreateBody, DeviceListQuery, LinesBody, MacParams, TenantParams } from './schemas';
import { route, type ApiRoute } from './route';

const STD = [400, 403, 404, 503] as const;

/** Devices of a tenant, and one device by MAC (any accepted spelling, URL-encoded). */
export function deviceRoutes(s: AdminServices): ApiRoute[] {
  return [
    route({
      method: 'GET',
      url: '/tenants/:tenant/devices',
      summary: 'Devices of the tenant',
      params: TenantParams,
      query: DeviceListQuery,
      response: DeviceSchema.array(),
      errors: STD,
      handler: async ({ params, query, actor }) =>
        s.devices.list(actor, params.tenant, {
          ...(query.site ? { site: query.site } : {}),
          ...(query.state ? { state: query.state } : {}),
        }),
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/devices',
      summary: 'Add a device; the answer carries its PAP',
      action: 'device-add',
      status: 201,
      params: TenantParams,
      body: DeviceCreateBody,
      response: DeviceSchema,
      errors: [...STD, 409],
      handler: async ({ params, body, actor }) => s.devices.create(actor, { tenant: params.tenant, ...body }),
    }),
    route({
      method: 'GET',
      url: '/devices/:mac',
      summary: 'One device',
      params: MacParams,
      response: DeviceSchema,
      errors: STD,
      handler: async ({ params, actor }) => s.devices.show(actor, params.mac),
    }),
    route({
      method: 'DELETE',
      url: '/devices/:mac',
      summary: 'Delete a device',
      action: 'device-delete',
      status: 204,
      params: MacParams,
      errors: STD,
      handler: async ({ params, actor }) => s.devices.delete(actor, params.mac),
    }),
    route({
      method: 'POST',
      url: '/devices/:mac/reset',
      summary: 'Reset authentication: new PAP, counters cleared, identity secret revoked',
      action: 'device-reset',
      params: MacParams,
      response: DeviceSchema,
      errors: STD,
      handler: async ({ params, actor }) => s.devices.reset(actor, params.mac),
    }),
    route({
      method: 'POST',
      url: '/devices/:mac/suspend',
      summary: 'Suspend authentication (no PAP needed for a while)',
      action: 'device-suspend',
      params: MacParams,
      response: DeviceSchema,
      errors: STD,
      handler: async ({ params, actor }) => s.devices.suspend(actor, params.mac),
    }),
    route({
      method: 'PUT',
      url: '/devices/:mac/lines',
      summary: 'Replace the SIP lines of the full configuration',
      action: 'device-lines',
      params: MacParams,
      body: LinesBody,
      response: DeviceSchema,
      errors: STD,
      handler: async ({ params, body, actor }) => s.devices.setLines(actor, params.mac, body.lines),
    }),
  ];
}
