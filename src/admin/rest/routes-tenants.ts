import { assertPlatform } from '../../app/actor';
import { LOCALES } from '../../domain/types';
import type { AdminServices } from '../../app/services';
import { bodyObject } from './params';
import { param, type ApiRoute } from './route';
import { siteJson, tenantJson } from './views';

/** whoami, tenants, their tokens and sites. */
export function tenantRoutes(s: AdminServices): ApiRoute[] {
  return [
    {
      method: 'GET', url: '/whoami',
      // locales: the portal offers the prompt languages from here, not from a list of its own.
      handler: async (_req, actor) => ({
        ...(actor.kind === 'platform' ? { kind: 'platform' } : { kind: 'tenant', tenant: actor.tenantName }),
        locales: [...LOCALES],
      }),
    },
    {
      method: 'GET', url: '/tenants',
      handler: async (_req, actor) => (await s.tenants.list(actor)).map(tenantJson),
    },
    {
      method: 'POST', url: '/tenants', action: 'tenant-add', status: 201,
      handler: async (req, actor) => {
        assertPlatform(actor);
        const b = bodyObject(req.body, ['name', 'locale']);
        const { tenant, token } = await s.tenants.create(actor, b.name, b.locale ?? 'en');
        return { tenant: tenantJson(tenant), token };
      },
    },
    {
      method: 'GET', url: '/tenants/:tenant',
      handler: async (req, actor) => tenantJson(await s.tenants.get(actor, param(req, 'tenant'))),
    },
    {
      method: 'PATCH', url: '/tenants/:tenant', action: 'tenant-locale',
      handler: async (req, actor) => {
        const b = bodyObject(req.body, ['locale']);
        return tenantJson(await s.tenants.setLocale(actor, param(req, 'tenant'), b.locale));
      },
    },
    {
      method: 'POST', url: '/tenants/:tenant/token', action: 'tenant-token',
      handler: async (req, actor) => {
        assertPlatform(actor);
        const { token } = await s.tenants.rotateToken(actor, param(req, 'tenant'));
        return { token };
      },
    },
    {
      method: 'GET', url: '/tenants/:tenant/sites',
      handler: async (req, actor) => (await s.tenants.listSites(actor, param(req, 'tenant'))).map(siteJson),
    },
    {
      method: 'POST', url: '/tenants/:tenant/sites', action: 'site-add', status: 201,
      handler: async (req, actor) => {
        const b = bodyObject(req.body, ['name', 'locale', 'emergencyNumbers']);
        return siteJson(await s.tenants.addSite(actor, param(req, 'tenant'), b.name, b.locale, b.emergencyNumbers));
      },
    },
    {
      method: 'PATCH', url: '/tenants/:tenant/sites/:site', action: 'site-update',
      handler: async (req, actor) => {
        const b = bodyObject(req.body, ['locale', 'emergencyNumbers']);
        return siteJson(await s.tenants.updateSite(actor, param(req, 'tenant'), param(req, 'site'), b));
      },
    },
  ];
}
