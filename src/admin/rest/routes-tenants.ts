import { assertPlatform } from '../../app/actor';
import type { AdminServices } from '../../app/services';
import { LOCALES } from '../../domain/types';
import { route, type ApiRoute } from './route';
import { SiteSchema, TenantCreatedSchema, TenantSchema, TokenSchema, WhoamiSchema } from './schemas-answers';
import { SiteCreateBody, SiteParams, SitePatchBody, TenantCreateBody, TenantParams, TenantPatchBody } from './schemas';
import { siteJson, tenantJson } from './views';

const STD = [400, 403, 404, 503] as const;

/** whoami, tenants, their tokens and sites. */
export function tenantRoutes(s: AdminServices): ApiRoute[] {
  return [
    route({
      method: 'GET',
      url: '/whoami',
      summary: 'Who the token belongs to',
      response: WhoamiSchema,
      errors: [],
      // locales: the portal offers the prompt languages from here, not from a list of its own.
      handler: async ({ actor }) => ({
        ...(actor.kind === 'platform' ? { kind: 'platform' as const } : { kind: 'tenant' as const, tenant: actor.tenantName }),
        locales: [...LOCALES],
      }),
    }),
    route({
      method: 'GET',
      url: '/tenants',
      summary: 'Tenants the token may see',
      response: TenantSchema.array(),
      errors: [503],
      handler: async ({ actor }) => (await s.tenants.list(actor)).map(tenantJson),
    }),
    route({
      method: 'POST',
      url: '/tenants',
      summary: 'Create a tenant (platform only); returns its admin token once',
      action: 'tenant-add',
      status: 201,
      body: TenantCreateBody,
      response: TenantCreatedSchema,
      errors: [400, 403, 409, 503],
      handler: async ({ body, actor }) => {
        assertPlatform(actor);
        const { tenant, token } = await s.tenants.create(actor, body.name, body.locale ?? 'en');
        return { tenant: tenantJson(tenant), token };
      },
    }),
    route({
      method: 'GET',
      url: '/tenants/:tenant',
      summary: 'One tenant',
      params: TenantParams,
      response: TenantSchema,
      errors: STD,
      handler: async ({ params, actor }) => tenantJson(await s.tenants.get(actor, params.tenant)),
    }),
    route({
      method: 'PATCH',
      url: '/tenants/:tenant',
      summary: "Change the tenant's prompt language",
      action: 'tenant-locale',
      params: TenantParams,
      body: TenantPatchBody,
      response: TenantSchema,
      errors: STD,
      handler: async ({ params, body, actor }) => tenantJson(await s.tenants.setLocale(actor, params.tenant, body.locale)),
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/token',
      summary: "Rotate the tenant's admin token (platform only)",
      action: 'tenant-token',
      params: TenantParams,
      response: TokenSchema,
      errors: STD,
      handler: async ({ params, actor }) => {
        assertPlatform(actor);
        const { token } = await s.tenants.rotateToken(actor, params.tenant);
        return { token };
      },
    }),
    route({
      method: 'GET',
      url: '/tenants/:tenant/sites',
      summary: 'Sites of the tenant',
      params: TenantParams,
      response: SiteSchema.array(),
      errors: STD,
      handler: async ({ params, actor }) => (await s.tenants.listSites(actor, params.tenant)).map(siteJson),
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/sites',
      summary: 'Add a site',
      action: 'site-add',
      status: 201,
      params: TenantParams,
      body: SiteCreateBody,
      response: SiteSchema,
      errors: [...STD, 409],
      handler: async ({ params, body, actor }) => siteJson(await s.tenants.addSite(actor, params.tenant, body.name, body.locale, body.emergencyNumbers)),
    }),
    route({
      method: 'PATCH',
      url: '/tenants/:tenant/sites/:site',
      summary: "Change a site's prompt language (null: the tenant's) or its extra emergency numbers",
      action: 'site-update',
      params: SiteParams,
      body: SitePatchBody,
      response: SiteSchema,
      errors: STD,
      handler: async ({ params, body, actor }) => siteJson(await s.tenants.updateSite(actor, params.tenant, params.site, body)),
    }),
  ];
}
