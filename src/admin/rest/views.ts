import type { AllowEntry, AuditEvent, Locale, Site, Tenant, TemporaryTrust } from '../../domain/types';

/**
 * The JSON shapes of admin answers (REST and `papgate ... --json`): names
 * instead of internal ids, times as ISO 8601 strings.
 */

const iso = (t: number) => new Date(t).toISOString();

export interface TenantJson {
  name: string;
  locale: Locale;
  createdAt: string;
}
export interface SiteJson {
  name: string;
  locale: Locale | null;
  emergencyNumbers: string[];
}
export interface AllowEntryJson {
  cidr: string;
  createdAt: string;
}
export interface TemporaryTrustJson {
  ip: string;
  until: string;
}
export interface AllowListJson {
  permanent: AllowEntryJson[];
  temporary: TemporaryTrustJson[];
}
export interface AuditEventJson {
  at: string;
  tenant: string | null;
  mac: string | null;
  sourceIp: string | null;
  actor: string;
  action: string;
  outcome: string;
}

export const tenantJson = (t: Tenant): TenantJson => ({ name: t.name, locale: t.locale, createdAt: iso(t.createdAt) });

export const siteJson = (s: Site): SiteJson => ({ name: s.name, locale: s.locale, emergencyNumbers: s.emergencyNumbers });

export const allowEntryJson = (e: AllowEntry): AllowEntryJson => ({ cidr: e.cidr, createdAt: iso(e.createdAt) });

export function allowListJson(l: { permanent: AllowEntry[]; temporary: TemporaryTrust[] }): AllowListJson {
  return {
    permanent: l.permanent.map(allowEntryJson),
    temporary: l.temporary.map((t) => ({ ip: t.ip, until: iso(t.until) })),
  };
}

/** `tenantNames` maps tenant ids to names (the actor's visible tenants). */
export function auditJson(e: AuditEvent, tenantNames: ReadonlyMap<number, string>): AuditEventJson {
  return {
    at: iso(e.at),
    tenant: e.tenantId === null ? null : (tenantNames.get(e.tenantId) ?? null),
    mac: e.mac,
    sourceIp: e.sourceIp,
    actor: e.actor,
    action: e.action,
    outcome: e.outcome,
  };
}
