import { createHash } from 'node:crypto';
import { parseEmergencyNumbers } from '../domain/dialplan';
import { invalid, notFound } from '../domain/errors';
import { NAME_PATTERN, NAME_RULE } from '../domain/input-rules';
import { LOCALES, type Locale, type Site, type Tenant } from '../domain/types';
import { assertMayAccess, assertPlatform, type Actor, tenantAudit } from './actor';
import type { AppDeps } from './deps';

export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export function parseName(input: unknown, field: string): string {
  if (typeof input !== 'string' || !NAME_PATTERN.test(input.trim())) {
    throw invalid(field, `${field} must be ${NAME_RULE}`);
  }
  return input.trim().toLowerCase();
}

export function parseLocale(input: unknown, field = 'locale'): Locale {
  if (typeof input === 'string' && (LOCALES as readonly string[]).includes(input)) return input as Locale;
  throw invalid(field, `${field} must be one of: ${LOCALES.join(', ')}`);
}

const siteLocale = (locale: unknown): Locale | null => (locale === undefined || locale === null ? null : parseLocale(locale));

/** Tenants, their admin tokens and sites. */
export class Tenants {
  constructor(private readonly d: AppDeps) {}

  /** Creates a tenant and returns its admin token (shown once; only its hash is stored). */
  async create(actor: Actor, name: unknown, locale: unknown = 'en'): Promise<{ tenant: Tenant; token: string }> {
    assertPlatform(actor);
    const token = this.newToken();
    const tenant = await this.d.store.createTenant({
      name: parseName(name, 'name'),
      locale: parseLocale(locale),
      tokenHash: hashToken(token),
      createdAt: this.d.clock.now(),
    });
    await this.audit(actor, tenant.id, 'tenant-add', 'ok');
    return { tenant, token };
  }

  /** Replaces a tenant's admin token (the old one stops working at once). */
  async rotateToken(actor: Actor, name: unknown): Promise<{ tenant: Tenant; token: string }> {
    assertPlatform(actor);
    const tenant = await this.get(actor, name);
    const token = this.newToken();
    await this.d.store.setTenantTokenHash(tenant.id, hashToken(token));
    await this.audit(actor, tenant.id, 'tenant-token', 'rotated');
    return { tenant, token };
  }

  async setLocale(actor: Actor, name: unknown, locale: unknown): Promise<Tenant> {
    const tenant = await this.get(actor, name);
    const l = parseLocale(locale);
    await this.d.store.setTenantLocale(tenant.id, l);
    await this.audit(actor, tenant.id, 'tenant-locale', l);
    return { ...tenant, locale: l };
  }

  async list(actor: Actor): Promise<Tenant[]> {
    const all = await this.d.store.listTenants();
    return actor.kind === 'platform' ? all : all.filter((t) => t.id === actor.tenantId);
  }

  /** The tenant by name, if the actor may see it. */
  async get(actor: Actor, name: unknown): Promise<Tenant> {
    const tenant = await this.d.store.getTenantByName(parseName(name, 'tenant'));
    if (!tenant) throw notFound(`no tenant named ${String(name)}`);
    assertMayAccess(actor, tenant.id);
    return tenant;
  }

  async byToken(token: string): Promise<Tenant | null> {
    return this.d.store.getTenantByTokenHash(hashToken(token));
  }

  /** A new site; its emergency numbers (none when absent) add to the global ones for its devices. */
  async addSite(actor: Actor, tenantName: unknown, name: unknown, locale?: unknown, emergencyNumbers?: unknown): Promise<Site> {
    const tenant = await this.get(actor, tenantName);
    const site = await this.d.store.createSite({
      tenantId: tenant.id,
      name: parseName(name, 'name'),
      locale: siteLocale(locale),
      emergencyNumbers: emergencyNumbers === undefined || emergencyNumbers === null ? [] : parseEmergencyNumbers(emergencyNumbers),
    });
    await this.audit(actor, tenant.id, 'site-add', site.name);
    return site;
  }

  /** Changes what is given of a site's locale (null: the tenant's) and emergency numbers. */
  async updateSite(actor: Actor, tenantName: unknown, name: unknown, change: { locale?: unknown; emergencyNumbers?: unknown }): Promise<Site> {
    const tenant = await this.get(actor, tenantName);
    const siteName = parseName(name, 'site');
    const site = await this.d.store.getSite(tenant.id, siteName);
    if (!site) throw notFound(`no site named ${siteName} in tenant ${tenant.name}`);
    // Everything is checked before anything is written.
    const updated: Site = {
      ...site,
      locale: change.locale === undefined ? site.locale : siteLocale(change.locale),
      emergencyNumbers: change.emergencyNumbers === undefined ? site.emergencyNumbers : parseEmergencyNumbers(change.emergencyNumbers ?? []),
    };
    await this.d.store.updateSite(site.id, { locale: updated.locale, emergencyNumbers: updated.emergencyNumbers });
    await this.audit(
      actor,
      tenant.id,
      'site-update',
      `${site.name}: locale ${updated.locale ?? '(tenant)'}, emergency numbers ${updated.emergencyNumbers.join(',') || '(none)'}`,
    );
    return updated;
  }

  async listSites(actor: Actor, tenantName: unknown): Promise<Site[]> {
    const tenant = await this.get(actor, tenantName);
    return this.d.store.listSites(tenant.id);
  }

  private newToken(): string {
    return `pgt_${Buffer.from(this.d.random.bytes(24)).toString('base64url')}`;
  }

  private audit(actor: Actor, tenantId: number, action: string, outcome: string) {
    return this.d.store.appendAudit(tenantAudit(actor, tenantId, action, outcome, this.d.clock.now()));
  }
}
