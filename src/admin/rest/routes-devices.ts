import type { AdminServices } from '../../app/services';
import { bodyObject, parseStateFilter, queryParam } from './params';
import { param, type ApiRoute } from './route';

/** Devices of a tenant, and one device by MAC (any accepted spelling, URL-encoded). */
export function deviceRoutes(s: AdminServices): ApiRoute[] {
  return [
    {
      method: 'GET', url: '/tenants/:tenant/devices',
      handler: async (req, actor) => {
        const site = queryParam(req.query, 'site');
        const state = parseStateFilter(queryParam(req.query, 'state'));
        return s.devices.list(actor, param(req, 'tenant'), {
          ...(site ? { site } : {}), ...(state ? { state } : {}),
        });
      },
    },
    {
      method: 'POST', url: '/tenants/:tenant/devices', action: 'device-add', status: 201,
      handler: async (req, actor) => {
        const b = bodyObject(req.body, ['mac', 'vendor', 'model', 'site']);
        return s.devices.create(actor, { tenant: param(req, 'tenant'), mac: b.mac, vendor: b.vendor, model: b.model, site: b.site });
      },
    },
    {
      method: 'GET', url: '/devices/:mac',
      handler: async (req, actor) => s.devices.show(actor, param(req, 'mac')),
    },
    {
      method: 'DELETE', url: '/devices/:mac', action: 'device-delete', status: 204,
      handler: async (req, actor) => s.devices.delete(actor, param(req, 'mac')),
    },
    {
      method: 'POST', url: '/devices/:mac/reset', action: 'device-reset',
      handler: async (req, actor) => s.devices.reset(actor, param(req, 'mac')),
    },
    {
      method: 'POST', url: '/devices/:mac/suspend', action: 'device-suspend',
      handler: async (req, actor) => s.devices.suspend(actor, param(req, 'mac')),
    },
    {
      method: 'PUT', url: '/devices/:mac/lines', action: 'device-lines',
      handler: async (req, actor) => {
        const b = bodyObject(req.body, ['lines']);
        return s.devices.setLines(actor, param(req, 'mac'), b.lines);
      },
    },
  ];
}
